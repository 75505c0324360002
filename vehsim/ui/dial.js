// A round SVG dial: arc track, coloured zones, ticks, needle, and a numeric readout.
// The readout is an HTML element of class `vehsim-value` whose text is the current number.
// Bound to a Reading (`reading`, `key`), needle and readout show its value; else `value`/`needle`.
const NS = "http://www.w3.org/2000/svg";
const START_DEG = -125;
const SWEEP_DEG = 250;

function svg(tag, attrs, parent) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function polar(r, deg) {
  const rad = ((deg - 90) * Math.PI) / 180;
  return [100 + r * Math.cos(rad), 100 + r * Math.sin(rad)];
}

function arc(r, a0, a1) {
  const [x0, y0] = polar(r, a0);
  const [x1, y1] = polar(r, a1);
  const large = a1 - a0 > 180 ? 1 : 0;
  return `M ${x0.toFixed(2)} ${y0.toFixed(2)} A ${r} ${r} 0 ${large} 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`;
}

async function render({ model, el, host }) {
  el.classList.add("vehsim-dial");
  const face = document.createElement("div");
  face.className = "vehsim-dial-face";
  el.appendChild(face);
  const root = svg("svg", { viewBox: "0 0 200 200", class: "vehsim-dial-svg" }, face);
  const scale = svg("g", {}, root);
  const valueArc = svg("path", { class: "vehsim-dial-progress", fill: "none" }, root);
  const needle = svg("g", { class: "vehsim-dial-needle" }, root);
  svg("polygon", { points: "97,104 103,104 100.8,30 99.2,30" }, needle);
  svg("circle", { cx: 100, cy: 100, r: 9, class: "vehsim-dial-hub" }, root);

  const readout = document.createElement("div");
  readout.className = "vehsim-dial-readout";
  const value = document.createElement("div");
  value.className = "vehsim-value";
  const unit = document.createElement("div");
  unit.className = "vehsim-dial-unit";
  readout.append(value, unit);
  face.appendChild(readout);
  const label = document.createElement("div");
  label.className = "vehsim-dial-label";
  el.appendChild(label);

  const fraction = (v) => {
    const lo = model.get("min");
    const hi = model.get("max");
    return Math.min(1, Math.max(0, (v - lo) / (hi - lo || 1)));
  };
  const angle = (v) => START_DEG + SWEEP_DEG * fraction(v);

  function drawScale() {
    scale.replaceChildren();
    el.style.setProperty("--vehsim-dial-base", `${model.get("size_px")}px`);
    svg("path", { d: arc(84, START_DEG, START_DEG + SWEEP_DEG), class: "vehsim-dial-track", fill: "none" }, scale);
    for (const [lo, hi, kind] of model.get("zones")) {
      const a0 = angle(lo);
      const a1 = angle(hi);
      if (a1 > a0) svg("path", { d: arc(84, a0, a1), class: `vehsim-dial-zone vehsim-zone-${kind}`, fill: "none" }, scale);
    }
    const lo = model.get("min");
    const hi = model.get("max");
    const major = model.get("major_step");
    const minor = model.get("minor_step");
    const labelScale = model.get("tick_label_scale");
    if (minor > 0) {
      for (let v = lo; v <= hi + 1e-9; v += minor) {
        const [x0, y0] = polar(74, angle(v));
        const [x1, y1] = polar(79, angle(v));
        svg("line", { x1: x0, y1: y0, x2: x1, y2: y1, class: "vehsim-dial-tick-minor" }, scale);
      }
    }
    if (major > 0) {
      for (let v = lo; v <= hi + 1e-9; v += major) {
        const [x0, y0] = polar(70, angle(v));
        const [x1, y1] = polar(79, angle(v));
        svg("line", { x1: x0, y1: y0, x2: x1, y2: y1, class: "vehsim-dial-tick-major" }, scale);
        const [tx, ty] = polar(57, angle(v));
        const text = svg("text", { x: tx, y: ty + 4, class: "vehsim-dial-tick-label", "text-anchor": "middle" }, scale);
        text.textContent = String(Math.round((v / labelScale) * 10) / 10);
      }
    }
    unit.textContent = model.get("unit");
    label.textContent = model.get("label");
  }

  let bound = null; // the reading's value once bound (a number or undefined)
  let isBound = false;

  function update() {
    const shown = isBound ? bound : model.get("value");
    const a = angle(isBound ? (typeof bound === "number" ? bound : model.get("min")) : model.get("needle"));
    needle.setAttribute("transform", `rotate(${a.toFixed(2)} 100 100)`);
    valueArc.setAttribute("d", a > START_DEG + 0.5 ? arc(84, START_DEG, a) : "");
    value.textContent = formatValue(shown, model.get("decimals"));
    const alarm = model.get("alarm");
    el.classList.toggle("vehsim-dial-alarm", alarm);
  }

  drawScale();
  update();
  const onScale = () => { drawScale(); update(); };
  model.on("change:value change:needle change:alarm change:decimals", update);
  const scaleEvents = "change:min change:max change:zones change:major_step change:minor_step change:unit change:label change:size_px";
  model.on(scaleEvents, onScale);
  const unbind = await bindReading(model, host, (values) => {
    isBound = true;
    bound = values[model.get("key")];
    update();
  });
  return () => {
    unbind();
    model.off("change:value change:needle change:alarm change:decimals", update);
    model.off(scaleEvents, onScale);
  };
}

export default { render };
