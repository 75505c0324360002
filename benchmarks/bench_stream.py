"""Benchmark of the Kafka runtime against raw kafka-python, on an embedded broker started here.

1. Producer throughput: the same ``simulation.raw`` events sent by
   (a) raw kafka-python (``json.dumps`` + ``send``, same producer settings, then ``flush``) and
   (b) :class:`vehsim.stream.producer.EventPublisher` (encode, fsync'd spool, send, ack
   tracking, then ``close``), alternately for a few rounds; medians compared (target >= 0.8x).
2. Real time: ``DriveRuntime`` with 200 vehicles at 10 Hz (2,000 events/s) paced at speed-up 1;
   reports whether simulated time kept up with the wall clock and the process CPU time per wall
   second (target < 1 core).

Usage: ``python benchmarks/bench_stream.py [--events N] [--rounds R] [--vehicles V]
[--duration-s S]``. Prints a table and, last, a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
import uuid


def _events(n: int, vehicles: int = 50) -> list[dict]:
    """Realistic payloads: the simulation's own output for a small fleet, repeated."""
    import vehsim
    from vehsim.events import SIMULATION_RAW, make_event

    names = sorted(vehsim.list_vehicles())
    sim = vehsim.Simulator([vehsim.load_vehicle(names[i % len(names)]) for i in range(vehicles)])
    sim.set_driver(slice(None), "cycle:udds")
    run_id = str(uuid.uuid4())
    out = []
    tick = 0
    while len(out) < n:
        sim.advance(0.1)
        snapshot = sim.snapshot()
        for i in range(vehicles):
            payload = vehsim.telemetry.raw_payload(snapshot, i)
            out.append(
                make_event(SIMULATION_RAW, f"car-{i:03d}", run_id, tick, sim.time_s, payload)
            )
        tick += 1
    return out[:n]


def _raw_kafka_python(settings, bootstrap: str, topic: str, evs: list[dict]) -> float:
    from kafka import KafkaProducer

    from vehsim.stream.producer import producer_config

    producer = KafkaProducer(**producer_config(settings, bootstrap))
    start = time.perf_counter()
    for event in evs:
        producer.send(topic, key=event["vehicle_id"].encode(), value=json.dumps(event).encode())
    producer.flush()
    elapsed = time.perf_counter() - start
    producer.close()
    return len(evs) / elapsed


def _publisher(settings, bootstrap: str, topic: str, evs: list[dict]) -> float:
    from vehsim.stream.producer import EventPublisher

    publisher = EventPublisher(
        settings, run_id=str(uuid.uuid4()), bootstrap=bootstrap, topic=topic, adopt_orphans=False
    )
    publisher.start()
    # let it connect first, as a long-lived runtime has; the raw client connects in __init__
    while publisher.stats().state != "online":
        time.sleep(0.01)
    start = time.perf_counter()
    for event in evs:
        publisher.publish(event)
    stats = publisher.close(timeout_s=120)
    elapsed = time.perf_counter() - start
    if stats.pending or stats.acked != len(evs):
        raise RuntimeError(f"publisher did not deliver everything: {stats}")
    return len(evs) / elapsed


def _create_topics(settings, bootstrap: str, names: list[str]) -> None:
    """The benchmark's own topics, like the telemetry topic: the broker creates none on use."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    from vehsim.stream.broker import wait_for_leaders
    from vehsim.stream.kafka_config import client_config

    admin = KafkaAdminClient(**client_config(settings, bootstrap))
    try:
        admin.create_topics([NewTopic(name, settings.telemetry_partitions, 1) for name in names])
    finally:
        admin.close()
    wait_for_leaders(settings, bootstrap, names)


def _real_time(settings, bootstrap: str, vehicles: int, duration_s: float, rate_hz: float) -> dict:
    from vehsim.stream.runtime import DriveConfig, DriveRuntime, fleet

    # Compile the kernel once outside the measurement (as a long-running runtime has).
    warm = DriveRuntime(
        DriveConfig(vehicles=fleet(2), speedup=math.inf, duration_s=1.0),
        settings,
        bootstrap=bootstrap,
        listen=False,
    )
    warm.run()
    runtime = DriveRuntime(
        DriveConfig(vehicles=fleet(vehicles), speedup=1.0, duration_s=duration_s, rate_hz=rate_hz),
        settings,
        bootstrap=bootstrap,
        progress=lambda p: print(f"  {p.line()} cpu={p.cpu_s / p.wall_s:.2f}", file=sys.stderr),
        progress_interval_s=5.0,
    )
    final = runtime.run()
    return {
        "vehicles": vehicles,
        "rate_hz": rate_hz,
        "sim_s": round(final.sim_time_s, 2),
        "wall_s": round(final.wall_s, 2),
        "events": final.events,
        "events_per_s": round(final.events / final.wall_s, 1),
        "target_events_per_s": vehicles * rate_hz,
        "acked": final.acked,
        "spooled": final.pending,
        "cpu_s": round(final.cpu_s, 2),
        "cpu_cores": round(final.cpu_s / final.wall_s, 3),
        "real_time_factor": round(final.sim_time_s / final.wall_s, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--duration-s", type=float, default=30.0)
    parser.add_argument("--rate-hz", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)

    from vehsim.config import load_settings
    from vehsim.stream.broker import EmbeddedBroker

    with tempfile.TemporaryDirectory(prefix="vehsim-bench-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
        env["VEHSIM_HOME"] = home
        settings = load_settings(env)
        broker = EmbeddedBroker(settings)
        record = broker.start()
        try:
            print(f"broker {record.bootstrap}; building {args.events} events ...", file=sys.stderr)
            evs = _events(args.events)
            size_b = statistics.mean(len(json.dumps(e)) for e in evs[:1000])
            raw, ours = [], []
            _create_topics(
                settings,
                record.bootstrap,
                [f"bench-{kind}-{r}" for r in range(args.rounds) for kind in ("raw", "pub")],
            )
            for r in range(args.rounds):
                raw.append(_raw_kafka_python(settings, record.bootstrap, f"bench-raw-{r}", evs))
                ours.append(_publisher(settings, record.bootstrap, f"bench-pub-{r}", evs))
                print(
                    f"  round {r}: raw {raw[-1]:.0f}/s publisher {ours[-1]:.0f}/s", file=sys.stderr
                )
            raw_eps, ours_eps = statistics.median(raw), statistics.median(ours)
            ratio = ours_eps / raw_eps
            print(f"\nproducer throughput, {args.events} events of ~{size_b:.0f} B, "
                  f"median of {args.rounds} rounds")  # fmt: skip
            print(f"  raw kafka-python       {raw_eps:10.0f} events/s")
            print(f"  EventPublisher (spool) {ours_eps:10.0f} events/s   ratio {ratio:.2f}x "
                  f"(target >= 0.8x: {'OK' if ratio >= 0.8 else 'MISSED'})")  # fmt: skip

            print(f"\nreal time: {args.vehicles} vehicles at {args.rate_hz:g} Hz for "
                  f"{args.duration_s:g} s, speed-up 1", file=sys.stderr)  # fmt: skip
            rt = _real_time(
                settings, record.bootstrap, args.vehicles, args.duration_s, args.rate_hz
            )
            kept = rt["real_time_factor"] >= 0.98 and rt["spooled"] == 0
            print(f"\nreal time: {rt['vehicles']} vehicles x {rt['rate_hz']:g} Hz = "
                  f"{rt['target_events_per_s']:.0f} events/s target")  # fmt: skip
            print(f"  simulated {rt['sim_s']} s in {rt['wall_s']} s wall "
                  f"(real-time factor {rt['real_time_factor']}), {rt['events_per_s']} events/s, "
                  f"all acked: {rt['acked'] == rt['events']}")  # fmt: skip
            print(f"  process CPU {rt['cpu_s']} s = {rt['cpu_cores']} cores "
                  f"(target < 1: {'OK' if rt['cpu_cores'] < 1 else 'MISSED'}); "
                  f"kept real time: {'OK' if kept else 'MISSED'}")  # fmt: skip
        finally:
            broker.stop()
    summary = {
        "bench": "stream",
        "events": args.events,
        "event_bytes": round(size_b),
        "raw_kafka_python_eps": round(raw_eps),
        "publisher_eps": round(ours_eps),
        "publisher_vs_raw": round(ratio, 3),
        "throughput_target_met": ratio >= 0.8,
        **{f"realtime_{k}": v for k, v in rt.items()},
        "realtime_kept": kept,
        "cpu_target_met": rt["cpu_cores"] < 1,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
