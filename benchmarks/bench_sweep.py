"""Sweep throughput: the Spark job on a standalone cluster and on ``local[N]`` against the
in-process fleet on the same cores, and whether all of them give the same rows.

Usage: ``python benchmarks/bench_sweep.py [--config pipelines/sweeps/diagnostics.yaml]
[--cores 2] [--skip-cluster] [--skip-local]``

For the sweep of ``--config`` (default: the 1,000-drive diagnostics sweep) it measures

* **in-process, 1 process**: :func:`vehsim_pipelines.sweep.simulate_sweep` (the fleet API in
  this interpreter, one core);
* **in-process, N processes**: the same slices as the Spark job, one
  :func:`~vehsim_pipelines.sweep.simulate_drives` call per slice in a pool of ``--cores``
  processes (the fleet on the same cores as the cluster, without Spark);
* **Spark, standalone cluster**: a master and ``--cores`` workers of one core each (separate
  JVMs, :class:`vehsim_pipelines.services.LocalCluster`), ``vehsim sweep --master spark://...``
  in a child process (its own driver);
* **Spark, local[N]**: ``vehsim sweep --master local[N]``.

For each Spark run: the command's wall time (JVM and session start included) and the job's
own time (the summary's ``elapsed_s``: simulation and the three Delta writes). Every run's rows
(windows, drives, labels) are compared with the in-process rows, bit for bit. Ends with a
one-line JSON summary. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "pipelines" / "sweeps" / "diagnostics.yaml"


def _slice(args: tuple[str, int, int]):
    from vehsim_pipelines.sweep import load_sweep_config, plan_drives, simulate_drives

    path, lo, hi = args
    cfg = load_sweep_config(path)
    return simulate_drives(cfg, plan_drives(cfg).iloc[lo:hi])


def in_process_pool(path: Path, n_drives: int, slices: int, cores: int):
    from vehsim_pipelines.sweep import slice_bounds

    bounds = [(str(path), *slice_bounds(n_drives, slices, i)) for i in range(slices)]
    # spawn: the parent has run Numba's threads, and fork() after OpenMP is unsafe.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=cores, mp_context=context) as pool:
        parts = list(pool.map(_slice, bounds))
    return tuple(pa.concat_tables([p[k] for p in parts]) for k in range(3))


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEHSIM_", "SPARK_"))}
    env.update(
        VEHSIM_HOME=str(home),
        VEHSIM_JARS_DIR=os.environ.get("VEHSIM_JARS_DIR", str(REPO / ".jars")),
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
    )
    return env


def spark_run(path: Path, master: str, home: Path, slices: int) -> dict:
    """``vehsim sweep`` in a child process; its summary, wall time and the rows it wrote."""
    from vehsim.config import load_settings
    from vehsim_pipelines.sweep import read_sweep

    env = _env(home)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "sweep", "--config", str(path), "--master", master]
        + ["--slices", str(slices), "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"vehsim sweep on {master} failed:\n{done.stderr[-4000:]}")
    summary = json.loads(done.stdout)
    rows = read_sweep(load_settings(env), summary["sweep_id"])
    return {"summary": summary, "wall_s": wall, "rows": rows}


def _same(expected, windows: pa.Table, drives: pa.Table, labels: pa.Table | None = None) -> bool:
    same = expected.windows.equals(windows) and expected.drives.equals(drives)
    return same and (labels is None or expected.labels.equals(labels))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--slices", type=int, default=None, help="default: 4 per core")
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()

    from vehsim.config import load_settings
    from vehsim_pipelines.services import LocalCluster
    from vehsim_pipelines.sweep import load_sweep_config, simulate_sweep

    cfg = load_sweep_config(args.config)
    n = cfg.n_drives()
    slices = args.slices or 4 * args.cores
    print(f"sweep {cfg.sweep_id}: {n} drives, {slices} slices, {args.cores} cores", flush=True)
    result: dict = {"sweep_id": cfg.sweep_id, "drives": n, "cores": args.cores, "slices": slices}

    t0 = time.perf_counter()
    expected = simulate_sweep(cfg)
    t = time.perf_counter() - t0
    result["windows"] = expected.windows.num_rows
    result["in_process_1_s"] = round(t, 1)
    result["in_process_1_drives_per_s"] = round(n / t, 1)
    print(f"in-process, 1 process: {t:.1f} s ({n / t:.1f} drives/s)", flush=True)

    t0 = time.perf_counter()
    windows, drives, labels = in_process_pool(args.config, n, slices, args.cores)
    t = time.perf_counter() - t0
    result["in_process_pool_s"] = round(t, 1)
    result["in_process_pool_drives_per_s"] = round(n / t, 1)
    result["in_process_pool_identical"] = _same(expected, windows, drives, labels)
    print(
        f"in-process, {args.cores} processes: {t:.1f} s ({n / t:.1f} drives/s), identical: "
        f"{result['in_process_pool_identical']}",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        tmp = Path(tmp)
        runs = []
        if not args.skip_cluster:
            cluster = LocalCluster(load_settings({"VEHSIM_HOME": str(tmp / "cluster")}))
            record = cluster.start(workers=args.cores, cores_per_worker=1, memory_per_worker="1g")
            try:
                runs.append(
                    ("cluster", spark_run(args.config, record.master_url, tmp / "c", slices))
                )
            finally:
                cluster.stop()
        if not args.skip_local:
            master = f"local[{args.cores}]"
            runs.append(("local", spark_run(args.config, master, tmp / "l", slices)))
        for name, run in runs:
            job = run["summary"]["elapsed_s"]
            rows = run["rows"]
            same = _same(expected, rows.windows, rows.drives, rows.labels)
            result[f"{name}_wall_s"] = round(run["wall_s"], 1)
            result[f"{name}_job_s"] = job
            result[f"{name}_drives_per_s"] = round(n / job, 1)
            result[f"{name}_identical"] = same
            print(
                f"Spark {name}: job {job:.1f} s ({n / job:.1f} drives/s), command "
                f"{run['wall_s']:.1f} s, identical rows: {same}",
                flush=True,
            )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
