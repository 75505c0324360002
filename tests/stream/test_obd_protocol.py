"""The OBD-II port's protocol layers against hand-computed values: SAE J1979 encodings, SAE J2012
codes, ISO 15765-2 framing and the ELM327 command language (no sockets, no simulation)."""

from __future__ import annotations

import pytest

from vehsim.obd import isotp, j1979
from vehsim.obd.ecu import EngineEcu
from vehsim.obd.elm327 import Elm327


# --- SAE J1979 scaling (values worked by hand from the formulas in vehsim/obd/j1979.py) ----------
@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (j1979.engine_speed_bytes(728.0), b"\x0b\x60"),  # 728 x 4 = 2912 = 0x0B60
        (j1979.engine_speed_bytes(1726.25), b"\x1a\xf9"),  # 6905 = 0x1AF9
        (j1979.engine_speed_bytes(20000.0), b"\xff\xff"),  # clipped at 16383.75 rpm
        (j1979.temperature_byte(89.14), b"\x81"),  # 89 + 40 = 129
        (j1979.temperature_byte(-40.0), b"\x00"),
        (j1979.temperature_byte(300.0), b"\xff"),  # clipped at 215 °C
        (j1979.percent_byte(12.549), b"\x20"),  # 12.549 x 2.55 = 32.0
        (j1979.percent_byte(100.0), b"\xff"),
        (j1979.fuel_trim_byte(0.0), b"\x80"),  # 0 % is 128
        (j1979.fuel_trim_byte(25.0), b"\xa0"),  # 25 x 1.28 + 128 = 160
        (j1979.fuel_trim_byte(-100.0), b"\x00"),
        (j1979.speed_byte(88.4), b"\x58"),  # 88 km/h
        (j1979.seconds_word(129.0), b"\x00\x81"),
        (j1979.kilometres_word(300.4), b"\x01\x2c"),  # 300 km
        (j1979.fuel_rate_bytes(0.9), b"\x00\x12"),  # 0.9 x 20 = 18
        (j1979.monitor_status_bytes(True, 1), b"\x81\x07\x00\x00"),  # MIL on, one code
        (j1979.monitor_status_bytes(False, 0), b"\x00\x07\x00\x00"),
    ],
)
def test_pid_encodings_follow_j1979(encoded, expected):
    assert encoded == expected


@pytest.mark.parametrize(
    ("code", "raw"),
    [("P0301", b"\x03\x01"), ("P0128", b"\x01\x28"), ("P0217", b"\x02\x17"),
     ("C0123", b"\x41\x23"), ("B1234", b"\x92\x34"), ("U0100", b"\xc1\x00"),
     ("P2A0F", b"\x2a\x0f")],
)  # fmt: skip
def test_trouble_codes_are_two_bytes_per_j2012(code, raw):
    assert j1979.encode_dtc(code) == raw
    assert j1979.decode_dtc(raw) == code


def test_supported_pid_bitmap_marks_pids_and_the_next_range():
    # 01 -> A7, 04 -> A4, 05 -> A3, 0C -> B4, 0D -> B3, 20 (next range) -> D0
    bitmap = j1979.supported_bitmap({0x01, 0x04, 0x05, 0x0C, 0x0D, 0x21}, 0x00)
    assert bitmap == bytes((0b1001_1000, 0b0001_1000, 0x00, 0x01))
    assert j1979.supported_bitmap({0x21}, 0x20) == b"\x80\x00\x00\x00"


def test_vin_is_deterministic_well_formed_and_checked():
    # 49 CFR 565.15's worked example: 1M8GDM9A_KP042788 has check digit X.
    assert j1979.vin_check_digit("1M8GDM9A0KP042788") == "X"
    vin = j1979.vin_for("compact-sedan-000")
    assert vin == j1979.vin_for("compact-sedan-000") != j1979.vin_for("compact-sedan-001")
    assert len(vin) == 17 and not set(vin) & set("IOQ")
    assert vin[8] == j1979.vin_check_digit(vin)


# --- ISO 15765-2 framing ----------------------------------------------------------------------
def test_short_replies_are_one_padded_single_frame():
    (frame,) = isotp.segment(bytes.fromhex("410C0B60"))
    assert frame.can_id == 0x7E8
    assert frame.data == bytes.fromhex("04410C0B60000000")


def test_a_vin_reply_is_a_first_frame_and_two_consecutive_frames():
    payload = b"\x49\x02\x01" + b"1M8GDM9AXKP042788"  # 20 bytes
    frames = isotp.segment(payload)
    assert [f.data.hex().upper() for f in frames] == [
        "1014490201314D38",  # FF: length 0x014, then 6 bytes
        "2147444D3941584B",  # CF 1: 7 bytes
        "22503034323738" + "38",  # CF 2: the last 7 bytes
    ]
    assert isotp.reassemble(frames) == payload


def test_sequence_numbers_wrap_after_f():
    frames = isotp.segment(bytes(range(6 + 7 * 17)))
    assert [f.data[0] for f in frames[1:]][14:17] == [0x2F, 0x20, 0x21]
    assert isotp.reassemble(frames) == bytes(range(6 + 7 * 17))


# --- The ELM327 command language --------------------------------------------------------------
PAYLOAD = {
    "engine_on": True, "engine_rpm": 1726.25, "speed_sensor_kph": 88.4,
    "coolant_sensor_temp_c": 89.14, "ambient_temp_c": 20.0, "engine_load_pct": 12.549,
    "throttle_pct": 100.0, "fuel_trim_pct": 25.0, "engine_run_time_s": 129.0,
    "mil_distance_km": 300.4, "fuel_level_pct": 50.0, "oil_temp_c": 92.0, "fuel_rate_lph": 0.9,
    "mil_on": True, "dtc_confirmed": ["P0301", "P0128", "P0171"], "dtc_pending": ["P0500"],
}  # fmt: skip
FRAME = {"engine_speed_rpm": 728.0, "speed_sensor_mps": 10.0, "coolant_sensor_temp_c": 60.0,
         "fuel_trim_frac": 0.0, "throttle_frac": 0.2}  # fmt: skip


class StaticView:
    vehicle_id = "test-car-000"

    def __init__(self, payload=PAYLOAD, frame=("P0301", FRAME)):
        self._payload, self._frame, self.cleared = payload, frame, 0

    def payload(self):
        return self._payload

    def freeze_frame(self):
        return self._frame

    def clear_codes(self):
        self.cleared += 1

    def close(self):
        pass


def _session(view=None):
    elm = Elm327(EngineEcu(view or StaticView()))
    return elm, lambda line: elm.feed(line.encode() + b"\r").decode()


def test_python_obds_start_up_dialogue():
    elm, say = _session()
    assert say("ATZ") == "ATZ\r\rELM327 v1.5\r\r>"  # echo is on after a reset
    assert say("ATE0") == "ATE0\rOK\r\r>"
    assert say("ATH1") == "OK\r\r>"
    assert say("ATL0") == "OK\r\r>"
    assert say("AT RV") == "14.2V\r\r>"  # engine running: charging voltage
    assert say("ATSP0") == "OK\r\r>"
    # 01 04 05 06 07 | 0C 0D 0F | 11 | 1C 1F 20 (and the next range): 9E 1A 80 13
    assert say("0100") == "SEARCHING...\r7E8 06 41 00 9E 1A 80 13 00\r\r>"
    assert say("ATDPN") == "A6\r\r>"
    assert say("ATDP") == "AUTO, ISO 15765-4 (CAN 11/500)\r\r>"
    assert say("AT SH 7E0 ") == "OK\r\r>"
    assert say("010C") == "7E8 04 41 0C 1A F9 00 00 00\r\r>"


def test_headers_spaces_linefeeds_and_auto_formatting():
    elm, say = _session()
    say("ATE0")
    assert say("010C") == "SEARCHING...\r41 0C 1A F9\r\r>"
    assert say("0105") == "41 05 81\r\r>"
    assert say("ATS0") == "OK\r\r>"
    assert say("0105") == "410581\r\r>"
    assert say("ATH1") == "OK\r\r>"
    assert say("0105") == "7E80341058100000000\r\r>"
    assert say("ATD1") == "OK\r\r>"
    assert say("0105") == "7E880341058100000000\r\r>"
    assert say("ATS1") == "OK\r\r>"
    assert say("ATD0") == "OK\r\r>"
    assert say("ATL1") == "OK\r\n\r\n>"
    assert say("0105") == "7E8 03 41 05 81 00 00 00 00\r\n\r\n>"
    assert say("") == "7E8 03 41 05 81 00 00 00 00\r\n\r\n>"  # an empty line repeats
    assert say("ATH0") == "OK\r\n\r\n>"
    assert say("ATCAF0") == "OK\r\n\r\n>"
    assert say("0105") == "03 41 05 81 00 00 00 00\r\n\r\n>"


def test_multi_frame_replies_with_and_without_headers():
    elm, say = _session()
    say("ATE0")
    say("ATSP6")
    vin = j1979.vin_for("test-car-000").encode()
    body = b"\x49\x02\x01" + vin
    assert say("0902") == (
        "014\r"
        f"0: {' '.join(f'{b:02X}' for b in body[:6])}\r"
        f"1: {' '.join(f'{b:02X}' for b in body[6:13])}\r"
        f"2: {' '.join(f'{b:02X}' for b in body[13:])}\r\r>"
    )
    say("ATH1")
    # Mode 03 with three codes is 8 bytes: a first frame and one consecutive frame.
    assert say("03") == "7E8 10 08 43 03 03 01 01 28\r7E8 21 01 71 00 00 00 00 00\r\r>"
    assert say("07") == "7E8 04 47 01 05 00 00 00 00\r\r>"


def test_modes_01_02_04_09_answer_from_the_view():
    view = StaticView()
    elm, say = _session(view)
    say("ATE0")
    say("ATSP6")
    for pid, data in [("01", "83 07 00 00"), ("04", "20"), ("05", "81"), ("06", "80"),
                      ("07", "A0"), ("0D", "58"), ("0F", "3C"), ("11", "FF"), ("1F", "00 81"),
                      ("21", "01 2C"), ("2F", "80"), ("5C", "84"), ("5E", "00 12")]:  # fmt: skip
        assert say(f"01{pid}") == f"41 {pid} {data}\r\r>"
    assert say("0202") == "42 02 03 01\r\r>"  # the code that stored the frame
    assert say("020C00") == "42 0C 00 0B 60\r\r>"  # J1979: frame number echoed
    assert say("020C") == "42 0C 0B 60\r\r>"  # python-OBD's form: frame 0, no echo
    assert say("020C01") == "NO DATA\r\r>"  # only frame 0 is stored
    assert say("0199") == "NO DATA\r\r>"
    assert say("04") == "44\r\r>" and view.cleared == 1
    assert say("0900") == "49 00 40 40 00 00\r\r>"  # 02 VIN and 0A ECU name
    assert say("ATSH7E5") == "OK\r\r>"
    assert say("0105") == "NO DATA\r\r>"  # no ECU #6 on this bus


def test_no_car_unknown_commands_and_other_protocols():
    view = StaticView(payload=None)
    elm, say = _session(view)
    say("ATE0")
    assert say("0100") == "SEARCHING...\rUNABLE TO CONNECT\r\r>"
    assert say("ATDPN") == "0\r\r>"
    assert say("AT RV") == "12.6V\r\r>"  # engine off: a battery at rest
    assert say("ATXYZ") == "?\r\r>"
    assert say("01 0G") == "?\r\r>"
    assert say("ATSP3") == "OK\r\r>"
    view._payload = PAYLOAD
    assert say("0100") == "UNABLE TO CONNECT\r\r>"  # the car speaks CAN only
    assert say("ATSP6") == "OK\r\r>"
    assert say("01 0C 1") == "41 0C 1A F9\r\r>"  # a trailing digit: responses to wait for
    assert say("AT@1") == "vehsim simulated OBD-II port\r\r>"
    assert say("ATI") == "ELM327 v1.5\r\r>"
    assert say("ATST FF") == "OK\r\r>"  # timing: accepted, nothing to tune


def test_partial_lines_wait_for_their_carriage_return():
    elm, _ = _session()
    assert elm.feed(b"AT") == b""
    assert elm.feed(b"E0\rAT") == b"ATE0\rOK\r\r>"
    assert elm.feed(b"I\r") == b"ELM327 v1.5\r\r>"
