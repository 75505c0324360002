"""kafka-python client settings from :class:`vehsim.config.Settings`, in one place.

Azure Event Hubs' Kafka endpoint: ``VEHSIM_KAFKA_BOOTSTRAP=<ns>.servicebus.windows.net:9093``,
``VEHSIM_KAFKA_SECURITY_PROTOCOL=SASL_SSL``, ``VEHSIM_KAFKA_SASL_MECHANISM=PLAIN``,
``VEHSIM_KAFKA_SASL_USERNAME=$ConnectionString`` and the connection string as
``VEHSIM_KAFKA_SASL_PASSWORD``. The client settings Microsoft recommends for Event Hubs are
applied whenever the bootstrap host is ``*.servicebus.windows.net``.
"""

from __future__ import annotations

from typing import Any

from vehsim.config import Settings
from vehsim.stream.broker_record import resolve_bootstrap

EVENT_HUBS_SUFFIX = ".servicebus.windows.net"

#: Client settings Microsoft recommends for Event Hubs' Kafka endpoint.
EVENT_HUBS_CLIENT_SETTINGS: dict[str, int] = {
    "metadata_max_age_ms": 180_000,
    "connections_max_idle_ms": 180_000,
    "request_timeout_ms": 60_000,
}


def client_config(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """Common kafka-python keyword arguments (bootstrap and security) for any client.

    ``bootstrap`` defaults to :func:`~vehsim.stream.broker_record.resolve_bootstrap`:
    ``VEHSIM_KAFKA_BOOTSTRAP``, else the embedded broker recorded under ``VEHSIM_HOME``.
    """
    if bootstrap is None:
        bootstrap = resolve_bootstrap(settings)
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap.split(","),
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol.startswith("SASL"):
        config["sasl_mechanism"] = settings.sasl_mechanism
        config["sasl_plain_username"] = settings.sasl_username
        config["sasl_plain_password"] = settings.sasl_password
    if settings.ssl_cafile:
        config["ssl_cafile"] = settings.ssl_cafile
    if any(host.split(":")[0].endswith(EVENT_HUBS_SUFFIX) for host in config["bootstrap_servers"]):
        config.update(EVENT_HUBS_CLIENT_SETTINGS)
    return config
