// Title bar: vehicle, mode badge (local / connected, or stopped), simulated clock and a status line.
// While it is on screen it sends a heartbeat, so the kernel only animates a watched dashboard.
const HEARTBEAT_MS = 1000;

function render({ model, el }) {
  el.classList.add("vehsim-status");
  const left = document.createElement("div");
  left.className = "vehsim-status-left";
  const title = document.createElement("div");
  title.className = "vehsim-status-title";
  const subtitle = document.createElement("div");
  subtitle.className = "vehsim-status-subtitle";
  left.append(title, subtitle);

  const right = document.createElement("div");
  right.className = "vehsim-status-right";
  const clock = document.createElement("div");
  clock.className = "vehsim-status-clock";
  const badge = document.createElement("div");
  badge.className = "vehsim-mode-badge";
  right.append(clock, badge);
  el.append(left, right);

  function update() {
    title.textContent = model.get("title");
    subtitle.textContent = model.get("message");
    const running = model.get("running");
    const mode = running ? model.get("mode") : "stopped";
    badge.textContent = mode.toUpperCase();
    badge.title = model.get("mode_detail");
    badge.className = `vehsim-mode-badge vehsim-mode-${mode}`;
    el.dataset.mode = mode;
    const t = model.get("sim_time_s");
    const m = Math.floor(t / 60);
    const s = (t - 60 * m).toFixed(1).padStart(4, "0");
    clock.textContent = `${m}:${s}`;
  }
  update();
  const events =
    "change:title change:message change:mode change:mode_detail change:sim_time_s change:running";
  model.on(events, update);
  const beat = () => model.send({ type: "heartbeat" });
  beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  return () => {
    clearInterval(timer);
    model.off(events, update);
  };
}

export default { render };
