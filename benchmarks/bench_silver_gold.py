"""Silver + Gold throughput and driver memory on synthetic Bronze tables of two sizes.

Usage (the full comparison, 1M and 4M events; about an hour on a quiet 2-core machine, most
of it building the Bronze tables)::

    python benchmarks/bench_silver_gold.py
    python benchmarks/bench_silver_gold.py --quick        # 100k and 400k events, minutes
    python benchmarks/bench_silver_gold.py --events 2000000 --vehicles 200 [--previous]

For each size it builds a Bronze table of telemetry events with Spark (vectorised with pyarrow
in slices, in 10 commits like a stream's micro-batches, change data feed on, as the Bronze job
creates it; every value has the fields and formats the live runtime sends), then runs in a
**fresh process** (its own Spark driver, ``local[2]``, fixed driver heap):

1. a warm-up: Silver and Gold on a small separate lake (``--warmup-events``), as a scheduler
   or notebook session that has run the jobs before would be: the JVM has compiled the
   generated code. Its time is reported as the one-off cost of a cold process;
2. ``vehsim_pipelines.jobs.run_silver`` then ``run_gold`` on the whole table (events/s;
   target >= 50,000 on 2 cores), with the CPU seconds the driver JVM and its Python workers
   spent on it (events per CPU second do not depend on what else the machine runs);
3. an incremental run that finds no new Bronze data (seconds; it must change no table version);

while sampling the peak resident memory (``VmHWM`` in ``/proc/<pid>/status``) of that process's
Python interpreter and of its driver JVM. Jobs that move no table through the driver keep both
flat as the data grows.

``--separate-executors`` runs the measured session on Spark's ``local-cluster[1,2,2048]``: the
same two cores, but the executor is a JVM of its own (1.5 GiB heap) started by an in-process
worker, as on a cluster, so the driver JVM's peak is the driver's alone (in ``local[2]`` the
executors' tasks live in the driver JVM and its peak rises with their heap use). The executor
JVM's peak is reported next to it.

``--previous`` also runs, on the same Bronze table and in the same way, the implementation
before this one (Silver/Gold through driver-side Arrow and delta-rs), taken from git
(``--previous-ref``) into a temporary package.

Prints the load average next to every figure and ends with a one-line JSON summary.

The speed of a shared (virtual) host varies over a day, on this project's 2-core machines by
up to twice for the same code: every run also times a fixed pure-Python loop
(``host_reference_s``, best of three, before and after the measurements), so two runs'
figures can be compared at the host speed each had.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vehsim import events


def _fmt(values: np.ndarray, decimals: int) -> pa.Array:
    return pc.cast(pa.array(np.round(values, decimals)), pa.string())


def synthetic_bronze(n_events: int, n_vehicles: int, start_offset: int = 0) -> pa.Table:
    """``n_events`` ``simulation.raw`` events of ``n_vehicles`` cars at 10 Hz, as Bronze rows.

    Each Kafka value has the fields, order and number formats of what the live runtime sends
    (``vehsim.telemetry.raw_payload`` plus ``sim_clock_utc``; about 1.2 kB), so Silver parses
    as much text per event as it does in production.
    """
    idx = np.arange(start_offset, start_offset + n_events)
    vehicle = idx % n_vehicles
    seq = idx // n_vehicles
    t_s = seq * 0.1
    phase = (seq % 600) / 600.0
    speed_kph = np.clip(np.sin(phase * np.pi) * 90.0, 0.0, None)
    odometer_km = 1000.0 + t_s * 0.012
    fuel_used_l = t_s * 0.0012
    torque_nm = 40.0 + 60.0 * np.cos(phase * np.pi) ** 2
    rpm = 800 + speed_kph * 30
    base_ms = 1_795_000_000_000
    emitted = pa.array(base_ms + (t_s * 1000).astype(np.int64), pa.timestamp("ms", tz="UTC"))
    # the runtime's UTC ISO-8601 form, with microseconds: 2026-11-30T05:33:44.688000Z
    # (%S of a millisecond timestamp gives seconds with three decimals)
    emitted_text = pc.binary_join_element_wise(
        pc.strftime(emitted, format="%Y-%m-%dT%H:%M:%S"), "000Z", ""
    )
    vehicle_id = pc.binary_join_element_wise(
        "compact-sedan-", pc.utf8_lpad(pc.cast(pa.array(vehicle), pa.string()), 3, "0"), ""
    )
    rng = np.random.default_rng(start_offset)  # each slice its own ids
    uuid_hex = rng.integers(0, 2**63, size=(n_events, 2), dtype=np.int64)
    hex_a = [f"{a:016x}" for a in uuid_hex[:, 0]]
    hex_b = [f"{b:016x}" for b in uuid_hex[:, 1]]
    event_id = [
        f"{a[:8]}-{a[8:12]}-4{a[13:16]}-8{b[1:4]}-{b[4:16]}"
        for a, b in zip(hex_a, hex_b, strict=True)
    ]

    def const(text: str) -> pa.Array:
        return pa.array([text] * n_events)

    payload_values = {
        "engine_on": const("true"),
        "engine_rpm": _fmt(rpm, 1),
        "vehicle_speed_kph": _fmt(speed_kph, 3),
        "gear": pc.cast(
            pa.array(np.minimum(6, 1 + (speed_kph // 20)).astype(np.int64)), pa.string()
        ),
        "throttle_pct": _fmt(20 + 10 * np.cos(phase * np.pi), 2),
        "brake_pct": _fmt(np.where(phase > 0.8, 30.0, 0.0), 2),
        "coolant_temp_c": _fmt(np.minimum(90, 20 + t_s * 0.1), 2),
        "oil_temp_c": _fmt(np.minimum(100, 20 + t_s * 0.08), 2),
        "fuel_rate_lph": _fmt(1 + speed_kph * 0.05, 4),
        "fuel_used_l": _fmt(fuel_used_l, 5),
        "fuel_level_pct": _fmt(80 - t_s * 0.001, 3),
        "odometer_km": _fmt(odometer_km, 5),
        "engine_wear_pct": _fmt(10 + t_s * 1e-6, 12),
        "gearbox_wear_pct": _fmt(5 + t_s * 1e-6, 12),
        "brake_pad_wear_pct": _fmt(20 + t_s * 2e-6, 12),
        "tyre_wear_pct": _fmt(15 + t_s * 1e-6, 12),
        "oil_life_pct": _fmt(90 - t_s * 1e-5, 12),
        "ambient_temp_c": const("20.0"),
        "road_grade_pct": const("0.0"),
        "engine_torque_nm": _fmt(torque_nm, 2),
        "accel_mps2": _fmt(np.cos(phase * np.pi) * 0.5, 4),
        "fuel_cutoff": const("false"),
        "fan_on": const("false"),
        "target_speed_kph": _fmt(speed_kph, 3),
        "vehicle_model": const('"compact-sedan"'),
        "driver_mode": const('"cycle"'),
        "gear_mode": const('"auto"'),
        "engine_power_kw": _fmt(torque_nm * rpm / 9549.0, 3),
        "pedal_pct": _fmt(20 + 10 * np.cos(phase * np.pi), 2),
        "wear_time_scale": const("1.0"),
        "coolant_sensor_temp_c": _fmt(np.minimum(90, 20 + t_s * 0.1), 2),
        "speed_sensor_kph": _fmt(speed_kph, 3),
        "fuel_trim_pct": const("0.0"),
        "engine_load_pct": _fmt(torque_nm / 1.5, 2),
        "engine_demand_torque_nm": _fmt(torque_nm * 1.02, 2),
        "misfire_count": const("0"),
        "gearbox_input_rpm": _fmt(rpm * 0.98, 1),
        "driveline_locked": const("true"),
        "engine_run_time_s": _fmt(t_s, 2),
        "mil_on": const("false"),
        "mil_distance_km": const("0.0"),
        "dtc_confirmed": const("[]"),
        "dtc_pending": const("[]"),
        "sim_clock_utc": pc.binary_join_element_wise('"', emitted_text, '"', ""),
    }
    assert set(events.RAW_PAYLOAD_FIELDS) <= set(payload_values)
    assert set(events.OPTIONAL_RAW_PAYLOAD_FIELDS) <= set(payload_values)
    parts: list = [
        f'{{"schema_version":{events.SCHEMA_VERSION},"event_id":"',
        pa.array(event_id),
        f'","event_type":"{events.SIMULATION_RAW}","vehicle_id":"',
        vehicle_id,
        '","run_id":"bench-run","seq":',
        pc.cast(pa.array(seq), pa.string()),
        ',"sim_time_s":',
        _fmt(t_s, 1),
        ',"emitted_at":"',
        emitted_text,
        '","payload":{',
    ]
    for i, (name, text) in enumerate(payload_values.items()):
        parts += [("," if i else "") + f'"{name}":', text]
    parts.append("}}")
    arrays = [p if isinstance(p, pa.Array) else pa.array([p] * n_events) for p in parts]
    raw = pc.binary_join_element_wise(*arrays, "")
    ingest = pa.array(np.full(n_events, base_ms + 5_000), pa.timestamp("ms", tz="UTC"))
    ingest = pc.cast(ingest, pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "topic": pa.array(["vehsim.telemetry"] * n_events),
            "partition": pa.array(vehicle % 3, pa.int32()),
            "offset": pa.array(idx, pa.int64()),
            "kafka_ts": ingest,
            "key": vehicle_id,
            "raw_event": raw,
            "key_bytes": pa.nulls(n_events, pa.binary()),
            "raw_event_bytes": pa.nulls(n_events, pa.binary()),
            "ingest_ts": ingest,
            "ingest_date": pc.cast(ingest, pa.date32()),
        }
    )


TARGET_EVENTS_PER_S = 50_000
#: The implementation Silver/Gold replaced (driver-side Arrow + delta-rs), for ``--previous``.
PREVIOUS_REF = "9b99091"
_PREVIOUS_MODULES = ("jobs", "lake", "silver", "gold", "quality", "schemas", "session")
_SLICE = 250_000


def build_bronze(home: Path, n_events: int, n_vehicles: int, commits: int) -> None:
    """Write the synthetic Bronze table under ``home``'s lake with Spark, in ``commits`` commits."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pipelines"))
    from lakehouse_data import write_bronze

    from vehsim.config import load_settings
    from vehsim_pipelines.session import build_spark

    settings = load_settings({"VEHSIM_HOME": str(home)})
    # Each commit's Arrow slices pass through the driver (400,000 events, ~0.5 GB, at 4M).
    spark = build_spark(
        "vehsim-bench-bronze", master="local[2]", conf={"spark.driver.memory": "6g"}
    )
    uri = settings.table_uri("bronze", "events")
    step = -(-n_events // commits)
    for start in range(0, n_events, step):
        size = min(step, n_events - start)
        parts = [
            synthetic_bronze(min(_SLICE, size - done), n_vehicles, start + done)
            for done in range(0, size, _SLICE)
        ]
        write_bronze(spark, uri, pa.concat_tables(parts))
    spark.stop()


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``; none once it has ended (it may end while it is read)."""
    found = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        out += kids
        todo += kids
    return out


def _is_java(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/exe").resolve().name == "java"
    except OSError:
        return False


def measure(
    home: Path,
    warmup: Path | None,
    previous: Path | None = None,
    driver_memory: str | None = None,
) -> dict:
    """Run Silver + Gold on ``home``'s lake in a child process (after a warm-up on the Bronze
    table of ``warmup``, if given), sampling its memory."""
    env = dict(os.environ)
    if driver_memory:
        env["VEHSIM_BENCH_DRIVER_MEMORY"] = driver_memory
    if previous is not None:
        env["PYTHONPATH"] = f"{previous}:{env.get('PYTHONPATH', '')}"
    warm_home = None
    if warmup is not None:
        warm_home = Path(tempfile.mkdtemp(prefix="vehsim-bench-warmup-"))
        _link_bronze(warmup, warm_home)
    child = subprocess.Popen(
        [sys.executable, __file__, "--run", str(home)]
        + (["--warm-home", str(warm_home)] if warm_home else [])
        + (["--package", "vehsim_pipelines_previous"] if previous else []),
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    peak_py, peak_jvm, peak_executor = 0, 0, 0
    while child.poll() is None:
        peak_py = max(peak_py, _status_kib(child.pid, "VmHWM") or 0)
        # the driver JVM is the Python process's own child; executor JVMs (--separate-executors)
        # are started below it by the in-process worker
        drivers = [pid for pid in _children(child.pid) if _is_java(pid)]
        for pid in drivers:
            peak_jvm = max(peak_jvm, _status_kib(pid, "VmHWM") or 0)
            for sub in _descendants(pid):
                if _is_java(sub):
                    peak_executor = max(peak_executor, _status_kib(sub, "VmHWM") or 0)
        time.sleep(0.2)
    out = child.stdout.read() if child.stdout else ""
    if warm_home is not None:
        shutil.rmtree(warm_home, ignore_errors=True)
    if child.returncode != 0:
        raise SystemExit(f"benchmark run failed ({child.returncode}); see stderr above")
    result = json.loads(out.strip().splitlines()[-1])
    result["driver_python_peak_mib"] = round(peak_py / 1024)
    result["driver_jvm_peak_mib"] = round(peak_jvm / 1024)
    result["driver_memory"] = driver_memory or DRIVER_MEMORY
    result["master"] = MASTER
    if MASTER != LOCAL_MASTER:
        result["executor_jvm_peak_mib"] = round(peak_executor / 1024)
    return result


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and of the children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and every process below it (the JVM and Spark's Python workers)."""
    return _cpu_s(pid) + sum(_cpu_s(p) for p in _descendants(pid))


def run(home: Path, package: str, warm_home: Path | None = None) -> dict:
    """The timed part, in its own process: warm-up, Silver, Gold, then a run with nothing new."""
    import importlib

    from vehsim.config import load_settings

    jobs = importlib.import_module(f"{package}.jobs")
    session = importlib.import_module(f"{package}.session")
    settings = load_settings({"VEHSIM_HOME": str(home)})
    started = time.perf_counter()
    conf = {"spark.ui.showConsoleProgress": "false", "spark.driver.memory": DRIVER_MEMORY}
    if MASTER != LOCAL_MASTER:
        conf["spark.executor.memory"] = EXECUTOR_MEMORY
    spark = session.build_spark("vehsim-bench", master=MASTER, conf=conf)
    spark.range(1000).selectExpr("sum(id)").collect()  # session start, not timed
    session_s = time.perf_counter() - started
    warmup_s = 0.0
    if warm_home is not None:
        warm = load_settings({"VEHSIM_HOME": str(warm_home)})
        t0 = time.perf_counter()
        jobs.run_silver(spark, warm, progress=None)
        jobs.run_gold(spark, warm, progress=None)
        warmup_s = time.perf_counter() - t0
    load = os.getloadavg()[0]
    cpu0 = _tree_cpu_s(os.getpid())
    t0 = time.perf_counter()
    jobs.run_silver(spark, settings)
    silver_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    jobs.run_gold(spark, settings)
    gold_s = time.perf_counter() - t0
    cpu_s = _tree_cpu_s(os.getpid()) - cpu0
    load = max(load, os.getloadavg()[0])
    versions = jobs.table_summary(settings)
    t0 = time.perf_counter()
    noop = jobs.run_silver(spark, settings, progress=None) + jobs.run_gold(
        spark, settings, progress=None
    )
    noop_s = time.perf_counter() - t0
    unchanged = versions == jobs.table_summary(settings) and not noop
    telemetry_rows = (versions.get("silver/telemetry") or {}).get("rows")
    spark.stop()
    return {
        "session_start_s": round(session_s, 2),
        "warmup_s": round(warmup_s, 2),
        "silver_s": round(silver_s, 2),
        "gold_s": round(gold_s, 2),
        "cpu_s": round(cpu_s, 1),
        "load_average": round(load, 1),
        "noop_run_s": round(noop_s, 3),
        "noop_versions_unchanged": unchanged,
        "silver_telemetry_rows": telemetry_rows,
    }


#: Driver heap of the measured session (fixed, so memory figures compare across sizes).
DRIVER_MEMORY = os.environ.get("VEHSIM_BENCH_DRIVER_MEMORY", "2g")
LOCAL_MASTER = "local[2]"
#: ``--separate-executors``: one worker with 2 cores whose executor is a JVM of its own (Spark's
#: ``local-cluster`` mode), so the driver JVM's peak is the driver's alone.
SEPARATE_MASTER = "local-cluster[1,2,2048]"
EXECUTOR_MEMORY = "1536m"
MASTER = os.environ.get("VEHSIM_BENCH_MASTER", LOCAL_MASTER)


def previous_package(ref: str) -> Path:
    """The Silver/Gold modules of git ``ref`` as package ``vehsim_pipelines_previous``."""
    root = Path(tempfile.mkdtemp(prefix="vehsim-previous-"))
    package = root / "vehsim_pipelines_previous"
    package.mkdir()
    (package / "__init__.py").write_text("")
    repo = Path(__file__).resolve().parents[1]
    for name in _PREVIOUS_MODULES:
        text = subprocess.run(
            ["git", "show", f"{ref}:pipelines/{name}.py"],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        text = text.replace("from vehsim_pipelines", "from vehsim_pipelines_previous")
        text = text.replace("import vehsim_pipelines.", "import vehsim_pipelines_previous.")
        (package / f"{name}.py").write_text(text)
    return root


def _link_bronze(source: Path, home: Path) -> None:
    """``home``'s lake reads the Bronze table of ``source``'s (a symlink, nothing copied)."""
    from vehsim.config import load_settings

    src = Path(load_settings({"VEHSIM_HOME": str(source)}).table_uri("bronze", "events"))
    dst = Path(load_settings({"VEHSIM_HOME": str(home)}).table_uri("bronze", "events"))
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.symlink_to(src, target_is_directory=True)


def _report(name: str, n_events: int, result: dict) -> dict:
    total_s = result["silver_s"] + result["gold_s"]
    result.update(
        implementation=name,
        events=n_events,
        events_per_s=round(n_events / total_s),
        events_per_cpu_s=round(n_events / result["cpu_s"]) if result.get("cpu_s") else None,
    )
    print(
        f"{name:>8} {n_events:>9,} events: silver {result['silver_s']:.1f} s, gold "
        f"{result['gold_s']:.1f} s -> {result['events_per_s']:,} events/s "
        f"(target >= {TARGET_EVENTS_PER_S:,}; load average {result.get('load_average', '?')}); "
        f"{result.get('cpu_s', 0):.0f} CPU s = {result['events_per_cpu_s'] or 0:,} events per "
        f"CPU s; warm-up {result.get('warmup_s', 0):.0f} s; driver peak: JVM "
        f"{result['driver_jvm_peak_mib']:,} MiB, Python "
        f"{result['driver_python_peak_mib']:,} MiB"
        + (
            f", executor JVM {result['executor_jvm_peak_mib']:,} MiB"
            if "executor_jvm_peak_mib" in result
            else ""
        )
        + f"; no-op rerun "
        f"{result['noop_run_s']:.2f} s, versions unchanged: "
        f"{result['noop_versions_unchanged']}",
        flush=True,
    )
    return result


def host_reference_s() -> float:
    """Seconds a fixed single-threaded Python loop takes on this host now (best of three)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return round(best, 3)


def _bronze(n_events: int, args, label: str) -> Path:
    home = Path(tempfile.mkdtemp(prefix=f"vehsim-bench-{label}-"))
    t0 = time.perf_counter()
    build_bronze(home, n_events, args.vehicles, args.commits)
    print(
        f"bronze: {n_events:,} synthetic events ({args.vehicles} vehicles at 10 Hz) in "
        f"{args.commits} commits, built in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return home


#: ``--quick``: two sizes four times apart, small enough for minutes on a busy machine.
QUICK_EVENTS = (100_000, 400_000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument(
        "--quick", action="store_true", help=f"sizes {QUICK_EVENTS}, a smaller warm-up"
    )
    parser.add_argument(
        "--warmup-events",
        type=int,
        default=None,
        help="events of the warm-up lake (default 100,000; 20,000 with --quick; 0: none)",
    )
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--commits", type=int, default=10, help="Bronze commits to spread over")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lakes")
    parser.add_argument("--previous", action="store_true", help="also time the previous jobs")
    parser.add_argument("--previous-ref", default=PREVIOUS_REF)
    parser.add_argument(
        "--previous-max-events",
        type=int,
        default=1_000_000,
        help="time the previous jobs only up to this size (they hold a whole range in memory)",
    )
    parser.add_argument(
        "--separate-executors",
        action="store_true",
        help="run the executors in a JVM of their own (local-cluster), so the driver's peak "
        "memory is the driver's alone",
    )
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warm-home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--package", default="vehsim_pipelines", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if args.run is not None:
        print(json.dumps(run(args.run, args.package, args.warm_home)))
        return 0
    if args.separate_executors:
        global MASTER
        MASTER = os.environ["VEHSIM_BENCH_MASTER"] = SEPARATE_MASTER
    sizes = list(QUICK_EVENTS) if args.quick else args.events
    warmup_events = args.warmup_events
    if warmup_events is None:
        warmup_events = 20_000 if args.quick else 100_000

    previous = previous_package(args.previous_ref) if args.previous else None
    reference_before = host_reference_s()
    print(f"host reference: {reference_before:.3f} s (a fixed Python loop)", file=sys.stderr)
    results = []
    homes = []
    scratch = []
    try:
        warmup = _bronze(warmup_events, args, "warmup") if warmup_events else None
        scratch.append(warmup)
        for n_events in sizes:
            home = _bronze(n_events, args, "lake")
            scratch.append(home)
            homes.append((n_events, home))
            results.append(_report("spark", n_events, measure(home, warmup)))
        # The previous jobs last: they hold a whole range in the driver, so only the small sizes.
        for n_events, home in homes:
            if previous is not None and n_events <= args.previous_max_events:
                old_home = Path(tempfile.mkdtemp(prefix="vehsim-bench-previous-"))
                scratch.append(old_home)
                _link_bronze(home, old_home)
                results.append(_report("previous", n_events, measure(old_home, warmup, previous)))
    finally:
        if not args.keep:
            for path in filter(None, scratch):
                shutil.rmtree(path, ignore_errors=True)
    spark_runs = [r for r in results if r["implementation"] == "spark"]
    summary = {
        "benchmark": "silver_gold",
        "vehicles": args.vehicles,
        "warmup_events": warmup_events,
        "driver_memory": DRIVER_MEMORY,
        "master": MASTER,
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "cpu_count": os.cpu_count(),
        "host_reference_s": [reference_before, host_reference_s()],
        "target_met": all(r["events_per_s"] >= TARGET_EVENTS_PER_S for r in spark_runs),
        "results": results,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
