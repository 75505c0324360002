"""Bronze on ADLS Gen2 (Blob API) through delta-rs storage options, against Azurite."""

from __future__ import annotations

import os
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
pytestmark = pytest.mark.integration

from vehsim_pipelines import bronze  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every installation; not a secret).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    """Azurite's Blob service in memory on a free loopback port; yields its endpoint URL."""
    if not AZURITE.exists():
        pytest.skip("Azurite is not installed: run 'make system-deps' (npm install azurite@3)")
    from vehsim.stream.broker import free_port

    port = free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent",
         "--disableTelemetry"],  # else it reports usage to Application Insights on every start
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}?comp=list", timeout=1)
            break
        except urllib.error.HTTPError:
            break  # it answers (unauthenticated requests are refused)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("Azurite did not start")
            time.sleep(0.2)
    yield endpoint
    proc.terminate()
    proc.wait(10)


def test_bronze_cli_lands_on_abfs_and_reads_back_through_az(
    azurite, kafka_broker, tmp_path, monkeypatch
):
    """The lake URI comes from VEHSIM_LAKE_URI, the storage options from the settings."""
    from adlfs import AzureBlobFileSystem
    from deltalake import DeltaTable
    from kafka import KafkaProducer

    from vehsim.config import load_settings
    from vehsim.stream.broker import ensure_topics

    container = f"lake{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEHSIM_", "AZURE"))}
    env.update(
        VEHSIM_HOME=str(tmp_path / "home"),
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"a{uuid.uuid4().hex[:8]}.",
        VEHSIM_LAKE_URI=f"abfs://{container}/vehsim",
        AZURE_STORAGE_ACCOUNT_NAME=ACCOUNT,
        AZURE_STORAGE_ACCOUNT_KEY=ACCOUNT_KEY,
        AZURE_STORAGE_USE_EMULATOR="true",
        AZURITE_BLOB_STORAGE_URL=azurite.rsplit("/", 1)[0],
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", env["AZURITE_BLOB_STORAGE_URL"])
    settings = load_settings(env)
    assert settings.lake_storage_options["use_emulator"] == "true"
    fs = AzureBlobFileSystem(
        connection_string=(
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={azurite};"
        )
    )
    fs.mkdir(container)
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, linger_ms=10)
    values = [b'{"n": %d}' % i for i in range(600)] + [b"\xff not text", b"plain"]
    for i, value in enumerate(values):
        producer.send(settings.telemetry_topic, value=value, partition=i % 3)
    producer.flush()
    producer.close()

    try:
        done = subprocess.run(
            [sys.executable, "-m", "vehsim.cli", "pipeline", "bronze", "--available-now",
             "--max-offsets-per-trigger", "400"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-4000:]

        uri = bronze.bronze_uri(settings)
        assert uri == f"abfs://{container}/vehsim/bronze/events"
        options = dict(settings.lake_storage_options)
        via_az = DeltaTable(uri.replace("abfs://", "az://", 1), storage_options=options)
        table = via_az.to_pyarrow_table()
        keys = set(zip(table["partition"].to_pylist(), table["offset"].to_pylist(), strict=True))
        assert len(keys) == table.num_rows == len(values)
        assert sorted(bronze.original_value(row) for row in table.to_pylist()) == sorted(values)
        app_id = bronze.query_id(bronze.checkpoint_path(settings))
        batches = via_az.transaction_version(app_id) + 1
        assert batches >= 2 and via_az.version() == batches, "one commit per batch"

        # The blobs are the ones the Delta log lists: nothing left behind.
        blobs = {
            p.split("/bronze/events/", 1)[1]
            for p in fs.find(f"{container}/vehsim/bronze/events")
            if p.endswith(".parquet")
        }
        assert blobs == set(pa.table(via_az.get_add_actions(flatten=True))["path"].to_pylist())
    finally:
        fs.rm(container, recursive=True)
    assert not fs.exists(container)
