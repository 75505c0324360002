"""The one place that builds a SparkSession for vehsim jobs.

Every session carries Spark's Kafka source and delta-spark: their jars (declared in
``vehsim/data/jvm/spark/pom.xml``, fetched once by :func:`vehsim.jvm.ensure_jars`) go on
``spark.jars``, which the driver also serves to the executors of a cluster, and the Delta SQL
extension and catalog are configured.

Where it runs:

- ``local[*]`` by default;
- a cluster: ``master="spark://host:7077"`` or ``$VEHSIM_SPARK_MASTER`` (standalone, or ``yarn``
  / ``k8s://...`` where the deployment provides the rest);
- Spark Connect: ``remote="sc://host:15002"`` or ``$VEHSIM_SPARK_REMOTE``. The connectors must
  then be on the *server's* classpath (start it with the same jars, see ``docs/lakehouse.md``);
  the client sends only runtime SQL settings.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

from vehsim import jvm
from vehsim.config import Settings, load_settings
from vehsim.errors import ConfigError
from vehsim.jvm import ensure_jars
from vehsim_pipelines.catalog import Catalog

#: Defaults sized for a laptop or a 2-core CI machine; override per deployment.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    # Jobs print their own progress lines; Spark's stage bars would interleave with them.
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.sql.streaming.stopGracefullyOnShutdown": "true",
    # Silver's validation and Gold's aggregates fuse into large generated methods. HotSpot does
    # not JIT-compile a method over 8,000 bytes of bytecode (-XX:HugeMethodLimit), so such a
    # stage would run interpreted, several times slower; past this size Spark splits the stage
    # into separately compiled expressions instead (Spark SQL configuration guide).
    "spark.sql.codegen.hugeMethodLimit": "8000",
    # Generated classes are cached by their source text, 100 by default. One Silver and Gold
    # run generates about 330 (Silver's split validation alone is a few hundred projections),
    # so with the default each run evicted the previous run's classes and compiled all of them
    # again, with Janino and then HotSpot: 171 classes and 12-16 CPU seconds of JIT per run on
    # a million events. With room for them, a later run in the same session compiles none.
    "spark.sql.codegen.cache.maxEntries": "1000",
    # Parquet timestamps as INT64 microseconds (Spark's default is the legacy INT96, which
    # delta-rs reads as nanoseconds: a date outside 1677-2262 would not even load there).
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # Data source options can carry credentials (Kafka SASL, lake storage keys): keep them out
    # of plans, error messages and the UI.
    "spark.sql.redaction.options.regex": (
        "(?i)url|secret|password|token|account_key|connection_string|sas|jaas"
    ),
    # Settings whose name or value matches are shown redacted in logs, the UI and event logs.
    # Spark's default misses the lake's storage account key (``fs.azure.account.key.*``, see
    # ``Catalog.spark_conf``); SAS tokens and OAuth secrets match ``token`` and ``secret``.
    "spark.redaction.regex": "(?i)secret|password|token|access[.]?key|account[.]key|jaas",
    # A listener event that takes over a second to process is logged whole, and the environment
    # update holds every setting unredacted: on a busy machine the lake's storage key went into
    # the log file. The message says nothing the job's own progress lines do not.
    "spark.scheduler.listenerbus.logSlowEvent": "false",
}

#: delta-spark as the session's Delta implementation (Delta Lake's quick-start settings).
DELTA_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # Tables stay readable by delta-rs (``deltalake``), which notebooks, experiments and the
    # dashboard use: no deletion vectors (MERGE rewrites files instead), and no feature that
    # delta-rs cannot read is switched on by default.
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
    # Delta rebuilds a table's state from its log in this many tasks (default 50, sized for
    # large clusters; on a small machine the per-task overhead dominates every commit).
    "spark.databricks.delta.snapshotPartitions": "2",
}


#: Spark's driver logging: all to a file under ``VEHSIM_HOME/logs``, real errors to the console.
LOG4J_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"


def log_file(app_name: str) -> Path:
    """The file the driver of ``app_name`` logs to (``<VEHSIM_HOME>/logs/spark-<app>.log``)."""
    home = Path(os.environ.get("VEHSIM_HOME") or ".vehsim").expanduser().resolve()
    return home / "logs" / f"spark-{app_name}.log"


#: The class-data archive of Spark's driver JVMs (:mod:`vehsim_pipelines.class_archive`).
CLASS_ARCHIVE = "spark-driver"


def class_archive_location() -> tuple[str | None, list[Path]]:
    """The Java and the classpath folders the driver's class-data archive is made for: the
    jars of pyspark's wheel (the driver's classpath) and the connector jars."""
    return jvm.java_executable(), [
        d for d in (jvm.pyspark_jars_dir(), jvm.jars_root() / "spark") if d is not None
    ]


def class_archive_options(extra: str | None = None) -> list[str]:
    """The options that map the driver's class-data archive, when it was built and ``extra``
    (the JVM's own options) does not choose one itself."""
    if jvm.chooses_class_archive(extra):
        return []
    java, dirs = class_archive_location()
    return jvm.class_archive_options(CLASS_ARCHIVE, java, dirs)


def with_class_archive(java_options: str | None) -> str | None:
    """``java_options`` with the options that map the class archive in front (as they were
    when it was not built or they choose their own sharing; None for none at all)."""
    options = [*class_archive_options(java_options), *([java_options] if java_options else [])]
    return " ".join(options) or None


def _driver_java_conf(app_name: str, settings: Mapping[str, str]) -> dict[str, str]:
    """The driver's logging to a file, and its class-data archive when there is one."""
    path = log_file(app_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    logging_options = f"-Dlog4j2.configurationFile={LOG4J_CONFIG} -Dvehsim.log.file={path}"
    extra = with_class_archive(settings.get("spark.driver.extraJavaOptions"))
    return {"spark.driver.extraJavaOptions": f"{logging_options} {extra or ''}".strip()}


def runs_on_this_machine(master: str) -> bool:
    """Whether the executors of ``master`` are JVMs on this machine: ``local-cluster[...]`` or a
    standalone master on loopback (``vehsim spark cluster``)."""
    if master.startswith("local-cluster"):
        return True
    if not master.startswith("spark://"):
        return False
    hosts = [part.rsplit(":", 1)[0] for part in master[len("spark://") :].split(",")]
    return all(host in ("127.0.0.1", "localhost") for host in hosts)


def _executor_java_conf(master: str, settings: Mapping[str, str]) -> dict[str, str]:
    """Executors on this machine run on the driver's classpath and map its class archive too;
    a remote cluster's machines do not have the file."""
    if not runs_on_this_machine(master):
        return {}
    options = with_class_archive(settings.get("spark.executor.extraJavaOptions"))
    return {"spark.executor.extraJavaOptions": options} if options else {}


def connector_jars() -> list[str]:
    """Paths of the Kafka-source and delta-spark jars (fetched with Maven the first time)."""
    return [str(p) for p in ensure_jars("spark")]


def _env_conf() -> dict[str, str]:
    settings: dict[str, str] = {}
    for item in filter(None, os.environ.get("VEHSIM_SPARK_CONF", "").split(";")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"VEHSIM_SPARK_CONF entry {item!r} is not key=value")
        settings[key.strip()] = value.strip()
    return settings


def build_spark(
    app_name: str = "vehsim",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    remote: str | None = None,
    lake: Settings | None = None,
):
    """Create (or return the running) SparkSession, with the Kafka source and delta-spark.

    Args:
        app_name: Spark application name.
        master: Spark master URL; default ``$VEHSIM_SPARK_MASTER`` or ``local[*]``.
        conf: extra Spark settings, applied over :data:`DEFAULT_CONF`, :data:`DELTA_CONF` and
            ``VEHSIM_SPARK_CONF`` (``key=value;key=value``).
        remote: a Spark Connect URL (``sc://host:port``); default ``$VEHSIM_SPARK_REMOTE``.
            Takes precedence over ``master``.
        lake: settings whose lake the session reads and writes (default: loaded from the
            environment). An ADLS Gen2 lake's Hadoop credentials (``Catalog.spark_conf``) go
            into the session, below ``VEHSIM_SPARK_CONF`` and ``conf``. A Spark Connect server
            needs them in its own configuration instead.

    Python workers must run this interpreter (pyarrow and vehsim live here), so
    ``PYSPARK_PYTHON`` and ``PYSPARK_DRIVER_PYTHON`` default to ``sys.executable``.
    """
    from pyspark.sql import SparkSession

    # pyspark 4.2 warns on import of its pandas helpers that pandas 3 is "not yet fully
    # supported". The jobs exchange data with Python through Arrow, not pandas conversions, and
    # run under pandas 3 in the tests; the warning would only alarm users of the command line.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    # pyspark also prints every SQL error with a query context as a JSON record on stderr, next
    # to the exception it raises anyway; vehsim reports the exception (or handles it) itself.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # Spark binds to the address the host name resolves to, or warns and picks another
    # interface; vehsim's local services stay on loopback.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings = dict(DEFAULT_CONF)
    settings.update(DELTA_CONF)
    remote = remote or os.environ.get("VEHSIM_SPARK_REMOTE") or None
    if not remote:
        settings.update(Catalog(lake or load_settings()).spark_conf())
    settings.update(_env_conf())
    settings.update(conf or {})
    if remote:
        if not remote.startswith("sc://"):
            raise ConfigError(f"a Spark Connect URL starts with sc://, got {remote!r}")
        builder = SparkSession.builder.remote(remote).appName(app_name)
        # Static settings (jars, extensions, driver address) belong to the Connect server.
        for key in ("spark.sql.session.timeZone", "spark.sql.shuffle.partitions"):
            builder = builder.config(key, settings[key])
        return builder.getOrCreate()
    settings.update(_driver_java_conf(app_name, settings))
    master = master or os.environ.get("VEHSIM_SPARK_MASTER") or "local[*]"
    settings.update(_executor_java_conf(master, settings))
    jars = connector_jars()
    if settings.get("spark.jars"):
        jars.append(settings["spark.jars"])
    settings["spark.jars"] = ",".join(jars)
    builder = SparkSession.builder.appName(app_name).master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def connect_server_command(
    port: int,
    host: str = "127.0.0.1",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    driver_memory: str | None = None,
) -> list[str]:
    """The command that starts a Spark Connect server with vehsim's connectors (for notebooks).

    Uses pyspark's own ``bin/spark-submit`` and the Connect server class shipped in the wheel
    (``jars/spark-connect_*.jar``). The server gets what :func:`build_spark` gives a session of
    its own: the connector jars, the Delta extension and catalog, :data:`DEFAULT_CONF`; its gRPC
    endpoint listens on ``host:port`` only. ``vehsim spark connect start`` runs it
    (:mod:`vehsim_pipelines.services`).

    Args:
        port: gRPC port of the server.
        host: Address the gRPC endpoint and the server's driver bind to.
        master: Where the server's Spark runs (default ``local[*]``).
        conf: Extra Spark settings, applied last.
        driver_memory: Heap of the server's driver JVM (e.g. ``1g``; default Spark's).
    """
    import pyspark

    spark_home = os.path.dirname(pyspark.__file__)
    args = [
        os.path.join(spark_home, "bin", "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--name",
        "vehsim-connect",
        "--master",
        master or "local[*]",
        "--jars",
        ",".join(connector_jars()),
    ]
    if driver_memory:
        args += ["--driver-memory", driver_memory]
    settings = dict(DEFAULT_CONF)
    settings.update(DELTA_CONF)
    settings["spark.driver.bindAddress"] = host
    settings["spark.driver.host"] = host
    settings["spark.connect.grpc.binding.address"] = host
    settings["spark.connect.grpc.binding.port"] = str(port)
    settings.update(conf or {})
    options = with_class_archive(settings.get("spark.driver.extraJavaOptions"))
    if options:
        settings["spark.driver.extraJavaOptions"] = options
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    # The Connect server is a class on Spark's own classpath, not an application jar.
    args.append("spark-internal")
    return args


__all__ = ["DEFAULT_CONF", "DELTA_CONF", "build_spark", "connect_server_command"]
