"""Services a notebook starts, stopped together, even when the notebook fails half-way.

A notebook that starts the embedded broker and stops it in its last cell leaves it running when
an earlier cell fails ("Run All" stops there): the orphaned broker then keeps its port and its
JVM, and a dashboard opened later would look for cars on it. :class:`Services` is a context
manager (an :class:`contextlib.ExitStack`) that stops what was started through it, last started
first, when its ``with`` block ends, when :meth:`Services.close` is called (a notebook's last
cell), or when the kernel exits (shut down, restarted): whichever comes first, once.

Only what it started is stopped: a broker that was already running under ``VEHSIM_HOME``, or a
Kafka cluster given by ``VEHSIM_KAFKA_BOOTSTRAP``, is used and left alone.
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Callable
from typing import Any

from vehsim.config import Settings, load_settings


class Services(contextlib.ExitStack):
    """What a notebook started (broker, Spark session, ...), stopped on close or kernel exit.

    ``callback(stop, *args)`` adds any service's stop; :meth:`kafka` starts the embedded broker
    when no cluster is configured.
    """

    def __init__(self) -> None:
        super().__init__()
        self.started: list[str] = []
        atexit.register(self.close)  # the kernel exits (shut down, restarted, interpreter end)

    def kafka(
        self,
        settings: Settings | None = None,
        broker_factory: Callable[[Settings], Any] | None = None,
    ) -> str:
        """The Kafka bootstrap to use: ``VEHSIM_KAFKA_BOOTSTRAP`` if set, else the embedded
        broker of ``VEHSIM_HOME``, started here (and stopped with the others) unless it already
        ran."""
        settings = settings or load_settings()
        if settings.kafka_bootstrap:
            return settings.kafka_bootstrap
        if broker_factory is None:
            from vehsim.stream.broker import EmbeddedBroker as broker_factory
        broker = broker_factory(settings)
        if broker.status() is not None:
            return broker.status().bootstrap  # someone else's broker: use it, leave it running
        record = broker.start()
        self.callback(broker.stop)
        self.started.append(f"embedded Kafka broker at {record.bootstrap}")
        return record.bootstrap

    def close(self) -> None:
        """Stop everything started through this object (last first); later calls do nothing."""
        super().close()
        self.started.clear()


__all__ = ["Services"]
