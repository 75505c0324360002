// Prepended to the views that can be bound to a Reading (vehsim/ui/widgets.py). Resolves the
// `reading` reference and calls `onValues(values)` on every change of the reading's values,
// synchronously, so all views of one reading redraw in the same browser task.
async function bindReading(model, host, onValues) {
  const ref = model.get("reading");
  if (!ref || !host) return () => {};
  const reading = await host.getModel(ref);
  const handler = () => onValues(reading.get("values") || {});
  reading.on("change:values", handler);
  handler();
  return () => reading.off("change:values", handler);
}

// The number as a view prints it; "–" when the reading does not carry it.
function formatValue(value, decimals) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(decimals ?? 0) : "–";
}
