// Rolling strip chart on a canvas: one lane per series, the last `window_s` seconds of data.
// Samples arrive in small batches as custom messages; a new view asks the kernel for history.
// Lane labels are HTML (`vehsim-chart-label`, number in `vehsim-chart-value`) over the canvas:
// bound to a Reading they show its values, the same numbers as the dials in the same task.
async function render({ model, el, host }) {
  el.classList.add("vehsim-chart");
  const canvas = document.createElement("canvas");
  const labels = document.createElement("div");
  labels.className = "vehsim-chart-labels";
  el.append(canvas, labels);
  const data = { t: [], series: {} };
  let dirty = true;
  let frame = 0;
  let reading = null; // the bound reading's values, once bound
  const labelValues = new Map();

  function buildLabels() {
    labels.replaceChildren();
    labelValues.clear();
    const lanePx = model.get("lane_px");
    model.get("series").forEach((spec, lane) => {
      const label = document.createElement("div");
      label.className = "vehsim-chart-label";
      label.dataset.key = spec.key;
      label.style.top = `${lane * lanePx + 4}px`;
      label.style.color = spec.color;
      const name = document.createElement("span");
      name.textContent = spec.label;
      const number = document.createElement("span");
      number.className = "vehsim-chart-value";
      const unit = document.createElement("span");
      unit.className = "vehsim-chart-unit";
      unit.textContent = spec.unit;
      label.append(name, number, unit);
      labels.appendChild(label);
      labelValues.set(spec.key, number);
    });
    updateLabels();
  }

  function updateLabels() {
    for (const spec of model.get("series")) {
      const number = labelValues.get(spec.key);
      if (!number) continue;
      let v;
      if (reading) v = reading[spec.key];
      else {
        const column = data.series[spec.key] || [];
        v = column.length ? column[column.length - 1] : null;
      }
      number.textContent = formatValue(v, spec.decimals);
    }
  }

  function trim() {
    if (data.t.length === 0) return;
    const cutoff = data.t[data.t.length - 1] - model.get("window_s");
    let drop = 0;
    while (drop < data.t.length && data.t[drop] < cutoff) drop++;
    if (drop > 0) {
      data.t.splice(0, drop);
      for (const key of Object.keys(data.series)) data.series[key].splice(0, drop);
    }
  }

  function append(t, series) {
    data.t.push(...t);
    for (const spec of model.get("series")) {
      const column = data.series[spec.key] || (data.series[spec.key] = []);
      const values = series[spec.key] || [];
      for (let i = 0; i < t.length; i++) column.push(i < values.length ? values[i] : null);
    }
    trim();
    schedule();
  }

  function onMessage(msg) {
    if (msg.type === "reset") {
      data.t = [];
      data.series = {};
      schedule();
    }
    if (msg.type === "append") append(msg.t, msg.series);
  }

  function schedule() {
    dirty = true;
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function draw() {
    frame = 0;
    if (!dirty) return;
    dirty = false;
    const specs = model.get("series");
    const lanePx = model.get("lane_px");
    const axisPx = 22;
    const width = Math.max(200, el.clientWidth || 600);
    const height = specs.length * lanePx + axisPx;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== width * dpr || canvas.height !== height * dpr) {
      canvas.width = width * dpr;
      canvas.height = height * dpr;
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const styles = getComputedStyle(el);
    const grid = styles.getPropertyValue("--vehsim-chart-grid").trim() || "#2a3340";
    const ink = styles.getPropertyValue("--vehsim-chart-ink").trim() || "#aab4c3";
    const left = 58;
    const right = width - 12;
    const windowS = model.get("window_s");
    const tEnd = data.t.length ? data.t[data.t.length - 1] : 0;
    const tStart = tEnd - windowS;
    const xOf = (t) => left + ((t - tStart) / windowS) * (right - left);
    ctx.font = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";

    specs.forEach((spec, lane) => {
      const top = lane * lanePx + 6;
      const bottom = (lane + 1) * lanePx - 6;
      const yOf = (v) => bottom - ((v - spec.min) / (spec.max - spec.min)) * (bottom - top);
      ctx.strokeStyle = grid;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (const f of [0, 0.5, 1]) {
        const y = Math.round(top + f * (bottom - top)) + 0.5;
        ctx.moveTo(left, y);
        ctx.lineTo(right, y);
      }
      ctx.stroke();
      ctx.fillStyle = ink;
      ctx.textAlign = "right";
      ctx.fillText(String(spec.max), left - 6, top + 9);
      ctx.fillText(String(spec.min), left - 6, bottom);
      const column = data.series[spec.key] || [];
      ctx.strokeStyle = spec.color;
      ctx.lineWidth = 1.8;
      ctx.beginPath();
      let pen = false;
      let lastY = 0;
      for (let i = 0; i < data.t.length; i++) {
        const v = column[i];
        if (v === null || v === undefined) { pen = false; continue; }
        const x = xOf(data.t[i]);
        const y = yOf(Math.min(spec.max, Math.max(spec.min, v)));
        if (pen && spec.step) ctx.lineTo(x, lastY);
        if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        pen = true;
        lastY = y;
      }
      ctx.stroke();
    });
    if (!reading) updateLabels();

    const axisY = specs.length * lanePx + 14;
    ctx.fillStyle = ink;
    ctx.textAlign = "center";
    const stepS = windowS > 120 ? 30 : windowS > 30 ? 10 : 5;
    for (let back = 0; back <= windowS + 1e-9; back += stepS) {
      const x = xOf(tEnd - back);
      const m = Math.floor(back / 60);
      const s = String(Math.round(back - 60 * m)).padStart(2, "0");
      ctx.fillText(back === 0 ? "now" : `-${m}:${s}`, x, axisY);
    }
  }

  model.on("msg:custom", onMessage);
  const redraw = () => schedule();
  const relabel = () => { buildLabels(); schedule(); };
  model.on("change:window_s", redraw);
  model.on("change:series change:lane_px", relabel);
  const resize = new ResizeObserver(redraw);
  resize.observe(el);
  buildLabels();
  model.send({ type: "history" });
  schedule();
  const unbind = await bindReading(model, host, (values) => {
    reading = values;
    updateLabels();
  });
  return () => {
    unbind();
    resize.disconnect();
    if (frame) cancelAnimationFrame(frame);
    model.off("msg:custom", onMessage);
    model.off("change:window_s", redraw);
    model.off("change:series change:lane_px", relabel);
  };
}

export default { render };
