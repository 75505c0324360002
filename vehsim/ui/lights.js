// Warning lights drawn as labelled lamps (text, not icon fonts, so they render offline).
function render({ model, el }) {
  el.classList.add("vehsim-lights");
  const lamps = new Map();

  function build() {
    el.replaceChildren();
    lamps.clear();
    for (const [key, text, severity] of model.get("lamps")) {
      const lamp = document.createElement("div");
      lamp.className = `vehsim-lamp vehsim-lamp-${severity} vehsim-warning-${key}`;
      lamp.dataset.key = key;
      const dot = document.createElement("span");
      dot.className = "vehsim-lamp-dot";
      const label = document.createElement("span");
      label.className = "vehsim-lamp-label";
      label.textContent = text;
      lamp.append(dot, label);
      el.appendChild(lamp);
      lamps.set(key, lamp);
    }
    update();
  }

  function update() {
    const lit = new Set(model.get("lit"));
    for (const [key, lamp] of lamps) lamp.classList.toggle("vehsim-lit", lit.has(key));
  }

  build();
  model.on("change:lamps", build);
  model.on("change:lit", update);
  return () => {
    model.off("change:lamps", build);
    model.off("change:lit", update);
  };
}

export default { render };
