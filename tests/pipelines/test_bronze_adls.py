"""The lake on ADLS Gen2, tested against Azurite (the Azure Storage emulator).

Spark writes the tables through Hadoop's ABFS driver (hadoop-azure 3.5.0, Blob API, since
Azurite has no DFS endpoint); ``deltalake`` reads them back through ``abfs://`` and ``az://``
with the settings' storage options. Which settings make that work, and which ABFS and WASB
forms do not, is in ``docs/adls.md``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("adlfs", reason="needs the [azure] extra")
pa = pytest.importorskip("pyarrow")

from vehsim.config import load_settings  # noqa: E402
from vehsim_pipelines import bronze  # noqa: E402
from vehsim_pipelines.catalog import (  # noqa: E402
    AZURITE_ACCOUNT,
    AZURITE_ACCOUNT_KEY,
    BRONZE_EVENTS,
    Catalog,
)
from vehsim_pipelines.session import DEFAULT_CONF  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    """Azurite's Blob service in memory on a free loopback port; yields ``http://127.0.0.1:PORT``."""
    if not AZURITE.exists():
        pytest.skip("Azurite is not installed: run 'make system-deps' (npm install azurite@3)")
    from vehsim.stream.broker import free_port

    port = free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
         "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/{AZURITE_ACCOUNT}?comp=list", timeout=1)
            break
        except urllib.error.HTTPError:
            break  # it answers (unauthenticated requests are refused)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("Azurite did not start")
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(10)


def _lake_env(**extra: str) -> dict[str, str]:
    """This process's environment without lake and Azure settings (the JVM jar cache kept)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VEHSIM_", "AZURE")) or k == "VEHSIM_JARS_DIR"
    }
    env.update(extra)
    return env


def test_catalog_gives_spark_the_abfs_form_and_credentials(monkeypatch):
    """Azurite: abfs:// (HTTP) to the emulator's port; Azure: abfss:// with the account's key."""
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", "http://127.0.0.1:41234")
    emulated = Catalog(
        load_settings(
            _lake_env(VEHSIM_LAKE_URI="abfs://lake/vehsim", AZURE_STORAGE_USE_EMULATOR="true")
        )
    )
    assert emulated.emulator_endpoint() == "http://127.0.0.1:41234"
    assert emulated.spark_path(BRONZE_EVENTS) == (
        f"abfs://lake@{AZURITE_ACCOUNT}.dfs.core.windows.net/vehsim/bronze/events"
    )
    conf = emulated.spark_conf()
    assert conf["spark.hadoop.fs.azure.abfs.endpoint"] == "127.0.0.1:41234"
    assert conf["spark.hadoop.fs.azure.always.use.https"] == "false"
    assert conf["spark.hadoop.fs.azure.account.hns.enabled"] == "false"
    key_setting = f"spark.hadoop.fs.azure.account.key.{AZURITE_ACCOUNT}.dfs.core.windows.net"
    assert conf[key_setting] == AZURITE_ACCOUNT_KEY

    # A loopback AZURE_STORAGE_ENDPOINT is an emulator as well; a real account is not.
    by_endpoint = Catalog(
        load_settings(
            _lake_env(
                VEHSIM_LAKE_URI="az://lake/vehsim",
                AZURE_STORAGE_ACCOUNT_NAME=AZURITE_ACCOUNT,
                AZURE_STORAGE_ENDPOINT=f"http://localhost:10000/{AZURITE_ACCOUNT}",
            )
        )
    )
    assert by_endpoint.spark_conf()["spark.hadoop.fs.azure.abfs.endpoint"] == "localhost:10000"
    production = {
        "VEHSIM_LAKE_URI": "abfs://lake/vehsim",
        "AZURE_STORAGE_ACCOUNT_NAME": "fleetlake",
    }
    with_key = Catalog(load_settings(_lake_env(**production, AZURE_STORAGE_ACCOUNT_KEY="k3y")))
    assert with_key.emulator_endpoint() is None
    assert with_key.spark_path(BRONZE_EVENTS) == (
        "abfss://lake@fleetlake.dfs.core.windows.net/vehsim/bronze/events"
    )
    full_form = Catalog(
        load_settings(
            _lake_env(VEHSIM_LAKE_URI="abfs://lake@fleetlake.dfs.core.windows.net/vehsim")
        )
    )
    assert full_form.spark_path(BRONZE_EVENTS) == (
        "abfss://lake@fleetlake.dfs.core.windows.net/vehsim/bronze/events"
    )
    assert with_key.spark_conf() == {
        "spark.hadoop.fs.azure.account.key.fleetlake.dfs.core.windows.net": "k3y"
    }
    principal = Catalog(
        load_settings(
            _lake_env(
                **production,
                AZURE_CLIENT_ID="app",
                AZURE_CLIENT_SECRET="s3cret",
                AZURE_TENANT_ID="t",
            )
        )
    ).spark_conf()
    sas = Catalog(load_settings(_lake_env(**production, AZURE_STORAGE_SAS_TOKEN="?sv=x&sig=y")))
    sas_conf = sas.spark_conf()
    assert sas_conf["spark.hadoop.fs.azure.sas.fixed.token.fleetlake.dfs.core.windows.net"] == (
        "sv=x&sig=y"
    )

    # Spark shows a setting redacted when its name matches spark.redaction.regex (a Java
    # pattern that Python reads the same): every credential does, the endpoint settings not.
    redact = re.compile(DEFAULT_CONF["spark.redaction.regex"])
    secrets = {"k3y", "s3cret", "sv=x&sig=y", AZURITE_ACCOUNT_KEY}
    for settings in (conf, with_key.spark_conf(), principal, sas_conf):
        for name, value in settings.items():
            assert bool(redact.search(name)) == (value in secrets), name


VEHICLES = ("adls-car-000", "adls-car-001")
EVENTS_PER_VEHICLE = 150  # 1 Hz: simulation minutes 0, 1 and 2
NOT_EVENTS = [b"\xff not text", b"plain"]


@pytest.mark.integration
def test_every_layer_lands_on_azurite_through_spark_and_reads_back_through_deltalake(
    azurite, kafka_broker, tmp_path, monkeypatch
):
    """VEHSIM_LAKE_URI=abfs://...: `vehsim pipeline all` writes Bronze, Silver and Gold with
    Spark on the emulated account; deltalake reads every table back through az:// and abfs://."""
    from adlfs import AzureBlobFileSystem
    from deltalake import DeltaTable
    from kafka import KafkaProducer
    from lakehouse_data import encode, telemetry_event

    from vehsim.stream.broker import ensure_topics
    from vehsim_pipelines import catalog

    container = f"lake{uuid.uuid4().hex[:8]}"
    env = _lake_env(
        VEHSIM_HOME=str(tmp_path / "home"),
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"a{uuid.uuid4().hex[:8]}.",
        VEHSIM_LAKE_URI=f"abfs://{container}/vehsim",
        AZURE_STORAGE_ACCOUNT_NAME=AZURITE_ACCOUNT,
        AZURE_STORAGE_ACCOUNT_KEY=AZURITE_ACCOUNT_KEY,
        AZURE_STORAGE_USE_EMULATOR="true",
        AZURITE_BLOB_STORAGE_URL=azurite,
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
        # Every listener event counts as slow: Spark would log each whole, the environment
        # update with the storage key in it, unless the session switches that log off.
        VEHSIM_SPARK_CONF="spark.scheduler.listenerbus.logSlowEvent.threshold=0ms",
    )
    settings = load_settings(env)
    fs = AzureBlobFileSystem(
        connection_string=(
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_ACCOUNT_KEY};BlobEndpoint={azurite}/{AZURITE_ACCOUNT};"
        )
    )
    fs.mkdir(container)
    ensure_topics(settings)
    records = [
        (vehicle.encode(), encode(telemetry_event(vehicle, "adls-run", seq)).encode())
        for vehicle in VEHICLES
        for seq in range(EVENTS_PER_VEHICLE)
    ]
    records.append(records[0])  # the same event twice: Silver keeps one
    records += [(b"not-a-car", value) for value in NOT_EVENTS]
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, linger_ms=10)
    for i, (key, value) in enumerate(records):
        producer.send(settings.telemetry_topic, key=key, value=value, partition=i % 3)
    producer.flush()
    producer.close()

    try:
        done = subprocess.run(
            [sys.executable, "-m", "vehsim.cli", "-v", "pipeline", "all"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-2000:]
        # the account key reached Spark's Hadoop configuration; with -v it is still in no
        # output and in no file under VEHSIM_HOME (Spark's logs, checkpoints, the spool)
        assert AZURITE_ACCOUNT_KEY not in done.stdout + done.stderr
        for path in (tmp_path / "home").rglob("*"):
            if path.is_file():
                assert AZURITE_ACCOUNT_KEY not in path.read_text(errors="replace"), path

        # With use_emulator, object_store reads the emulator's address from the environment.
        monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", azurite)
        lake = Catalog(settings)
        options = lake.storage_options()
        tables = {}
        for entry in catalog.ALL_TABLES:
            uri = lake.uri(entry)
            assert uri == f"abfs://{container}/vehsim/{entry.layer}/{entry.name}"
            via_az = DeltaTable(uri.replace("abfs://", "az://", 1), storage_options=options)
            assert DeltaTable(uri, storage_options=options).version() == via_az.version()
            tables[entry.id] = via_az

        bronze_rows = tables[BRONZE_EVENTS.id].to_pyarrow_table()
        partitions, offsets = (
            bronze_rows["partition"].to_pylist(),
            bronze_rows["offset"].to_pylist(),
        )
        assert (
            len(set(zip(partitions, offsets, strict=True))) == bronze_rows.num_rows == len(records)
        ), "each record once"
        assert sorted(bronze.original_value(r) for r in bronze_rows.to_pylist()) == sorted(
            value for _, value in records
        )
        # The streaming sink's transaction (query id, batch id) is in the log on the account.
        app_id = bronze.query_id(bronze.checkpoint_path(settings))
        assert tables[BRONZE_EVENTS.id].transaction_version(app_id) is not None
        # Bronze is append-only: its blobs are the ones its log lists, nothing left behind.
        blobs = {
            p.split("/bronze/events/", 1)[1]
            for p in fs.find(f"{container}/vehsim/bronze/events")
            if p.endswith(".parquet")
        }
        added = tables[BRONZE_EVENTS.id].get_add_actions(flatten=True)
        assert blobs == set(pa.table(added)["path"].to_pylist())

        def rows(entry):
            return tables[entry.id].to_pyarrow_table()

        telemetry = rows(catalog.SILVER_TELEMETRY)
        assert telemetry.num_rows == len(set(telemetry["event_id"].to_pylist()))
        assert telemetry.num_rows == len(VEHICLES) * EVENTS_PER_VEHICLE
        assert rows(catalog.SILVER_QUARANTINE).num_rows == len(NOT_EVENTS)
        assert rows(catalog.DQ_RUNS).num_rows >= 1
        trips = rows(catalog.GOLD_TRIPS)
        assert sorted(trips["vehicle_id"].to_pylist()) == sorted(VEHICLES)
        assert rows(catalog.GOLD_VEHICLE_MINUTE).num_rows == len(VEHICLES) * 3
        assert rows(catalog.GOLD_FEATURES).num_rows >= 1
        assert rows(catalog.GOLD_RUNS).num_rows >= 1
    finally:
        fs.rm(container, recursive=True)
    assert not fs.exists(container)
