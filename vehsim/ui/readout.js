// A labelled number bound to a Reading: `vehsim-value` holds the number, then the unit
// (from the reading itself when `unit_key` is set, e.g. L/100 km moving, L/h standing).
async function render({ model, el, host }) {
  el.classList.add("vehsim-readout");
  const label = document.createElement("div");
  label.className = "vehsim-readout-label";
  const line = document.createElement("div");
  line.className = "vehsim-readout-line";
  const value = document.createElement("span");
  value.className = "vehsim-value";
  const unit = document.createElement("span");
  unit.className = "vehsim-readout-unit";
  line.append(value, unit);
  el.append(label, line);
  let values = {};

  function update() {
    label.textContent = model.get("label");
    value.textContent = formatValue(values[model.get("key")], model.get("decimals"));
    const unitKey = model.get("unit_key");
    unit.textContent = (unitKey && values[unitKey]) || model.get("unit");
  }
  update();
  const events = "change:label change:unit change:unit_key change:key change:decimals";
  model.on(events, update);
  const unbind = await bindReading(model, host, (v) => {
    values = v;
    update();
  });
  return () => {
    unbind();
    model.off(events, update);
  };
}

export default { render };
