"""The engine that runs the pipeline's Ibis expressions: DuckDB in this process (the default) or Spark
(`MEDREACH_ENGINE=spark`, with `MEDREACH_SPARK_MASTER` = `local[*]` or a cluster's master URL). The same
expression gives the same rows on either; a test holds them to it."""

from __future__ import annotations

import threading

import ibis

_spark_lock = threading.Lock()


def spark_session(master: str):
    """One SparkSession per process (Spark allows no more), made on first use: UTC, no web UI."""
    from pyspark.sql import SparkSession

    with _spark_lock:
        return (SparkSession.builder.master(master).appName("medreach-pipeline")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", "8")
                .config("spark.driver.memory", "2g")
                .getOrCreate())


def connect(name: str = "duckdb", spark_master: str = "local[*]"):
    """An Ibis backend for `name` ("duckdb" or "spark")."""
    if name == "spark":
        return ibis.pyspark.connect(spark_session(spark_master))
    if name == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET TimeZone = 'UTC'")
        return con
    raise ValueError(f"unknown engine {name!r}: duckdb or spark")
