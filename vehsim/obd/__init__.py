"""An OBD-II port for a simulated car: the ELM327 adapter protocol over TCP on 127.0.0.1.

A real scan tool library (python-OBD, over pyserial's ``socket://`` URLs) reads the car as it
would read a car through an ELM327 adapter: SAE J1979 services 01 (current data), 02 (freeze
frame), 03 (stored codes), 04 (clear codes, in the simulation too), 07 (pending codes) and 09
(VIN, ECU name), framed as ISO 15765-4 CAN 11-bit 500 kbit/s with ISO-TP multi-frame replies.

For a simulator in this process (notebooks)::

    sim = vehsim.Simulator([vehsim.load_vehicle("compact-sedan")], start="hot")
    with vehsim.obd.serve_simulator(sim) as port:
        connection = obd.OBD(port.url, baudrate=38400, fast=False)

For one car of a live run: ``vehsim obd --vehicle-id ID --port P`` (or :func:`serve_live`).

Modules: :mod:`~vehsim.obd.j1979` (encodings), :mod:`~vehsim.obd.ecu` (the engine ECU and the
in-process view), :mod:`~vehsim.obd.isotp` (CAN framing), :mod:`~vehsim.obd.elm327` (the
adapter's command language), :mod:`~vehsim.obd.server` (the TCP port), :mod:`~vehsim.obd.live`
(a car followed on Kafka). See ``docs/obd.md``.
"""

from __future__ import annotations

import threading

from vehsim.obd.ecu import EngineEcu, SimulatorView
from vehsim.obd.j1979 import vin_for
from vehsim.obd.server import ObdPort


def serve_simulator(
    sim,
    index: int = 0,
    *,
    port: int = 0,
    vehicle_id: str | None = None,
    lock: threading.Lock | None = None,
) -> ObdPort:
    """An OBD-II port for vehicle ``index`` of an in-process :class:`vehsim.Simulator`,
    serving from a background thread (``port.url``, ``port.close()``; also a context manager).

    The simulator stays the caller's: keep advancing it; the port reads it between steps. If
    another thread advances it, pass the ``lock`` that thread holds while it does.
    """
    view = SimulatorView(sim, index, vehicle_id=vehicle_id, lock=lock)
    return ObdPort(view, port).start()


def serve_live(vehicle_id: str, *, port: int = 0, settings=None, bootstrap: str | None = None):
    """An OBD-II port for one car of a live run (``vehsim drive``) followed on Kafka, serving
    from a background thread."""
    from vehsim.obd.live import LiveView  # the Kafka side loads only for a live car

    view = LiveView(vehicle_id, settings, bootstrap=bootstrap).start()
    return ObdPort(view, port).start()


__all__ = ["EngineEcu", "ObdPort", "SimulatorView", "serve_live", "serve_simulator", "vin_for"]
