"""Local or connected: decided from the configuration, the same way every time.

Connected when ``VEHSIM_KAFKA_BOOTSTRAP`` is set (environment or ``vehsim.toml``) or an
embedded broker is recorded (and alive) under ``VEHSIM_HOME``; local otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vehsim.config import Settings, load_settings
from vehsim.errors import ConfigError


@dataclass(frozen=True)
class Mode:
    """The mode the dashboard runs in and why."""

    name: str  # "local" or "connected"
    bootstrap: str | None
    reason: str


def detect_mode(settings: Settings | None = None) -> Mode:
    """Decide the mode from ``settings`` (default: :func:`vehsim.config.load_settings`)."""
    settings = settings or load_settings()
    if settings.kafka_bootstrap:
        return Mode("connected", settings.kafka_bootstrap, "VEHSIM_KAFKA_BOOTSTRAP is set")
    from vehsim.stream.broker import read_record  # the Kafka client only when asked

    record = read_record(settings)
    if record is not None:
        return Mode(
            "connected", record.bootstrap, f"embedded broker recorded under {settings.home}"
        )
    return Mode("local", None, "no broker configured")


def open_source(
    mode: str | None = None,
    *,
    vehicle: Any = None,
    vehicles: Iterable[Any] = (),
    vehicle_id: str | None = None,
    settings: Settings | None = None,
):
    """The telemetry source for ``mode`` (``"local"``, ``"connected"`` or ``None`` to detect).

    Args:
        mode: force a mode; ``None`` decides with :func:`detect_mode`.
        vehicle: the car simulated in local mode (see :class:`vehsim.ui.sources.LocalSource`).
        vehicles: more cars for the local vehicle picker.
        vehicle_id: vehicle followed in connected mode; ``None`` follows the first one seen.
        settings: configuration; default :func:`vehsim.config.load_settings`.
    """
    settings = settings or load_settings()
    chosen = detect_mode(settings) if mode is None else None
    name = mode or chosen.name  # type: ignore[union-attr]
    # The sources load here, not at the top: ``vehsim dashboard`` decides the mode without
    # importing the simulator, ipywidgets or the Kafka client.
    if name == "local":
        from vehsim.ui.sources import LocalSource

        return LocalSource(vehicle, vehicles=vehicles)
    if name == "connected":
        from vehsim.ui.kafka_link import ConnectedSource

        return ConnectedSource(settings, vehicle_id=vehicle_id)
    raise ConfigError(f"dashboard mode must be 'local' or 'connected', got {mode!r}")
