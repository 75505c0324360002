"""The ELM327 adapter protocol: AT commands and OBD requests as text lines, CAN replies as text.

A scan tool talks to an ELM327 over a serial line (here: a TCP socket). It sends one command
per line, ended by a carriage return, and reads the answer up to the ``>`` prompt. Behaviour
follows the ELM327 data sheet (Elm Electronics, ELM327DS):

- Characters are case-insensitive and spaces are ignored; an empty line repeats the last
  command; an unknown command is answered ``?``.
- ``AT`` commands set the adapter: ``Z``/``WS`` (reset: prints the version), ``D`` (defaults),
  ``E0/E1`` echo, ``L0/L1`` line feeds, ``S0/S1`` spaces, ``H0/H1`` headers, ``D0/D1`` data
  length with headers, ``CAF0/CAF1`` CAN auto formatting, ``SP h``/``TP h`` protocol (``0``
  auto), ``DP``/``DPN`` describe the protocol, ``SH hhh`` request header, ``RV`` battery
  voltage, ``I`` version, ``@1`` description, ``PC`` protocol close. Timing, filter and
  flow-control settings (``ST``, ``AT0-2``, ``CFC``, ``CRA``, ...) are accepted and have no
  effect: the simulated bus has no timing to tune.
- Any other line of hex digits is an OBD request (a single trailing digit is the number of
  responses to wait for, as the ELM327 allows); the adapter sends it on ISO 15765-4 CAN 11-bit
  500 kbit/s (protocol 6), the only one this car speaks, and prints each reply frame: with
  headers (``H1``) the identifier and all 8 data bytes as received, PCI byte included; without
  headers and with auto formatting, the data only, a multi-frame reply as its total length
  followed by numbered segments (``0:``, ``1:``, ...). The first request after an automatic
  protocol selection prints ``SEARCHING...`` first. ``NO DATA``: the ECU did not answer;
  ``UNABLE TO CONNECT``: no car (no telemetry yet) or a protocol the car does not speak.

The interpreter is pure (no I/O): :meth:`Elm327.feed` takes received bytes and returns the
bytes to send back, so it is tested without sockets (``vehsim.obd.server`` adds them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vehsim.obd import isotp
from vehsim.obd.ecu import EngineEcu, NoVehicle

#: What ``AT I`` and ``AT Z`` print: the ELM327 version this port behaves like.
VERSION = "ELM327 v1.5"
#: What ``AT @1`` prints (the device description).
DESCRIPTION = "vehsim simulated OBD-II port"
PROMPT = ">"
#: Protocol 6 (ISO 15765-4 CAN, 11-bit identifiers, 500 kbit/s): the one the car speaks.
CAN_11BIT_500K = "6"
PROTOCOL_NAMES = {CAN_11BIT_500K: "ISO 15765-4 (CAN 11/500)"}
#: Battery voltage at the OBD connector's pin 16 [V]: a charged lead-acid battery at rest, and
#: the alternator's charging voltage with the engine running (Bosch Automotive Handbook, starter
#: batteries and alternators: 12.6-12.7 V at rest, 13.8-14.4 V charging).
BATTERY_REST_V = 12.6
BATTERY_CHARGING_V = 14.2
#: AT commands accepted without effect (their first letters after ``AT``).
_IGNORED_AT = (
    "AT0", "AT1", "AT2", "ST", "CFC", "CRA", "CF", "CM", "FC", "AL", "NL", "M0", "M1",
    "R0", "R1", "V0", "V1", "IB", "SW", "WM", "KW", "SI", "FI", "BI", "CP", "IIA", "SR",
    "LP", "CEA", "CSM", "JE", "JS", "PB", "TA",
)  # fmt: skip
_HEX = re.compile(r"^[0-9A-F]+$")


@dataclass
class Settings:
    """The adapter's settings (ELM327 defaults)."""

    echo: bool = True
    linefeeds: bool = False
    spaces: bool = True
    headers: bool = False
    dlc: bool = False
    auto_format: bool = True
    protocol: str = "0"  # "0" automatic, else a protocol number, "A6": auto, trying 6 first
    header_id: int = isotp.FUNCTIONAL_REQUEST_ID


class Elm327:
    """One adapter session: its settings and the ECU it reaches.

    Args:
        ecu: the engine ECU of the car on the bus.
    """

    def __init__(self, ecu: EngineEcu):
        self.ecu = ecu
        self.settings = Settings()
        self.connected = False  # a protocol has been found (after SEARCHING...)
        self._last = ""
        self._buffer = bytearray()

    # -- bytes in, bytes out ------------------------------------------------------------------
    @property
    def pending_bytes(self) -> int:
        """Bytes received after the last carriage return (a command still being typed)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> bytes:
        """Take received bytes; return the answer to every command they completed."""
        out = bytearray()
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r")
            if end < 0:
                break
            raw = bytes(self._buffer[:end]).replace(b"\n", b"").replace(b"\x00", b"")
            del self._buffer[: end + 1]
            out += self.execute(raw.decode("ascii", "replace")).encode("ascii", "replace")
        return bytes(out)

    def execute(self, line: str) -> str:
        """The full answer to one command line: echo, reply lines, blank line, prompt."""
        echo = f"{line}\r" if self.settings.echo else ""
        command = re.sub(r"\s+", "", line).upper()
        if not command:
            command = self._last
        else:
            self._last = command
        lines = self._command(command) if command else []
        eol = "\r\n" if self.settings.linefeeds else "\r"
        return echo + "".join(f"{text}{eol}" for text in lines) + eol + PROMPT

    # -- commands -----------------------------------------------------------------------------
    def _command(self, command: str) -> list[str]:
        if command.startswith("AT"):
            return self._at(command[2:])
        if not _HEX.match(command):
            return ["?"]
        if len(command) % 2:  # a trailing digit: how many responses to wait for
            command = command[:-1]
        if not command:
            return ["?"]
        return self._request(bytes.fromhex(command))

    def _at(self, cmd: str) -> list[str]:
        s = self.settings
        toggles = {"E": "echo", "L": "linefeeds", "S": "spaces", "H": "headers", "D": "dlc"}
        if cmd in ("Z", "WS"):
            self.settings = Settings()
            self.connected = False
            return ["", VERSION]
        if cmd == "D":
            echo = s.echo  # AT D restores the defaults but keeps the echo as it is
            self.settings = Settings(echo=echo)
            self.connected = False
            return ["OK"]
        if len(cmd) == 2 and cmd[0] in toggles and cmd[1] in "01":
            setattr(s, toggles[cmd[0]], cmd[1] == "1")
            return ["OK"]
        if cmd in ("CAF0", "CAF1"):
            s.auto_format = cmd == "CAF1"
            return ["OK"]
        if cmd == "I":
            return [VERSION]
        if cmd == "@1":
            return [DESCRIPTION]
        if cmd == "RV":
            return [f"{self._battery_v():.1f}V"]
        if cmd[:2] in ("SP", "TP") and re.fullmatch(r"A?[0-9A-C]", cmd[2:]):
            s.protocol = cmd[2:]
            self.connected = False
            return ["OK"]
        if cmd == "DP":
            name = PROTOCOL_NAMES.get(self._active_protocol() or "", "AUTO")
            return [f"AUTO, {name}" if self._automatic() and self.connected else name]
        if cmd == "DPN":
            active = self._active_protocol() or "0"
            return [f"A{active}" if self._automatic() and self.connected else active]
        if cmd.startswith("SH") and re.fullmatch(r"[0-9A-F]{3}|[0-9A-F]{6}|[0-9A-F]{8}", cmd[2:]):
            s.header_id = int(cmd[2:], 16)
            return ["OK"]
        if cmd == "PC":
            self.connected = False
            return ["OK"]
        if cmd.startswith(_IGNORED_AT):
            return ["OK"]
        return ["?"]

    def _automatic(self) -> bool:
        return self.settings.protocol in ("0",) or self.settings.protocol.startswith("A")

    def _active_protocol(self) -> str | None:
        """The protocol in use: 6 once found automatically, else the one set (None: none)."""
        chosen = self.settings.protocol.lstrip("A")
        if self._automatic():
            return CAN_11BIT_500K if self.connected else (None if chosen == "0" else chosen)
        return chosen

    def _battery_v(self) -> float:
        try:
            payload = self.ecu.view.payload()
        except Exception:
            payload = None
        return BATTERY_CHARGING_V if payload and payload.get("engine_on") else BATTERY_REST_V

    def _request(self, data: bytes) -> list[str]:
        s = self.settings
        searching = not self.connected and self._automatic()
        if not searching and self._active_protocol() != CAN_11BIT_500K:
            return ["UNABLE TO CONNECT"]
        prefix = ["SEARCHING..."] if searching else []
        try:
            answer = self.ecu.request(data)
        except NoVehicle:
            return [*prefix, "UNABLE TO CONNECT"]
        self.connected = True
        addressed = s.header_id in (isotp.FUNCTIONAL_REQUEST_ID, isotp.ENGINE_REQUEST_ID)
        if answer is None or not addressed:
            return [*prefix, "NO DATA"]
        return prefix + self._format(isotp.segment(answer))

    def _format(self, frames: list[isotp.Frame]) -> list[str]:
        s = self.settings
        sep = " " if s.spaces else ""

        def hexes(data: bytes) -> str:
            return sep.join(f"{b:02X}" for b in data)

        if s.headers:
            head = f"{frames[0].can_id:03X}" + (f"{sep}{isotp.FRAME_BYTES}" if s.dlc else "")
            return [f"{head}{sep}{hexes(f.data)}" for f in frames]
        if not s.auto_format:
            return [hexes(f.data) for f in frames]
        payload = isotp.reassemble(frames)
        if len(frames) == 1:
            return [hexes(payload)]
        lines = [f"{len(payload):03X}"]
        position = 0
        for k, f in enumerate(frames):
            chunk = f.data[2:] if k == 0 else f.data[1:]
            chunk = chunk[: len(payload) - position]
            position += len(chunk)
            lines.append(f"{k & 0xF:X}:{sep}{hexes(chunk)}")
        return lines
