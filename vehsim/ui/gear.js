// Gear indicator: the engaged gear in large type, with the gearbox mode underneath.
function render({ model, el }) {
  el.classList.add("vehsim-gear");
  const title = document.createElement("div");
  title.className = "vehsim-gear-title";
  title.textContent = "GEAR";
  const gear = document.createElement("div");
  gear.className = "vehsim-gear-value";
  const mode = document.createElement("div");
  mode.className = "vehsim-gear-mode-label";
  el.append(title, gear, mode);

  function update() {
    const on = model.get("engine_on");
    const n = model.get("gear");
    const cvt = model.get("gearbox") === "cvt";
    gear.textContent = cvt ? (n > 0 ? "D" : "N") : n > 0 ? String(n) : n < 0 ? "R" : "N";
    mode.textContent = cvt ? "CVT" : model.get("mode").toUpperCase();
    el.classList.toggle("vehsim-engine-off", !on);
  }
  update();
  const events = "change:gear change:mode change:engine_on change:gearbox";
  model.on(events, update);
  return () => model.off(events, update);
}

export default { render };
