"""SAE J1979 (ISO 15031-5) services of a simulated engine ECU: PID encodings, trouble codes, VIN.

Every encoder turns an ECU reading in user units into the data bytes (``A``, ``B``, ...) of
the response, with the scaling of SAE J1979 (the same as ISO 15031-5 and the public PID tables
that follow them):

====  =======================================  =====  ==================================
PID   quantity                                 bytes  scaling
====  =======================================  =====  ==================================
00    PIDs supported 01-20 (20: 21-40, ...)    4      bit ``A7`` = PID 01 ... ``D0`` = next range
01    monitor status since codes cleared       4      A7 MIL, A6..A0 number of confirmed codes;
                                                      B: continuous monitors supported/complete
04    calculated load value                    1      A = load % x 255 / 100
05    engine coolant temperature               1      A = T [°C] + 40
06    short-term fuel trim, bank 1             1      A = trim % x 128 / 100 + 128
07    long-term fuel trim, bank 1              1      (as 06)
0C    engine speed                             2      256 A + B = rpm x 4
0D    vehicle speed                            1      A = km/h
0F    intake air temperature                   1      A = T [°C] + 40
11    absolute throttle position               1      A = % x 255 / 100
1C    OBD requirements the vehicle meets       1      enumerated (01: OBD II as defined by CARB)
1F    run time since engine start              2      256 A + B = s
21    distance travelled with the MIL on       2      256 A + B = km
2F    fuel tank level input                    1      A = % x 255 / 100
46    ambient air temperature                  1      A = T [°C] + 40
51    fuel type                                1      enumerated (01: gasoline)
5C    engine oil temperature                   1      A = T [°C] + 40
5E    engine fuel rate                         2      256 A + B = L/h x 20
====  =======================================  =====  ==================================

Values are rounded to the nearest step and clipped to the range the bytes can carry, as an ECU
does. Trouble codes are two bytes (SAE J2012 / J1979): the top two bits give the system (P, C,
B, U), the next two the first digit, then three hex digits.

The readings come from the ``simulation.raw`` payload (``vehsim.telemetry``): the controller's
*sensor* values (``coolant_sensor_temp_c``, ``speed_sensor_kph``), so a sensor fault shows on
the scan tool as it would on a real car. The simulated fuel control has one trim
(``fuel_trim_pct``): it is reported as the long-term (learned) trim with the short-term trim
at 0, so that their sum, the total correction J1979 defines, is the simulation's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

#: Service (mode) identifiers and the positive-response offset (SAE J1979: response = request + 0x40).
SERVICE_CURRENT_DATA = 0x01
SERVICE_FREEZE_FRAME = 0x02
SERVICE_STORED_CODES = 0x03
SERVICE_CLEAR_CODES = 0x04
SERVICE_PENDING_CODES = 0x07
SERVICE_VEHICLE_INFO = 0x09
POSITIVE_RESPONSE_OFFSET = 0x40

#: Offset of the one-byte temperature PIDs (05, 0F, 46, 5C) [°C]: A = T + 40.
TEMPERATURE_OFFSET_C = 40.0
#: PID 1C value: "OBD II as defined by the CARB" (J1979 enumeration).
OBD_STANDARD_CARB_OBD2 = 0x01
#: PID 51 value: gasoline (J1979 fuel type coding).
FUEL_TYPE_GASOLINE = 0x01
#: PID 01 byte B: spark ignition (bit 3 clear) with the three continuous monitors (misfire,
#: fuel system, comprehensive components) supported (bits 0-2) and complete (bits 4-6 clear);
#: vehsim's monitors of these kinds run continuously.
CONTINUOUS_MONITORS_SUPPORTED = 0b0000_0111
#: Largest number of codes PID 01 byte A can carry (7 bits).
MAX_CODE_COUNT = 0x7F


def _byte(value: float) -> int:
    return int(min(max(round(value), 0), 0xFF))


def _word(value: float) -> bytes:
    number = int(min(max(round(value), 0), 0xFFFF))
    return bytes((number >> 8, number & 0xFF))


def percent_byte(pct: float) -> bytes:
    """0-100 % as one byte, A = pct x 255 / 100 (PIDs 04, 11, 2F)."""
    return bytes((_byte(pct * 255.0 / 100.0),))


def temperature_byte(temp_c: float) -> bytes:
    """-40..215 °C as one byte, A = T + 40 (PIDs 05, 0F, 46, 5C)."""
    return bytes((_byte(temp_c + TEMPERATURE_OFFSET_C),))


def fuel_trim_byte(trim_pct: float) -> bytes:
    """-100..99.2 % as one byte, A = trim x 128 / 100 + 128 (PIDs 06-09)."""
    return bytes((_byte(trim_pct * 128.0 / 100.0 + 128.0),))


def engine_speed_bytes(rpm: float) -> bytes:
    """0..16383.75 rpm as two bytes, 256 A + B = rpm x 4 (PID 0C)."""
    return _word(rpm * 4.0)


def speed_byte(speed_kph: float) -> bytes:
    """0..255 km/h as one byte (PID 0D)."""
    return bytes((_byte(speed_kph),))


def seconds_word(seconds: float) -> bytes:
    """0..65535 s as two bytes (PID 1F)."""
    return _word(seconds)


def kilometres_word(km: float) -> bytes:
    """0..65535 km as two bytes (PIDs 21, 31)."""
    return _word(km)


def fuel_rate_bytes(lph: float) -> bytes:
    """0..3276.75 L/h as two bytes, 256 A + B = L/h x 20 (PID 5E)."""
    return _word(lph * 20.0)


def monitor_status_bytes(mil_on: bool, n_confirmed: int) -> bytes:
    """PID 01: A = MIL (bit 7) and the number of confirmed codes; B, C, D the monitors."""
    a = (0x80 if mil_on else 0x00) | min(n_confirmed, MAX_CODE_COUNT)
    return bytes((a, CONTINUOUS_MONITORS_SUPPORTED, 0x00, 0x00))


_SYSTEMS = "PCBU"


def encode_dtc(code: str) -> bytes:
    """``"P0301"`` -> ``b"\\x03\\x01"`` (SAE J2012 code as two bytes, J1979 mode 03)."""
    code = code.upper()
    if len(code) != 5 or code[0] not in _SYSTEMS or code[1] not in "0123":
        raise ValueError(f"not an SAE J2012 trouble code: {code!r}")
    rest = int(code[2:], 16)
    first = (_SYSTEMS.index(code[0]) << 6) | (int(code[1]) << 4) | (rest >> 8)
    return bytes((first, rest & 0xFF))


def decode_dtc(data: bytes) -> str:
    """Two bytes -> ``"P0301"`` (the inverse of :func:`encode_dtc`)."""
    a, b = data[0], data[1]
    return f"{_SYSTEMS[a >> 6]}{(a >> 4) & 0x3}{a & 0xF:X}{b:02X}"


def supported_bitmap(pids: set[int], base: int) -> bytes:
    """The 4-byte "PIDs supported [base+1 .. base+32]" answer: bit 7 of A is PID base+1, bit 0
    of D is PID base+32, which is set when any PID above the range is supported."""
    bits = 0
    for pid in pids:
        if base < pid <= base + 32:
            bits |= 1 << (32 - (pid - base))
    if any(pid > base + 32 for pid in pids):
        bits |= 1
    return bits.to_bytes(4, "big")


# Mode 01 ---------------------------------------------------------------------------------------
Encoder = Callable[[Mapping[str, Any]], bytes]

#: Mode 01 PIDs other than the bitmaps: PID -> (what it is, encoder of a telemetry payload).
CURRENT_DATA_PIDS: dict[int, tuple[str, Encoder]] = {
    0x01: (
        "monitor status since codes cleared",
        lambda r: monitor_status_bytes(bool(r["mil_on"]), len(r["dtc_confirmed"])),
    ),
    0x04: ("calculated load value", lambda r: percent_byte(r["engine_load_pct"])),
    0x05: ("engine coolant temperature", lambda r: temperature_byte(r["coolant_sensor_temp_c"])),
    0x06: ("short-term fuel trim bank 1", lambda r: fuel_trim_byte(0.0)),
    0x07: ("long-term fuel trim bank 1", lambda r: fuel_trim_byte(r["fuel_trim_pct"])),
    0x0C: ("engine speed", lambda r: engine_speed_bytes(r["engine_rpm"])),
    0x0D: ("vehicle speed", lambda r: speed_byte(r["speed_sensor_kph"])),
    # No intake air temperature sensor is modelled: the intake draws ambient air.
    0x0F: ("intake air temperature", lambda r: temperature_byte(r["ambient_temp_c"])),
    0x11: ("absolute throttle position", lambda r: percent_byte(r["throttle_pct"])),
    0x1C: ("OBD requirements", lambda r: bytes((OBD_STANDARD_CARB_OBD2,))),
    0x1F: ("run time since engine start", lambda r: seconds_word(r["engine_run_time_s"])),
    0x21: ("distance travelled with MIL on", lambda r: kilometres_word(r["mil_distance_km"])),
    0x2F: ("fuel tank level input", lambda r: percent_byte(r["fuel_level_pct"])),
    0x46: ("ambient air temperature", lambda r: temperature_byte(r["ambient_temp_c"])),
    0x51: ("fuel type", lambda r: bytes((FUEL_TYPE_GASOLINE,))),
    0x5C: ("engine oil temperature", lambda r: temperature_byte(r["oil_temp_c"])),
    0x5E: ("engine fuel rate", lambda r: fuel_rate_bytes(r["fuel_rate_lph"])),
}

#: The bitmap PIDs (00, 20, 40, ...) a client walks to learn what is supported.
BITMAP_PIDS = (0x00, 0x20, 0x40)


# Mode 02 (freeze frame) -------------------------------------------------------------------------
#: Freeze-frame PIDs (J1979 mode 02): PID -> encoder of a ``vehsim.diagnostics`` freeze frame
#: (SI-named values). PID 02 is the code that stored the frame (0000: no frame).
FREEZE_FRAME_PIDS: dict[int, Encoder] = {
    0x05: lambda f: temperature_byte(f["coolant_sensor_temp_c"]),
    0x06: lambda f: fuel_trim_byte(0.0),
    0x07: lambda f: fuel_trim_byte(f["fuel_trim_frac"] * 100.0),
    0x0C: lambda f: engine_speed_bytes(f["engine_speed_rpm"]),
    0x0D: lambda f: speed_byte(f["speed_sensor_mps"] * 3.6),
    0x11: lambda f: percent_byte(f["throttle_frac"] * 100.0),
}


# Mode 09 (vehicle information) --------------------------------------------------------------------
#: ECU name of mode 09 PID 0A (J1979: 20 bytes: a 4-byte acronym, "-", a 15-byte name; each
#: part padded with zero bytes).
ECU_NAME = b"ECM\x00-EngineControl\x00\x00"
VIN_LENGTH = 17
#: VIN characters (ISO 3779: no I, O or Q) and their values for the check digit (49 CFR 565.15).
_VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
#: World manufacturer identifier of simulated cars (made up: "9" region, "VS" for vehsim).
SIMULATED_WMI = "9VS"
#: Model year code (position 10; 49 CFR 565.15: "T" is 2026) and plant code (position 11).
MODEL_YEAR_CODE = "T"
PLANT_CODE = "S"


def vin_check_digit(vin: str) -> str:
    """The North American check digit (position 9) of a 17-character VIN (49 CFR 565.15)."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_for(vehicle_id: str) -> str:
    """A deterministic, well-formed 17-character VIN for a simulated vehicle id.

    WMI :data:`SIMULATED_WMI`, five VDS characters and a six-digit serial drawn from the SHA-256
    of the id, model year and plant codes, and a valid check digit: the same id always gives
    the same VIN, different ids (almost surely) different VINs.
    """
    digest = hashlib.sha256(vehicle_id.encode("utf-8")).digest()
    vds = "".join(_VIN_CHARS[b % len(_VIN_CHARS)] for b in digest[:5])
    serial = f"{int.from_bytes(digest[5:9], 'big') % 1_000_000:06d}"
    draft = f"{SIMULATED_WMI}{vds}0{MODEL_YEAR_CODE}{PLANT_CODE}{serial}"
    return draft[:8] + vin_check_digit(draft) + draft[9:]
