"""What a run of the demo made and where to go next: ``python -m vehsim.next_steps``.

``make demo`` ends with it. It lists the files in the output folder, the Delta tables of the lake
and the MLflow tracking store (from :func:`vehsim.config.load_settings`, the same settings every
command reads), then the commands that open each of them. It reads only directory listings: no
Spark, MLflow or Jupyter is imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vehsim.config import Settings, load_settings

#: (command, what it opens) in the order a newcomer would try them.
NEXT_COMMANDS = (
    ("vehsim dashboard", "the live dashboard: one car's dials and charts, on 127.0.0.1"),
    (
        "jupyter lab notebooks/",
        "the notebooks: cycles, live driving, sensitivity, lakehouse, models, diagnostics",
    ),
    ("vehsim mlflow-ui", "the experiments' runs, metrics and registered models, on 127.0.0.1"),
    ("vehsim simulate --help", "one car over one cycle, with a plot (--plot run.png)"),
)


def lake_tables(settings: Settings) -> list[str]:
    """Delta tables under a local lake as ``layer/name`` (a folder with ``_delta_log``)."""
    if "://" in settings.lake_uri:
        return []
    root = Path(settings.lake_uri)
    if not root.is_dir():
        return []
    return sorted(
        str(log.parent.relative_to(root)) for log in root.glob("*/*/_delta_log") if log.is_dir()
    )


def report(outputs: Path | None, settings: Settings) -> str:
    """The "what was made / next steps" block."""
    lines = ["", "What was made:"]
    if outputs is not None:
        files = sorted(p.name for p in outputs.glob("*") if p.is_file()) if outputs.is_dir() else []
        shown = ", ".join(files) if files else "(nothing yet)"
        lines.append(f"  plots and telemetry  {outputs}/: {shown}")
    tables = lake_tables(settings)
    if tables:
        lines.append(f"  lake (Delta)         {settings.lake_uri}: {', '.join(tables)}")
    else:
        lines.append(f"  lake (Delta)         {settings.lake_uri}")
    lines.append(f"  experiments (MLflow) {settings.mlflow_tracking_uri}")
    lines += ["", "Next:"]
    width = max(len(cmd) for cmd, _ in NEXT_COMMANDS)
    lines += [f"  {cmd:<{width}}  {what}" for cmd, what in NEXT_COMMANDS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vehsim.next_steps", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--outputs", type=Path, help="folder of the demo's plots and telemetry")
    args = parser.parse_args(argv)
    print(report(args.outputs, load_settings()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
