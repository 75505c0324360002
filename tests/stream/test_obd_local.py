"""python-OBD (the real scan-tool library, over pyserial's socket:// URL) reads a misfiring car
simulated in this process through ``vehsim.obd.serve_simulator``."""

from __future__ import annotations

import pytest

import vehsim
from vehsim.faults import FaultSpec
from vehsim.obd import j1979
from vehsim.telemetry import raw_payload

obd = pytest.importorskip("obd", reason="python-OBD is a test dependency ([dev] extra)")


@pytest.fixture(scope="module")
def misfiring_car():
    sim = vehsim.Simulator([vehsim.load_vehicle("compact-sedan")], start="hot")
    sim.set_driver(0, "cycle:udds")
    sim.inject_fault(0, FaultSpec("misfire_cylinder_1", 1.0, 0.0))
    while not sim.dtc(0)["mil_on"]:
        sim.advance(1.0)  # the monitors run after every advance
    sim.advance(3.0)
    return sim


def test_python_obd_reads_live_data_codes_freeze_frame_vin_and_clears(misfiring_car):
    sim = misfiring_car
    with vehsim.obd.serve_simulator(sim) as port:
        connection = obd.OBD(port.url, baudrate=38400, fast=False, timeout=5)
        try:
            assert connection.is_connected(), connection.status()
            assert connection.protocol_id() == "6"
            now = raw_payload(sim.snapshot(), 0)  # the simulator does not move meanwhile

            def read(name):
                return connection.query(obd.commands[name]).value.magnitude

            # J1979 resolution: 0.25 rpm, 1 km/h, 1 °C, 100/255 %.
            assert read("RPM") == pytest.approx(now["engine_rpm"], abs=0.125)
            assert read("SPEED") == pytest.approx(now["speed_sensor_kph"], abs=0.5)
            assert read("COOLANT_TEMP") == pytest.approx(now["coolant_sensor_temp_c"], abs=0.5)
            assert read("ENGINE_LOAD") == pytest.approx(now["engine_load_pct"], abs=0.2)
            assert read("THROTTLE_POS") == pytest.approx(now["throttle_pct"], abs=0.2)
            assert read("FUEL_LEVEL") == pytest.approx(now["fuel_level_pct"], abs=0.2)
            assert read("RUN_TIME") == pytest.approx(now["engine_run_time_s"], abs=0.5)
            assert read("INTAKE_TEMP") == pytest.approx(now["ambient_temp_c"], abs=0.5)
            status = connection.query(obd.commands.STATUS).value
            assert status.MIL is True and status.DTC_count == 1
            assert connection.query(obd.commands.GET_DTC).value == [
                ("P0301", "Cylinder 1 Misfire Detected")
            ]
            frame = sim.dtc(0)["freeze_frame"]
            assert read("DTC_RPM") == pytest.approx(frame["engine_speed_rpm"], abs=0.125)
            vin = connection.query(obd.commands.VIN).value
            assert bytes(vin).decode() == j1979.vin_for("compact-sedan-000")

            connection.query(obd.commands.CLEAR_DTC)
            assert sim.dtc(0) == {
                "mil_on": False, "confirmed": [], "pending": [], "freeze_frame": None,
                "freeze_frame_code": None,
            }  # fmt: skip
            assert connection.query(obd.commands.GET_DTC).value == []
            assert connection.query(obd.commands.STATUS).value.MIL is False
            cleared = sim.drain_dtc_changes()[-1]
            assert (cleared.code, cleared.status, cleared.mil_on) == ("P0301", "cleared", False)
        finally:
            connection.close()


def test_two_clients_have_their_own_adapter_settings(misfiring_car):
    import socket

    with vehsim.obd.serve_simulator(misfiring_car) as port:
        with socket.create_connection(("127.0.0.1", port.port), timeout=5) as a:
            with socket.create_connection(("127.0.0.1", port.port), timeout=5) as b:

                def say(sock, line):
                    sock.sendall(line.encode() + b"\r")
                    out = b""
                    while not out.endswith(b">"):
                        out += sock.recv(1024)
                    return out.decode()

                assert say(a, "ATE0") == "ATE0\rOK\r\r>"
                assert say(b, "ATI") == "ATI\rELM327 v1.5\r\r>"  # b still echoes
                assert say(a, "ATI") == "ELM327 v1.5\r\r>"
