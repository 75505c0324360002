"""Silver + Gold throughput on a synthetic Bronze table, and the cost of a run with nothing new.

Usage: ``python benchmarks/bench_silver_gold.py [--events 1000000] [--vehicles 100]``

Builds a Bronze table of ``--events`` telemetry events (vectorised with pyarrow, in 10 commits
like a stream's micro-batches) in a temporary lake, then measures in one run:

* baseline: Spark parsing the same ``raw_event`` values with ``from_json`` (explicit schema)
  into a no-op sink — the floor any Silver job pays;
* ``vehsim_pipelines.jobs.run_silver`` then ``run_gold`` on the whole table (events/s,
  target >= 20,000 on 2 cores), and the ratio of Silver+Gold time to the baseline;
* an incremental ``run_silver`` + ``run_gold`` that finds no new Bronze data (seconds; it must
  not change any table version).

Ends with a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vehsim import events

TARGET_EVENTS_PER_S = 20_000


def _fmt(values: np.ndarray, decimals: int) -> pa.Array:
    return pc.cast(pa.array(np.round(values, decimals)), pa.string())


def synthetic_bronze(n_events: int, n_vehicles: int, start_offset: int = 0) -> pa.Table:
    """``n_events`` ``simulation.raw`` events of ``n_vehicles`` cars at 10 Hz, as Bronze rows."""
    idx = np.arange(n_events)
    vehicle = idx % n_vehicles
    seq = idx // n_vehicles
    t_s = seq * 0.1
    phase = (seq % 600) / 600.0
    speed_kph = np.clip(np.sin(phase * np.pi) * 90.0, 0.0, None)
    odometer_km = 1000.0 + t_s * 0.012
    fuel_used_l = t_s * 0.0012
    base_ms = 1_795_000_000_000
    emitted = pa.array(base_ms + (t_s * 1000).astype(np.int64), pa.timestamp("ms", tz="UTC"))
    emitted_text = pc.strftime(emitted, format="%Y-%m-%dT%H:%M:%S")
    vehicle_id = pc.binary_join_element_wise(
        "compact-sedan-", pc.utf8_lpad(pc.cast(pa.array(vehicle), pa.string()), 3, "0"), ""
    )
    rng = np.random.default_rng(0)
    uuid_hex = rng.integers(0, 2**63, size=(n_events, 2), dtype=np.int64)
    hex_a = [f"{a:016x}" for a in uuid_hex[:, 0]]
    hex_b = [f"{b:016x}" for b in uuid_hex[:, 1]]
    event_id = [
        f"{a[:8]}-{a[8:12]}-4{a[13:16]}-8{b[1:4]}-{b[4:16]}"
        for a, b in zip(hex_a, hex_b, strict=True)
    ]
    payload_values = {
        "engine_on": pa.array(["true"] * n_events),
        "engine_rpm": _fmt(800 + speed_kph * 30, 1),
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
        "engine_wear_pct": _fmt(10 + t_s * 1e-6, 8),
        "gearbox_wear_pct": _fmt(5 + t_s * 1e-6, 8),
        "brake_pad_wear_pct": _fmt(20 + t_s * 2e-6, 8),
        "tyre_wear_pct": _fmt(15 + t_s * 1e-6, 8),
        "oil_life_pct": _fmt(90 - t_s * 1e-5, 6),
        "ambient_temp_c": pa.array(["20.0"] * n_events),
        "road_grade_pct": pa.array(["0.0"] * n_events),
        "accel_mps2": _fmt(np.cos(phase * np.pi) * 0.5, 4),
    }
    assert set(events.RAW_PAYLOAD_FIELDS) <= set(payload_values)
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
        'Z","payload":{',
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
            "offset": pa.array(start_offset + idx, pa.int64()),
            "kafka_ts": ingest,
            "key": vehicle_id,
            "raw_event": raw,
            "key_bytes": pa.nulls(n_events, pa.binary()),
            "raw_event_bytes": pa.nulls(n_events, pa.binary()),
            "ingest_ts": ingest,
            "ingest_date": pc.cast(ingest, pa.date32()),
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--commits", type=int, default=10, help="Bronze commits to spread over")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    from deltalake import write_deltalake

    from vehsim.config import load_settings
    from vehsim_pipelines import jobs, schemas, silver
    from vehsim_pipelines.session import build_spark

    home = Path(tempfile.mkdtemp(prefix="vehsim-bench-"))
    settings = load_settings({"VEHSIM_HOME": str(home)})
    bronze_uri = settings.table_uri("bronze", "events")

    t0 = time.perf_counter()
    data = synthetic_bronze(args.events, args.vehicles)
    step = -(-args.events // args.commits)
    for start in range(0, args.events, step):
        write_deltalake(
            bronze_uri, data.slice(start, step), mode="append", partition_by=["ingest_date"]
        )
    print(
        f"bronze: {args.events:,} synthetic events ({args.vehicles} vehicles at 10 Hz) in "
        f"{args.commits} commits, built in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )

    spark = build_spark(
        "vehsim-bench",
        master=args.master,
        conf={"spark.ui.showConsoleProgress": "false", "spark.driver.memory": "4g"},
    )
    # warm-up: JIT and Python workers on a small slice, not timed
    spark.createDataFrame(data.slice(0, 2000).select(["raw_event"])).count()

    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    frame = spark.createDataFrame(data.select(["raw_event"]))
    parsed = frame.select(
        F.from_json("raw_event", schemas.envelope_schema(), silver.JSON_OPTIONS).alias("e")
    ).select("e.*", "e.payload.*")
    parsed.write.format("noop").mode("overwrite").save()
    baseline_s = time.perf_counter() - t0
    print(f"baseline: from_json of every raw_event: {baseline_s:.1f} s", file=sys.stderr)
    del data

    t0 = time.perf_counter()
    jobs.run_silver(spark, settings)
    silver_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    jobs.run_gold(spark, settings)
    gold_s = time.perf_counter() - t0
    total_s = silver_s + gold_s

    versions = jobs.table_summary(settings)
    t0 = time.perf_counter()
    noop_silver = jobs.run_silver(spark, settings, progress=None)
    noop_gold = jobs.run_gold(spark, settings, progress=None)
    noop_s = time.perf_counter() - t0
    unchanged = versions == jobs.table_summary(settings) and not noop_silver and not noop_gold
    spark.stop()

    rate = args.events / total_s
    print(f"silver: {silver_s:.1f} s ({args.events / silver_s:,.0f} events/s)")
    print(f"gold:   {gold_s:.1f} s ({args.events / gold_s:,.0f} events/s)")
    print(
        f"silver+gold: {rate:,.0f} events/s (target >= {TARGET_EVENTS_PER_S:,}); "
        f"{total_s / baseline_s:.1f}x the bare from_json parse ({baseline_s:.1f} s)"
    )
    print(
        f"incremental run with no new data: {noop_s:.2f} s, table versions unchanged: {unchanged}"
    )
    summary = {
        "benchmark": "silver_gold",
        "events": args.events,
        "vehicles": args.vehicles,
        "silver_s": round(silver_s, 2),
        "gold_s": round(gold_s, 2),
        "events_per_s": round(rate),
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "meets_target": rate >= TARGET_EVENTS_PER_S,
        "baseline_from_json_s": round(baseline_s, 2),
        "ratio_to_baseline": round(total_s / baseline_s, 2),
        "noop_run_s": round(noop_s, 3),
        "noop_versions_unchanged": unchanged,
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
