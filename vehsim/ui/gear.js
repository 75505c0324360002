// Gear indicator: the engaged gear in large type, with the gearbox mode underneath.
// Bound to a Reading, gear and engine state are its `gear` and `engine_on` values.
async function render({ model, el, host }) {
  el.classList.add("vehsim-gear");
  const title = document.createElement("div");
  title.className = "vehsim-gear-title";
  title.textContent = "GEAR";
  const gear = document.createElement("div");
  gear.className = "vehsim-gear-value";
  const mode = document.createElement("div");
  mode.className = "vehsim-gear-mode-label";
  el.append(title, gear, mode);
  let bound = null;

  function update() {
    const on = bound ? Boolean(bound.engine_on) : model.get("engine_on");
    const n = bound ? Math.round(Number(bound.gear) || 0) : model.get("gear");
    const cvt = model.get("gearbox") === "cvt";
    gear.textContent = cvt ? (n > 0 ? "D" : "N") : n > 0 ? String(n) : n < 0 ? "R" : "N";
    mode.textContent = cvt ? "CVT" : model.get("mode").toUpperCase();
    el.classList.toggle("vehsim-engine-off", !on);
  }
  update();
  const events = "change:gear change:mode change:engine_on change:gearbox";
  model.on(events, update);
  const unbind = await bindReading(model, host, (values) => {
    bound = values;
    update();
  });
  return () => {
    unbind();
    model.off(events, update);
  };
}

export default { render };
