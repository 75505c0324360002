"""Local or connected: decided from the configuration, the same way every time.

Connected when ``VEHSIM_KAFKA_BOOTSTRAP`` is set (environment or ``vehsim.toml``: the user asked
for that cluster), or when an embedded broker is recorded (and alive) under ``VEHSIM_HOME`` *and
carries a vehicle*: its telemetry topic received an event in the last
:data:`LIVE_TELEMETRY_WINDOW_S` seconds. A broker nobody drives on (left behind by a notebook
that died, or started for the lakehouse and never stopped) would open a dashboard with no car,
so it gives local mode, and the reason says how to get connected mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
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


#: A vehicle is live on a broker when its telemetry topic got an event this recently [s]. A car
#: publishes several events per second (``vehsim drive`` at 10 Hz, ``--rate-hz`` from 0.1 Hz);
#: the window also covers a dashboard opened a moment after a short pause of the car.
LIVE_TELEMETRY_WINDOW_S = 30.0
#: How long mode detection waits for the broker's answer [s].
PROBE_TIMEOUT_S = 3.0


def recent_telemetry(
    settings: Settings,
    bootstrap: str,
    within_s: float = LIVE_TELEMETRY_WINDOW_S,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> bool:
    """True when the telemetry topic at ``bootstrap`` received an event in the last ``within_s``
    seconds (Kafka's ListOffsets by timestamp; nothing is consumed). False when the topic does
    not exist, is empty or quiet, or the broker does not answer within ``timeout_s``."""
    from kafka import KafkaConsumer, TopicPartition  # the [stream] extra, only when asked
    from kafka.errors import KafkaConfigurationError, KafkaError

    from vehsim.stream.broker import tcp_reachable
    from vehsim.stream.kafka_config import client_config

    if not tcp_reachable(bootstrap, timeout_s):
        return False
    timeout_ms = int(timeout_s * 1000)
    try:
        consumer = KafkaConsumer(
            **client_config(settings, bootstrap),
            enable_auto_commit=False,
            request_timeout_ms=max(timeout_ms, 1000) + 500,
            bootstrap_timeout_ms=timeout_ms,
            allow_auto_create_topics=False,  # asking must not create the topic
        )
    except KafkaConfigurationError:
        raise  # a bad setting is the user's to fix, not a quiet broker
    except KafkaError:
        return False
    try:
        topic = settings.telemetry_topic
        partitions = consumer.partitions_for_topic(topic) or set()
        since_ms = int((time.time() - within_s) * 1000)
        found = consumer.offsets_for_times(
            {TopicPartition(topic, p): since_ms for p in partitions}, timeout_ms=timeout_ms
        )
        return any(answer is not None for answer in found.values())
    except KafkaError:
        return False
    finally:
        consumer.close()


def detect_mode(
    settings: Settings | None = None,
    carries_vehicles: Callable[[Settings, str], bool] = recent_telemetry,
) -> Mode:
    """Decide the mode from ``settings`` (default: :func:`vehsim.config.load_settings`).

    Args:
        settings: the configuration.
        carries_vehicles: whether the embedded broker at a bootstrap address carries a live
            vehicle (default :func:`recent_telemetry`); not asked about a configured cluster.
    """
    settings = settings or load_settings()
    if settings.kafka_bootstrap:
        return Mode("connected", settings.kafka_bootstrap, "VEHSIM_KAFKA_BOOTSTRAP is set")
    from vehsim.stream.broker import read_record  # the Kafka client only when asked

    record = read_record(settings)
    if record is None:
        return Mode("local", None, "no broker configured")
    if carries_vehicles(settings, record.bootstrap):
        return Mode(
            "connected",
            record.bootstrap,
            f"embedded broker recorded under {settings.home} carries live telemetry",
        )
    return Mode(
        "local",
        None,
        f"the embedded broker at {record.bootstrap} carries no vehicle (no telemetry on "
        f"{settings.telemetry_topic} in the last {LIVE_TELEMETRY_WINDOW_S:.0f} s); start one "
        "with 'vehsim drive --driver commands' and reload, or stop the broker with "
        "'vehsim broker stop'",
    )


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
