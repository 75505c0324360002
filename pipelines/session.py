"""The one place that builds a SparkSession for vehsim jobs."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

#: Defaults sized for a laptop or a 2-core CI machine; override per deployment.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.sql.streaming.stopGracefullyOnShutdown": "true",
    # Silver's validation and Gold's aggregates fuse into large generated methods. HotSpot does
    # not JIT-compile a method over 8,000 bytes of bytecode (-XX:HugeMethodLimit), so such a
    # stage would run interpreted, several times slower; past this size Spark splits the stage
    # into separately compiled expressions instead (Spark SQL configuration guide).
    "spark.sql.codegen.hugeMethodLimit": "8000",
    # Data source options can carry credentials (Kafka SASL, lake storage keys): keep them out
    # of plans, error messages and the UI.
    "spark.sql.redaction.options.regex": (
        "(?i)url|secret|password|token|account_key|connection_string|sas|jaas"
    ),
}


def build_spark(
    app_name: str = "vehsim",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
):
    """Create (or return the running) SparkSession.

    Args:
        app_name: Spark application name.
        master: Spark master URL; default ``$VEHSIM_SPARK_MASTER`` or ``local[*]``.
        conf: extra Spark settings, applied over :data:`DEFAULT_CONF` and ``VEHSIM_SPARK_CONF``
            (``key=value;key=value``).

    Python workers must run this interpreter (pyarrow and vehsim live here), so
    ``PYSPARK_PYTHON`` and ``PYSPARK_DRIVER_PYTHON`` default to ``sys.executable``.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    settings = dict(DEFAULT_CONF)
    for item in filter(None, os.environ.get("VEHSIM_SPARK_CONF", "").split(";")):
        key, sep, value = item.partition("=")
        if not sep:
            from vehsim.errors import ConfigError

            raise ConfigError(f"VEHSIM_SPARK_CONF entry {item!r} is not key=value")
        settings[key.strip()] = value.strip()
    settings.update(conf or {})
    builder = SparkSession.builder.appName(app_name).master(
        master or os.environ.get("VEHSIM_SPARK_MASTER", "local[*]")
    )
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
