"""Acceptance (issue 13, point 3): a misfiring car of a live run on a real broker, python-OBD on
its OBD-II port: live data matching the telemetry, the misfire code through GET_DTC, CLEAR_DTC,
and the MIL off in the next telemetry event."""

from __future__ import annotations

import math
import threading
import uuid

import pytest

from vehsim import events
from vehsim.faults import FaultSpec
from vehsim.stream.commands import wait_for

obd = pytest.importorskip("obd", reason="python-OBD is a test dependency ([dev] extra)")

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RATE_HZ = 10.0
PERIOD_S = 1.0 / RATE_HZ


@pytest.fixture
def stream_settings(kafka_broker, tmp_path, monkeypatch):
    """Private VEHSIM_HOME and topics (by prefix) on the session broker."""
    from vehsim.config import load_settings

    monkeypatch.setenv("VEHSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VEHSIM_TOPIC_PREFIX", f"t{uuid.uuid4().hex[:8]}.")
    monkeypatch.setenv("VEHSIM_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.delenv("VEHSIM_CONFIG", raising=False)
    return load_settings()


def test_python_obd_reads_a_live_misfiring_car_and_clears_its_code(stream_settings):
    from vehsim.obd import serve_live
    from vehsim.stream.broker import ensure_topics
    from vehsim.stream.follow import TelemetryFollower
    from vehsim.stream.runtime import DriveConfig, DriveRuntime

    ensure_topics(stream_settings)
    config = DriveConfig(
        vehicles=["compact-sedan"], driver="cycle:udds", start="hot", speedup=math.inf,
        rate_hz=RATE_HZ, faults=[[FaultSpec("misfire_cylinder_1", 1.0, 0.0)]],
    )  # fmt: skip
    runtime = DriveRuntime(config, stream_settings)
    vid = runtime.vehicle_ids[0]
    seen = TelemetryFollower(stream_settings, vehicle_ids=[vid], buffer_size=100_000).start()
    port = serve_live(vid, settings=stream_settings)
    assert port.view.ready
    driving = threading.Thread(target=runtime.run, daemon=True)
    driving.start()
    connection = None
    try:
        assert wait_for(lambda: runtime.commands_ready, 30)

        def raw_events():
            return [e for e in seen.events_since(0)[1] if e["event_type"] == events.SIMULATION_RAW]

        # As fast as possible until the misfire is confirmed, then in real time for reading.
        assert wait_for(lambda: any(e["payload"]["mil_on"] for e in raw_events()), 240)
        runtime.set_speedup(1.0)
        assert wait_for(lambda: port.view.payload() is not None, 30)

        connection = obd.OBD(port.url, baudrate=38400, fast=False, timeout=5)
        assert connection.is_connected(), connection.status()

        def read_against_telemetry(name, field, tolerance):
            before = seen.latest()[vid]["sim_time_s"]
            value = connection.query(obd.commands[name]).value.magnitude
            assert wait_for(lambda: seen.latest()[vid]["sim_time_s"] > before, 10)
            after = seen.latest()[vid]["sim_time_s"]
            window = [
                e["payload"][field]
                for e in raw_events()
                if before - PERIOD_S - 1e-6 <= e["sim_time_s"] <= after + 1e-6
            ]
            assert any(abs(value - v) <= tolerance for v in window), (name, value, window)

        # J1979 resolution: 0.25 rpm, 1 km/h, 1 °C.
        read_against_telemetry("RPM", "engine_rpm", 0.125)
        read_against_telemetry("SPEED", "speed_sensor_kph", 0.5)
        read_against_telemetry("COOLANT_TEMP", "coolant_sensor_temp_c", 0.5)

        assert connection.query(obd.commands.STATUS).value.MIL is True
        assert connection.query(obd.commands.GET_DTC).value == [
            ("P0301", "Cylinder 1 Misfire Detected")
        ]
        connection.query(obd.commands.CLEAR_DTC)
        assert connection.query(obd.commands.GET_DTC).value == []

        def clear_echo():
            return [
                e
                for e in seen.events_since(0)[1]
                if e["event_type"] == events.DRIVER_COMMAND and e["payload"]["type"] == "clear_dtc"
            ]

        assert wait_for(lambda: clear_echo(), 30)
        echo_seq = clear_echo()[0]["seq"]
        assert wait_for(lambda: any(e["seq"] > echo_seq for e in raw_events()), 30)
        next_raw = min((e for e in raw_events() if e["seq"] > echo_seq), key=lambda e: e["seq"])
        assert next_raw["payload"]["mil_on"] is False
        assert next_raw["payload"]["dtc_confirmed"] == []
        cleared = [
            e
            for e in seen.events_since(0)[1]
            if e["event_type"] == events.DIAGNOSTIC_DTC and e["payload"]["status"] == "cleared"
        ]
        assert [e["payload"]["code"] for e in cleared] == ["P0301"]
        assert runtime.sim.dtc(0)["confirmed"] == []
    finally:
        if connection is not None:
            connection.close()
        runtime.stop()
        driving.join(60)
        port.close()
        seen.close()
