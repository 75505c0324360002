"""The hostile corpus's telemetry records against the lake (issue 12, findings 2, 3 and 9).

Every record the broker accepts lands in Bronze exactly once with its bytes, and Bronze never
blocks; Silver accepts it or quarantines it with a reason, never crashes on it, and its
data-quality figures stay plausible; Gold runs on what Silver accepted. The corpus is data
(``tests/hostile/corpus.jsonl``, format in ``tests/hostile/README.md``), so this test holds
whatever the implementation of Bronze and Silver is.

Kafka record timestamps: Apache Kafka 4 refuses a record stamped more than an hour ahead of the
broker's clock (``log.message.timestamp.after.max.ms``), before any reader sees it; such a
refusal is the expected outcome for the far-future ``kafka_timestamp`` entries, and nothing else
may be refused.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytestmark = pytest.mark.integration

CORPUS_MODULE = Path(__file__).resolve().parents[1] / "hostile" / "corpus.py"
#: An hour ahead of now, in milliseconds since 1970: later Kafka record timestamps are refused.
_HOUR_MS = 3_600_000


def _corpus():
    spec = importlib.util.spec_from_file_location("hostile_corpus", CORPUS_MODULE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module.load("telemetry", {"vehicle": "compact-sedan-000", "other": "pickup-v8-001"})


def _produce(settings, records) -> tuple[dict, dict]:
    """Send every record; returns ({id: (partition, offset)}, {id: refusal})."""
    import time

    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, max_request_size=4 * 1024 * 1024, retries=0
    )
    landed, refused = {}, {}
    for r in records:  # one at a time: the broker refuses a whole batch for one bad record
        for attempt in range(40):
            future = producer.send(
                settings.telemetry_topic, key=r.key, value=r.value, partition=0,
                timestamp_ms=r.timestamp_ms,
            )  # fmt: skip
            try:
                meta = future.get(timeout=30)
                landed[r.id] = (meta.partition, meta.offset)
            except KafkaError as exc:
                # A new topic's leader can still be on its way (NotLeaderForPartition on a
                # loaded machine): that is no refusal of the record, so it is sent again.
                if exc.retriable and attempt < 39:
                    time.sleep(0.25)
                    continue
                refused[r.id] = exc
            break
    producer.close()
    time.sleep(0.1)
    return landed, refused


def test_the_hostile_corpus_never_stops_bronze_silver_or_gold(spark, lake_settings):
    import time

    from deltalake import DeltaTable

    from vehsim_pipelines import bronze, jobs
    from vehsim_pipelines.catalog import DQ_RUNS, SILVER_QUARANTINE, SILVER_TELEMETRY, Catalog

    settings = lake_settings
    records = _corpus()
    assert len(records) >= 20
    now_ms = int(time.time() * 1000)
    landed, refused = _produce(settings, records)
    for record_id, error in refused.items():
        entry = next(r for r in records if r.id == record_id)
        assert entry.category == "kafka_timestamp" and entry.timestamp_ms > now_ms + _HOUR_MS, (
            f"{record_id} refused by the broker: {error!r}"
        )

    run = bronze.run_bronze_available_now(spark, settings)
    assert run.records == len(landed), "Bronze took every record the broker accepted"
    catalog = Catalog(settings)
    rows = DeltaTable(catalog.uri(bronze.BRONZE_EVENTS), storage_options=catalog.storage_options())
    by_offset = {(r["partition"], r["offset"]): r for r in rows.to_pyarrow_table().to_pylist()}
    assert len(by_offset) == len(landed)
    for entry in records:
        if entry.id in landed:
            assert bronze.original_value(by_offset[landed[entry.id]]) == entry.value, entry.id

    silver_runs = jobs.run_silver(spark, settings, progress=None)
    jobs.run_gold(spark, settings, progress=None)
    assert silver_runs and silver_runs[-1].rows_read == len(landed)

    def table(entry) -> list[dict]:
        data = DeltaTable(catalog.uri(entry), storage_options=catalog.storage_options())
        return data.to_pyarrow_table().to_pylist()

    quarantined = {(q["partition"], q["offset"]): q for q in table(SILVER_QUARANTINE)}
    accepted_offsets = {(t["partition"], t["offset"]) for t in table(SILVER_TELEMETRY)}
    wrong = []
    for entry in records:
        if entry.id not in landed:
            continue
        where = landed[entry.id]
        if entry.expect["silver"] == "quarantined":
            if where not in quarantined:
                wrong.append(f"{entry.id}: accepted, expected quarantine ({entry.note})")
            elif not quarantined[where]["_error"] or not quarantined[where]["_error_detail"]:
                wrong.append(f"{entry.id}: quarantined without a reason")
        elif where not in accepted_offsets:
            reason = quarantined.get(where, {}).get("_error_detail")
            wrong.append(f"{entry.id}: not accepted ({reason})")
    assert not wrong, "\n".join(wrong)

    dq = table(DQ_RUNS)[-1]
    assert dq["rows_read"] == dq["rows_written"] + dq["rows_quarantined"] + dq["duplicates"]
    for name in ("ingest_lag_p50_s", "ingest_lag_max_s", "freshness_s"):
        value = dq[name]
        assert value is None or abs(value) < 7 * 24 * 3600, f"{name} = {value} is poisoned"
    json.dumps(dq, default=str)  # every figure is representable
