"""Correct end offsets from any Kafka-protocol broker: the one place that knows Tansu's quirk.

Tansu 0.6 answers ListOffsets(latest) with *the last record batch's base offset + 1* instead of
the high watermark when that batch holds several records (1,000 records produced as one batch:
end offset reported as 1). :func:`true_end_offsets` reads the last batch and returns the real
end: ``max(reported, high watermark of the fetch, last offset read + 1)``. On Apache Kafka,
Confluent or Event Hubs the reported value is already right and the probe costs one small fetch.

Every reader that needs "where does this partition end" (the Spark Kafka source, the telemetry
follower, tests) calls this instead of ``KafkaConsumer.end_offsets``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kafka import KafkaConsumer, TopicPartition


def true_end_offsets(
    consumer: KafkaConsumer,
    partitions: Iterable[TopicPartition],
    timeout_s: float = 10.0,
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition (the high watermark).

    The consumer must use manual assignment (``assign``), not a group subscription. Its
    assignment and positions are restored before returning, so a reader may probe with the
    consumer it reads with.

    Args:
        consumer: A kafka-python ``KafkaConsumer``.
        partitions: Partitions to probe.
        timeout_s: How long to wait for the last batch of all partitions together.

    Returns:
        ``{partition: end_offset}``; 0 for an empty partition.

    Raises:
        TimeoutError: the last batch of a non-empty partition could not be fetched in time.
    """
    partitions = list(partitions)
    if not partitions:
        return {}
    reported = consumer.end_offsets(partitions)
    beginning = consumer.beginning_offsets(partitions)
    ends = {tp: int(reported[tp]) for tp in partitions}
    probe = {tp: max(ends[tp] - 1, int(beginning[tp])) for tp in partitions if ends[tp] > 0}
    probe = {tp: start for tp, start in probe.items() if start < ends[tp]}
    if not probe:
        return ends

    saved_assignment = set(consumer.assignment())
    saved_positions = {tp: consumer.position(tp) for tp in saved_assignment}
    try:
        consumer.assign(list(probe))
        for tp, start in probe.items():
            consumer.seek(tp, start)
        pending = set(probe)
        deadline = time.monotonic() + timeout_s
        while pending:
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                names = sorted(f"{tp.topic}[{tp.partition}]" for tp in pending)
                raise TimeoutError(
                    f"could not read the last record batch of {names} in {timeout_s} s"
                )
            batches = consumer.poll(timeout_ms=int(min(remaining_s, 0.5) * 1000))
            for tp, records in batches.items():
                if tp not in probe or not records:
                    continue
                ends[tp] = max(ends[tp], records[-1].offset + 1, consumer.highwater(tp) or 0)
                pending.discard(tp)
    finally:
        consumer.assign(list(saved_assignment))
        for tp, position in saved_positions.items():
            consumer.seek(tp, position)
    return ends
