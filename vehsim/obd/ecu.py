"""The simulated engine ECU behind the OBD-II port: J1979 requests in, response bytes out.

:class:`EngineEcu` answers one request (service byte, PID, ...) from a :class:`VehicleView`,
which gives the latest ``simulation.raw`` payload of the car (``vehsim.telemetry``), its freeze
frame and a way to clear its codes. Two views exist:

- :class:`SimulatorView`: a :class:`vehsim.Simulator` in this process (notebooks);
- ``vehsim.obd.live.LiveView``: one car of a ``vehsim drive`` run, followed on Kafka.

No framing happens here (that is :mod:`vehsim.obd.isotp` and :mod:`vehsim.obd.elm327`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from vehsim.obd import j1979
from vehsim.obd.j1979 import (
    BITMAP_PIDS,
    CURRENT_DATA_PIDS,
    FREEZE_FRAME_PIDS,
    POSITIVE_RESPONSE_OFFSET,
    SERVICE_CLEAR_CODES,
    SERVICE_CURRENT_DATA,
    SERVICE_FREEZE_FRAME,
    SERVICE_PENDING_CODES,
    SERVICE_STORED_CODES,
    SERVICE_VEHICLE_INFO,
)
from vehsim.telemetry import raw_payload

#: Mode 09 PIDs answered: 02 VIN, 0A ECU name (00 is the bitmap).
VEHICLE_INFO_PIDS = (0x02, 0x0A)


class VehicleView(Protocol):
    """What the ECU needs of a car."""

    vehicle_id: str

    def payload(self) -> Mapping[str, Any] | None:
        """The latest ``simulation.raw`` payload, or None while nothing is known of the car."""

    def freeze_frame(self) -> tuple[str, Mapping[str, float]] | None:
        """(code that stored it, SI-named values) of the stored freeze frame, or None."""

    def clear_codes(self) -> None:
        """Clear codes, freeze frame and MIL in the simulation (mode 04)."""

    def close(self) -> None:
        """Release what the view holds (Kafka clients); the port calls it when it closes."""


class NoVehicle(Exception):
    """The car is not (yet) reachable: nothing of it has been seen."""


class EngineEcu:
    """ECU #1 (engine) answering SAE J1979 services 01, 02, 03, 04, 07 and 09.

    :meth:`request` returns the positive response bytes, or None when the ECU does not answer
    (an unsupported service or PID; the adapter then says ``NO DATA``). It raises
    :class:`NoVehicle` when the view knows nothing of the car yet.
    """

    def __init__(self, view: VehicleView):
        self.view = view
        self.vin = j1979.vin_for(view.vehicle_id)

    # -- what is supported -----------------------------------------------------------------
    @staticmethod
    def current_data_pids() -> set[int]:
        return set(CURRENT_DATA_PIDS) | {p for p in BITMAP_PIDS if p}

    @staticmethod
    def freeze_frame_pids() -> set[int]:
        return set(FREEZE_FRAME_PIDS) | {0x02}

    # -- requests ----------------------------------------------------------------------------
    def request(self, data: bytes) -> bytes | None:
        """Answer one request (``data[0]`` the service, then its parameters)."""
        if not data:
            return None
        payload = self.view.payload()
        if payload is None:
            raise NoVehicle(self.view.vehicle_id)
        service = data[0]
        reply = bytes((service + POSITIVE_RESPONSE_OFFSET,))
        if service == SERVICE_CURRENT_DATA and len(data) >= 2:
            body = self._current_data(data[1], payload)
            return None if body is None else reply + bytes((data[1],)) + body
        if service == SERVICE_FREEZE_FRAME and len(data) >= 2:
            frame_no = data[2] if len(data) >= 3 else None
            body = self._freeze_frame(data[1], frame_no)
            if body is None:
                return None
            # J1979 asks for the frame number in the request and echoes it; a request without
            # it (python-OBD sends "02 0C") is answered for frame 0 without the echo.
            echo = bytes((frame_no,)) if frame_no is not None else b""
            return reply + bytes((data[1],)) + echo + body
        if service == SERVICE_STORED_CODES:
            return reply + self._codes(payload["dtc_confirmed"])
        if service == SERVICE_PENDING_CODES:
            return reply + self._codes(payload["dtc_pending"])
        if service == SERVICE_CLEAR_CODES:
            self.view.clear_codes()
            return reply
        if service == SERVICE_VEHICLE_INFO and len(data) >= 2:
            body = self._vehicle_info(data[1])
            return None if body is None else reply + bytes((data[1],)) + body
        return None

    def _current_data(self, pid: int, payload: Mapping[str, Any]) -> bytes | None:
        if pid in BITMAP_PIDS:
            return j1979.supported_bitmap(self.current_data_pids(), pid)
        entry = CURRENT_DATA_PIDS.get(pid)
        if entry is None:
            return None
        try:
            return entry[1](payload)
        except (KeyError, TypeError, ValueError):  # a payload without this reading
            return None

    def _freeze_frame(self, pid: int, frame_no: int | None) -> bytes | None:
        if frame_no not in (None, 0):  # one frame is stored (J1979 frame 00)
            return None
        if pid == 0x00:
            return j1979.supported_bitmap(self.freeze_frame_pids(), 0)
        stored = self.view.freeze_frame()
        if pid == 0x02:  # the code that stored the frame; 0000 when there is none
            return j1979.encode_dtc(stored[0]) if stored else b"\x00\x00"
        encoder = FREEZE_FRAME_PIDS.get(pid)
        if encoder is None or stored is None:
            return None
        try:
            return encoder(stored[1])
        except (KeyError, TypeError, ValueError):
            return None

    @staticmethod
    def _codes(codes) -> bytes:
        """Mode 03/07 on ISO 15765-4: the number of codes, then two bytes per code."""
        return bytes((len(codes),)) + b"".join(j1979.encode_dtc(c) for c in codes)

    def _vehicle_info(self, pid: int) -> bytes | None:
        if pid == 0x00:
            return j1979.supported_bitmap(set(VEHICLE_INFO_PIDS), 0)
        if pid == 0x02:  # one data item: the VIN
            return b"\x01" + self.vin.encode("ascii")
        if pid == 0x0A:
            return b"\x01" + j1979.ECU_NAME
        return None


class SimulatorView:
    """A vehicle of a :class:`vehsim.Simulator` in this process, read between its steps.

    Args:
        sim: the simulator (its owner keeps advancing it).
        index: the vehicle's row.
        vehicle_id: the id its VIN is made from (default ``<vehicle name>-<index:03d>``).
        lock: held while reading and clearing, if the owner advances the simulator from
            another thread under the same lock.
        clear: what mode 04 does (default ``sim.clear_dtc(index)``; a ``DriveRuntime`` in this
            process passes its ``submit_command`` so the clear is an event like any command).
    """

    def __init__(
        self,
        sim,
        index: int = 0,
        *,
        vehicle_id: str | None = None,
        lock: threading.Lock | None = None,
        clear: Callable[[], None] | None = None,
    ):
        if not 0 <= index < sim.n_vehicles:
            raise IndexError(f"vehicle index {index} out of range (0 to {sim.n_vehicles - 1})")
        self.sim = sim
        self.index = index
        self.vehicle_id = vehicle_id or f"{sim.vehicles[index].name}-{index:03d}"
        self._lock = lock or threading.Lock()
        self._clear = clear
        self._raw_payload = raw_payload

    def payload(self) -> Mapping[str, Any]:
        with self._lock:
            return self._raw_payload(self.sim.snapshot(), self.index)

    def freeze_frame(self) -> tuple[str, Mapping[str, float]] | None:
        with self._lock:
            status = self.sim.dtc(self.index)
        frame, code = status["freeze_frame"], status["freeze_frame_code"]
        return (code, dict(frame)) if frame is not None and code else None

    def clear_codes(self) -> None:
        if self._clear is not None:
            self._clear()
            return
        with self._lock:
            self.sim.clear_dtc(self.index)

    def close(self) -> None:
        pass  # the simulator belongs to its owner
