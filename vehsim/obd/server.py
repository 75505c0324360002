"""The OBD-II port: an ELM327 adapter on a TCP socket of 127.0.0.1, one session per client.

A scan tool connects as to a serial adapter exposed over TCP (pyserial's ``socket://`` URLs,
which python-OBD accepts); every connection gets its own :class:`~vehsim.obd.elm327.Elm327`
session in front of the same car. Standard library only (``socketserver``).
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading

from vehsim.obd.ecu import EngineEcu, VehicleView
from vehsim.obd.elm327 import Elm327

log = logging.getLogger(__name__)

#: The port listens on loopback only: a simulated car is not a network service.
HOST = "127.0.0.1"
#: Largest command line kept without a carriage return [bytes] (an ELM327 has a small buffer
#: too); a client that sends more is disconnected.
MAX_LINE_BYTES = 4096


class _Session(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        elm = Elm327(self.server.ecu)
        sock: socket.socket = self.request
        sock.settimeout(0.5)
        while not self.server.closing.is_set():
            try:
                data = sock.recv(1024)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            try:
                answer = elm.feed(data)
            except Exception:  # a defect answers '?' instead of dropping the client
                log.exception("OBD port: command failed")
                answer = b"?\r\r>"
            if answer:
                sock.sendall(answer)
            if elm.pending_bytes > MAX_LINE_BYTES:
                log.warning("OBD port: a client sent %d bytes without a line end", MAX_LINE_BYTES)
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, ecu: EngineEcu):
        self.ecu = ecu
        self.closing = threading.Event()
        super().__init__((HOST, port), _Session)


class ObdPort:
    """An OBD-II port (ELM327 over TCP) in front of one car.

    Args:
        view: the car (:class:`~vehsim.obd.ecu.SimulatorView` or ``vehsim.obd.live.LiveView``).
        port: TCP port on 127.0.0.1; 0 picks a free one (see :attr:`port`).

    Use :meth:`start` to serve from a background thread (notebooks, tests) or
    :meth:`serve_forever` to serve in this one (the command line); :meth:`close` stops it.
    A scan tool connects with ``obd.OBD(port.url, baudrate=38400, fast=False)``.
    """

    def __init__(self, view: VehicleView, port: int = 0):
        self.view = view
        self.ecu = EngineEcu(view)
        self._server = _Server(port, self.ecu)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The pyserial URL a client opens: ``socket://127.0.0.1:<port>``."""
        return f"socket://{HOST}:{self.port}"

    @property
    def vin(self) -> str:
        return self.ecu.vin

    def start(self) -> ObdPort:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name="vehsim-obd",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        self._server.closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5.0)
            self._thread = None
        self._server.server_close()
        self.view.close()

    def __enter__(self) -> ObdPort:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
