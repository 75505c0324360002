"""The live runtime with faults: diagnostic.dtc events, the MIL in telemetry, fault commands,
their rejections and the ground-truth labels (in-process, no broker)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest

from vehsim import events
from vehsim.faults import FaultSpec


class ListPublisher:
    """Keeps every event; the publisher interface the runtime uses."""

    def __init__(self):
        self.events: list[dict] = []

    def start(self) -> None:
        pass

    def publish(self, event: dict) -> None:
        events.encode_event(event)  # refuse what the real publisher refuses
        self.events.append(event)

    def stats(self):
        n = len(self.events)
        return SimpleNamespace(
            acked=n, pending=0, replayed=0, outages=0, state="ok", dead_lettered=0
        )

    def close(self, timeout_s: float = 0.0):
        return self.stats()

    def of(self, event_type: str, vehicle_id: str | None = None) -> list[dict]:
        return [
            e
            for e in self.events
            if e["event_type"] == event_type and vehicle_id in (None, e["vehicle_id"])
        ]


def _runtime(settings, **config):
    from vehsim.stream.runtime import DriveConfig, DriveRuntime

    values = dict(vehicles=["compact-sedan"], speedup=math.inf, rate_hz=2.0, start="hot")
    values.update(config)
    publisher = ListPublisher()
    runtime = DriveRuntime(
        DriveConfig(**values), settings, publisher=publisher, listen=False, run_id="run-faults"
    )
    return runtime, publisher


@pytest.fixture
def settings(vehsim_env):
    from vehsim.config import load_settings

    return load_settings()


def test_a_misfiring_car_publishes_its_codes_and_lights_the_mil_in_telemetry(settings):
    from vehsim.labels import read_labels

    misfire = FaultSpec("misfire_cylinder_1", 1.0, 0.0)
    runtime, pub = _runtime(
        settings, vehicles=["compact-sedan", "compact-sedan"], faults=[[misfire], []],
        duration_s=130.0,
    )  # fmt: skip
    runtime.run()
    sick, healthy = runtime.vehicle_ids
    dtc = pub.of(events.DIAGNOSTIC_DTC, sick)
    assert [(e["payload"]["code"], e["payload"]["status"]) for e in dtc] == [
        ("P0301", "pending"),
        ("P0301", "confirmed"),
    ]
    assert dtc[1]["payload"]["mil_on"] is True and dtc[1]["payload"]["freeze_frame"]
    # a code sits on the car's timeline: the simulation clock at the change, like telemetry's
    raw = pub.of(events.SIMULATION_RAW, sick)
    start = datetime.fromisoformat(raw[0]["payload"]["sim_clock_utc"]) - timedelta(
        seconds=raw[0]["sim_time_s"]
    )
    for e in dtc:
        at = datetime.fromisoformat(e["payload"]["sim_clock_utc"])
        assert abs((at - start).total_seconds() - e["payload"]["sim_time_s"]) < 1e-3
    assert pub.of(events.DIAGNOSTIC_DTC, healthy) == []
    for e in pub.events:
        assert events.schema_errors(e) == [], e
    raw = pub.of(events.SIMULATION_RAW, sick)
    assert raw[0]["payload"]["mil_on"] is False and raw[0]["payload"]["dtc_confirmed"] == []
    assert raw[-1]["payload"]["mil_on"] is True
    assert raw[-1]["payload"]["dtc_confirmed"] == ["P0301"]
    # The MIL comes on in the first telemetry event after the confirming change.
    confirmed_at = dtc[1]["sim_time_s"]
    first_lit = next(e for e in raw if e["payload"]["mil_on"])
    assert first_lit["sim_time_s"] == confirmed_at
    assert pub.of(events.SIMULATION_RAW, healthy)[-1]["payload"]["mil_on"] is False
    # The truth goes beside the stream, never into it.
    labels = read_labels(settings.home)
    assert [(r["vehicle_id"], r["fault"], r["severity"], r["source"]) for r in labels] == [
        (sick, "misfire_cylinder_1", 1.0, "drive")
    ]
    assert all("misfire_cylinder_1" not in str(e["payload"]) for e in raw)


def test_bad_fault_commands_are_rejected_and_change_nothing(settings):
    from vehsim.labels import read_labels

    runtime, pub = _runtime(settings, duration_s=2.0)
    vid = runtime.vehicle_ids[0]
    runtime.submit_command({"type": "inject_fault", "value": "no_such_fault"}, vid)
    runtime.submit_command({"type": "inject_fault", "value": {"name": "vacuum_leak",
                                                               "severity": 1.5}}, vid)  # fmt: skip
    runtime.submit_command({"type": "inject_fault", "value": "vacuum_leak:-0.1"}, vid)
    runtime.submit_command({"type": "clear_fault", "value": "flat_battery"}, vid)
    runtime.submit_command({"type": "clear_dtc", "value": {"junk": 1}}, vid)  # value ignored
    params_before = runtime.sim.params.copy()
    runtime._apply_commands()
    np.testing.assert_array_equal(runtime.sim.params, params_before)
    rejected = pub.of(events.COMMAND_REJECTED, vid)
    assert [(e["payload"]["field"], e["payload"]["reason"]) for e in rejected] == [
        ("value", "unknown_fault"),
        ("value", "out_of_range"),
        ("value", "out_of_range"),
        ("value", "unknown_fault"),
    ]
    assert "no_such_fault" in rejected[0]["payload"]["message"]
    assert "severity must be from 0 to 1" in rejected[1]["payload"]["message"]
    assert runtime.sim.faults(0) == []
    assert read_labels(settings.home) == []
    assert [e["payload"]["type"] for e in pub.of(events.DRIVER_COMMAND)] == ["clear_dtc"]


def test_fault_commands_inject_clear_and_label_and_clear_dtc_turns_the_mil_off(settings):
    from vehsim.labels import read_labels

    runtime, pub = _runtime(settings, duration_s=140.0)
    vid = runtime.vehicle_ids[0]
    runtime.submit_command({"type": "inject_fault", "value": "misfire_cylinder_1:1@5"}, vid)
    runtime.run()
    assert runtime.sim.dtc(0)["confirmed"] == ["P0301"]
    # inject_fault's onset counts from the moment it applies (time 0 here).
    assert runtime.sim.faults(0) == [FaultSpec("misfire_cylinder_1", 1.0, 5.0)]

    # A scan tool's mode 04: codes cleared in the simulation, the MIL off in the next event.
    runtime.config.duration_s = 0.5
    runtime.submit_command({"type": "clear_dtc"}, vid)
    runtime.submit_command({"type": "clear_fault", "value": "all"}, vid)
    runtime.run()
    cleared = [e for e in pub.of(events.DIAGNOSTIC_DTC, vid) if e["payload"]["status"] == "cleared"]
    assert [e["payload"]["code"] for e in cleared] == ["P0301"]
    assert cleared[0]["payload"]["mil_on"] is False
    last_raw = pub.of(events.SIMULATION_RAW, vid)[-1]["payload"]
    assert last_raw["mil_on"] is False and last_raw["dtc_confirmed"] == []
    assert runtime.sim.faults(0) == []
    labels = read_labels(settings.home)
    assert [(r["fault"], r["severity"], r["onset_s"], r["source"]) for r in labels] == [
        ("misfire_cylinder_1", 1.0, 5.0, "command"),
        ("misfire_cylinder_1", 0.0, pytest.approx(140.0), "command"),
    ]
    seqs = [e["seq"] for e in pub.events if e["vehicle_id"] == vid]
    assert seqs == list(range(len(seqs)))


def test_a_scenario_becomes_a_drive_config(tmp_path):
    from vehsim.scenario import parse_scenario
    from vehsim.stream.runtime import config_from_scenario

    scenario = parse_scenario(
        {
            "vehicles": [
                {"vehicle": "compact-sedan", "faults": ["vacuum_leak:0.5@30"]},
                "compact-suv",
            ],
            "driver": "profile",
            "profile": "eco",
            "duration_s": 60,
            "ambient_c": 5,
            "start": "cold",
            "seed": 3,
            "faults": [{"name": "dragging_brake", "severity": 0.2}],
        }
    )
    config = config_from_scenario(scenario, speedup=math.inf, rate_hz=5.0)
    assert config.vehicles == ["compact-sedan", "compact-suv"]
    assert config.driver == "profile:eco" and config.duration_s == 60.0
    assert (config.ambient_temp_c, config.start, config.seed) == (5.0, "cold", 3)
    assert config.faults == [
        [FaultSpec("dragging_brake", 0.2, 0.0), FaultSpec("vacuum_leak", 0.5, 30.0)],
        [FaultSpec("dragging_brake", 0.2, 0.0)],
    ]
    assert config.label_source == "scenario" and config.rate_hz == 5.0


def test_drive_names_a_bad_fault_or_scenario_and_starts_nothing(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "VEHSIM_HOME": str(tmp_path / "home"),
           "VEHSIM_KAFKA_BOOTSTRAP": "127.0.0.1:1"}  # fmt: skip
    env.pop("VEHSIM_CONFIG", None)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "vehicles: [{vehicle: compact-sedan, faults: [{name: vacuum_leak, severity: 2}]}]"
    )

    def drive(*args):
        return subprocess.run(
            [sys.executable, "-m", "vehsim.cli", "drive", "--duration-s", "1", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    for args, message in [
        (("--fault", "no_such_fault"), "unknown fault 'no_such_fault'"),
        (("--fault", "vacuum_leak:1.5"), "severity must be from 0 to 1"),
        (("--scenario", str(bad)), "severity must be from 0 to 1"),
        (("--scenario", str(bad), "--fault", "vacuum_leak"), "drop --fault"),
    ]:
        result = drive(*args)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
    assert not (tmp_path / "home" / "spool").exists()  # nothing was published or spooled
