"""End offsets (high watermarks) of Kafka partitions, with the timeout in seconds.

Apache Kafka, Confluent and Event Hubs answer ListOffsets(latest) with the high watermark:
the offset the next record will get. Readers that track their own positions (the telemetry
follower, the command listener, :func:`~vehsim.stream.follow.read_topic`) ask through
:func:`end_offsets`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

# kafka-python (the [stream] extra) is imported inside the functions that use it, so that
# `import vehsim` and the offline commands work without it.

if TYPE_CHECKING:
    from kafka import KafkaConsumer, TopicPartition


def end_offsets(
    consumer: KafkaConsumer,
    partitions: Iterable[TopicPartition],
    timeout_s: float = 10.0,
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition (0 for an empty one).

    Args:
        consumer: A kafka-python ``KafkaConsumer``; its assignment and positions are untouched.
        partitions: Partitions to ask about.
        timeout_s: Longest wait for the broker's answer [s].

    Raises:
        kafka.errors.KafkaTimeoutError: no answer within ``timeout_s``.
    """
    partitions = list(partitions)
    if not partitions:
        return {}
    answer = consumer.end_offsets(partitions, timeout_ms=int(timeout_s * 1000))
    return {tp: int(answer[tp]) for tp in partitions}
