"""Driver commands over Kafka: read them in the background, send them from anywhere.

Wire format of one message on the commands topic (JSON object, key = ``vehicle_id``)::

    {"schema_version": 1, "command_id": "<uuid>", "vehicle_id": "compact-sedan-000",
     "issued_at": "2026-11-27T14:06:24.123456Z", "type": "throttle", "value": 40}

``vehicle_id`` ``"*"`` addresses every vehicle of the runtime that reads it. The command itself
(``type`` and ``value``) is validated by :func:`vehsim.parse_command` when the runtime applies
it; this module checks only the envelope (:func:`decode_command`).

:class:`CommandListener` assigns the topic's partitions directly (no consumer group: a runtime
needs no shared or committed offsets, and nothing waits for a group's assignment), starts at the
end of the topic, and polls from a daemon thread. :class:`CommandSender` is what a dashboard or a
notebook uses to drive a car.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vehsim.config import Settings, load_settings
from vehsim.events import (
    BROADCAST_VEHICLE_ID,
    COMMAND_SCHEMA_VERSION,
    MAX_COMMAND_BYTES,
    MAX_COMMAND_DEPTH,
    MAX_EXCERPT_CHARS,
    excerpt,
    json_depth_exceeds,
    make_command,
    value_excerpt,
)
from vehsim.stream.kafka_config import client_config
from vehsim.stream.reader import LiveTopicReader

# kafka-python (the [stream] extra) is imported inside the functions that use it, so that
# `import vehsim` and the offline commands work without it.

log = logging.getLogger(__name__)

#: Longest ``command_id`` accepted [characters]; a UUID has 36.
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class IncomingCommand:
    """A message read from the commands topic, envelope checked.

    ``error`` is set (``(field, reason, message)``) when the envelope is unusable; then
    ``command`` may be partial or empty and the runtime rejects it.
    """

    vehicle_id: str | None
    command_id: str | None
    command: dict[str, Any]  # {"type": ..., "value": ...} as received
    raw: str | None = None  # an excerpt of the message text when it was not a usable object
    error: tuple[str, str, str] | None = None
    offset: int | None = None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def decode_command(value: bytes | str, offset: int | None = None) -> IncomingCommand:
    """Check the envelope of one commands-topic message (never raises).

    Bounds come first, on the undecoded message: more than :data:`MAX_COMMAND_BYTES` is
    ``too_large`` and nesting deeper than :data:`MAX_COMMAND_DEPTH` is ``too_deep``, so no message
    can cost more than a small, fixed amount of work. ``NaN`` and ``Infinity`` are not JSON and
    make a message ``malformed``. Whatever goes wrong, the result carries an ``error`` and at most
    an :func:`~vehsim.events.excerpt` of the text, never the whole of it.
    """
    try:
        return _decode_command(value, offset)
    except Exception as exc:  # a defect here must not stop the listener: reject the message
        log.exception("cannot decode command at offset %s", offset)
        return IncomingCommand(
            None, None, {}, raw=None,
            error=("message", "malformed", f"command could not be decoded ({type(exc).__name__})"),
            offset=offset,
        )  # fmt: skip


def _decode_command(value: bytes | str, offset: int | None) -> IncomingCommand:
    data = value if isinstance(value, bytes) else value.encode("utf-8", "replace")
    if len(data) > MAX_COMMAND_BYTES:
        head = data[: MAX_EXCERPT_CHARS * 4].decode("utf-8", "replace")
        return IncomingCommand(
            None, None, {}, raw=excerpt(head),
            error=("message", "too_large",
                   f"command is {len(data)} bytes; at most {MAX_COMMAND_BYTES} are read"),
            offset=offset,
        )  # fmt: skip
    text = data.decode("utf-8", "replace")
    if json_depth_exceeds(text, MAX_COMMAND_DEPTH):
        return IncomingCommand(
            None, None, {}, raw=excerpt(text),
            error=("message", "too_deep",
                   f"command nests arrays/objects deeper than {MAX_COMMAND_DEPTH} levels"),
            offset=offset,
        )  # fmt: skip
    try:
        obj = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        return IncomingCommand(
            None, None, {}, raw=excerpt(text),
            error=("message", "malformed", f"command is not valid JSON ({excerpt(str(exc))})"),
            offset=offset,
        )  # fmt: skip
    if not isinstance(obj, dict):
        return IncomingCommand(
            None, None, {}, raw=excerpt(text),
            error=("message", "malformed", f"command must be a JSON object, got {type(obj).__name__}"),
            offset=offset,
        )  # fmt: skip
    command = {k: obj[k] for k in ("type", "value") if k in obj}
    error = None
    command_id = obj.get("command_id")
    if not isinstance(command_id, str) or not command_id:
        command_id = None
    elif len(command_id) > MAX_ID_CHARS:
        command_id = None
        error = (
            "command_id",
            "too_long",
            f"command_id must be at most {MAX_ID_CHARS} characters, got {len(obj['command_id'])}",
        )
    vehicle_id = obj.get("vehicle_id")
    if obj.get("schema_version") != COMMAND_SCHEMA_VERSION:
        error = error or (
            "schema_version",
            "unsupported_version",
            f"schema_version must be {COMMAND_SCHEMA_VERSION}, "
            f"got {value_excerpt(obj.get('schema_version'), 40)!r}",
        )
    if not isinstance(vehicle_id, str) or not vehicle_id:
        vehicle_id = None
        error = error or (
            "vehicle_id",
            "missing_field",
            "vehicle_id must be a non-empty string naming a vehicle (or '*' for all)",
        )
    return IncomingCommand(vehicle_id, command_id, command, error=error, offset=offset)


class CommandListener(LiveTopicReader):
    """Reads the commands topic from a background thread into a queue.

    Args:
        settings: Resolved settings; default :func:`load_settings`.
        bootstrap: Kafka bootstrap servers; default: resolved from settings.
        topic: Default ``settings.commands_topic``.
        from_beginning: Read commands already on the topic (default: only new ones).
        on_command: Called from the listener thread for each message, instead of queueing.

    The listener survives broker outages: it keeps retrying and continues where it was when the
    broker is back; if the topic was deleted and created again meanwhile (its offsets start
    over), it reads the new topic from its beginning.
    """

    thread_name = "vehsim-commands"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        bootstrap: str | None = None,
        topic: str | None = None,
        from_beginning: bool = False,
        on_command: Callable[[IncomingCommand], None] | None = None,
        poll_interval_s: float = 0.1,
    ):
        settings = settings or load_settings()
        super().__init__(
            settings,
            bootstrap=bootstrap,
            topic=topic or settings.commands_topic,
            from_beginning=from_beginning,
            poll_interval_s=poll_interval_s,
        )
        self.on_command = on_command
        self._queue: queue.SimpleQueue[IncomingCommand] = queue.SimpleQueue()
        self.received = 0

    def drain(self, limit: int | None = None) -> list[IncomingCommand]:
        """Commands received since the last call, in arrival order, at most ``limit`` of them
        (the rest stay queued for the next call); non-blocking."""
        out = []
        while limit is None or len(out) < limit:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def _handle(self, record) -> None:
        self.received += 1
        incoming = decode_command(record.value or b"", record.offset)
        if self.on_command is not None:
            try:
                self.on_command(incoming)
            except Exception:  # the callback's defect must not cost a reconnect per message
                log.exception("command callback failed for offset %s", record.offset)
        else:
            self._queue.put(incoming)


class CommandSender:
    """Publishes driver commands to the commands topic (for dashboards, notebooks, tests).

    Example::

        with CommandSender() as sender:
            sender.send("compact-sedan-000", "start_engine")
            sender.send("compact-sedan-000", "throttle", 40)
    """

    def __init__(self, settings: Settings | None = None, *, bootstrap: str | None = None):
        from kafka import KafkaProducer

        self.settings = settings or load_settings()
        self.topic = self.settings.commands_topic
        self._producer = KafkaProducer(
            **client_config(self.settings, bootstrap),
            acks="all",
            linger_ms=0,
            allow_auto_create_topics=False,
        )

    def send(
        self, vehicle_id: str, command_type: str, value: Any = None, *, timeout_s: float = 10.0
    ) -> dict[str, Any]:
        """Send one command and wait until the broker has it; returns the message sent."""
        message = make_command(vehicle_id, command_type, value)
        self.send_message(message, timeout_s=timeout_s)
        return message

    def send_message(self, message: dict[str, Any] | bytes, *, timeout_s: float = 10.0) -> None:
        """Send a prepared message (a dict, or raw bytes for tests of malformed input)."""
        if isinstance(message, dict):
            key = str(message.get("vehicle_id") or BROADCAST_VEHICLE_ID).encode()
            value = json.dumps(message).encode()
        else:
            key, value = BROADCAST_VEHICLE_ID.encode(), message
        self._producer.send(self.topic, key=key, value=value).get(timeout=timeout_s)

    def close(self) -> None:
        self._producer.close(timeout=5)

    def __enter__(self) -> CommandSender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def send_command(
    vehicle_id: str,
    command_type: str,
    value: Any = None,
    settings: Settings | None = None,
    *,
    bootstrap: str | None = None,
) -> dict[str, Any]:
    """One-shot :meth:`CommandSender.send` (opens and closes a producer)."""
    with CommandSender(settings, bootstrap=bootstrap) as sender:
        return sender.send(vehicle_id, command_type, value)


def wait_for(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()
