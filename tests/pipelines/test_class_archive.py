"""Spark's drivers start from the class-data archive that ``make jars`` builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vehsim import events
from vehsim_pipelines import class_archive, session

pytestmark = pytest.mark.integration


def test_training_drive_is_valid_telemetry_in_bronze_order():
    rows = class_archive.training_bronze_rows(n_vehicles=2, duration_s=5.0, rate_hz=2.0)
    assert len(rows) == 20 and [r["offset"] for r in rows] == list(range(20))
    for row in rows:
        event = json.loads(row["raw_event"])
        events.validate_event(event)
        assert event["event_type"] == events.SIMULATION_RAW and row["key"] == event["vehicle_id"]


def test_a_new_driver_loads_its_classes_from_the_archive(tmp_path):
    """Every driver the jobs start maps the archive: its classes come from the shared file."""
    pytest.importorskip("pyspark", reason="needs the [spark] extra")
    archive = class_archive.build()  # at once: `make test` has built it
    assert session.class_archive_options() == [
        f"-XX:SharedArchiveFile={archive}",
        "-Xlog:cds*=off",
    ]
    loads = tmp_path / "class-load.log"
    code = (
        "from vehsim_pipelines.session import build_spark\n"
        f"spark = build_spark('archive-test', master='local[1]', conf={{"
        f"'spark.driver.extraJavaOptions': '-Xlog:class+load=info:file={loads}'}})\n"
        "assert spark.range(10).count() == 10\n"
        "spark.stop()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_SPARK")}
    env["VEHSIM_HOME"] = str(tmp_path / "home")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=600)
    log = loads.read_text()
    shared = log.count("source: shared objects file (top)")
    loaded = log.count("source: ")
    # the archive holds what a driver loads: most of its classes come from it
    assert shared > 5000 and shared > 0.5 * loaded, (shared, loaded)


def test_the_connect_server_starts_from_the_archive_too():
    class_archive.build()
    command = session.connect_server_command(15002)
    options = next(
        arg.split("=", 1)[1] for arg in command if arg.startswith("spark.driver.extraJavaOptions=")
    )
    assert options.split()[:2] == session.class_archive_options()


def test_a_session_that_chooses_its_own_sharing_gets_no_archive():
    assert session.class_archive_options("-Xshare:off") == []
    command = session.connect_server_command(
        15002, conf={"spark.driver.extraJavaOptions": "-XX:SharedArchiveFile=/mine.jsa"}
    )
    assert "spark.driver.extraJavaOptions=-XX:SharedArchiveFile=/mine.jsa" in command


@pytest.mark.parametrize(
    ("master", "here"),
    [
        ("local[2]", False),  # one JVM: the driver's options are the executors'
        ("local-cluster[1,2,1024]", True),
        ("spark://127.0.0.1:7077", True),
        ("spark://localhost:7077,127.0.0.1:7078", True),
        ("spark://spark-master.example:7077", False),
        ("yarn", False),
    ],
)
def test_executors_map_the_archive_only_on_this_machine(master, here):
    """A remote cluster's machines have no such file: their executors get no path of ours."""
    assert session.runs_on_this_machine(master) is here
    class_archive.build()
    conf = session._executor_java_conf(master, {"spark.executor.extraJavaOptions": "-Xss4m"})
    if here:
        assert conf["spark.executor.extraJavaOptions"].split() == [
            *session.class_archive_options(),
            "-Xss4m",
        ]
    else:
        assert conf == {}


def test_the_command_without_java_says_so_and_fails(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    proc = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "spark", "class-archive"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "no Java found" in proc.stderr, proc.stderr
