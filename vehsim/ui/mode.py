"""Local or connected: decided from the configuration, the same way every time.

Connected when ``VEHSIM_KAFKA_BOOTSTRAP`` is set (environment or ``vehsim.toml``) or an
embedded broker is recorded (and alive) under ``VEHSIM_HOME``; local otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from vehsim.config import Settings, load_settings


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
    from vehsim.stream.broker import read_record

    record = read_record(settings)
    if record is not None:
        return Mode(
            "connected", record.bootstrap, f"embedded broker recorded under {settings.home}"
        )
    return Mode("local", None, "no broker configured")


def open_source(
    mode: str | None = None,
    *,
    vehicle: str | None = None,
    vehicle_id: str | None = None,
    settings: Settings | None = None,
):
    """The telemetry source for ``mode`` (``"local"``, ``"connected"`` or ``None`` to detect).

    Args:
        mode: force a mode; ``None`` decides with :func:`detect_mode`.
        vehicle: vehicle parameter set simulated in local mode.
        vehicle_id: vehicle followed in connected mode; ``None`` follows the first one seen.
        settings: configuration; default :func:`vehsim.config.load_settings`.
    """
    settings = settings or load_settings()
    chosen = detect_mode(settings) if mode is None else None
    name = mode or chosen.name  # type: ignore[union-attr]
    if name == "local":
        from vehsim.ui.sources import LocalSource

        return LocalSource(vehicle)
    if name == "connected":
        from vehsim.ui.kafka_link import ConnectedSource

        return ConnectedSource(settings, vehicle_id=vehicle_id)
    from vehsim.errors import ConfigError

    raise ConfigError(f"dashboard mode must be 'local' or 'connected', got {mode!r}")
