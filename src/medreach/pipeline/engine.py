"""The engine that runs the pipeline's Ibis expressions: DuckDB in this process (the default) or Spark
(`MEDREACH_ENGINE=spark`, with `MEDREACH_SPARK_MASTER` = `local[*]` or a cluster's master URL). The same
expression gives the same rows on either; a test holds them to it."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import ibis

_spark_lock = threading.Lock()


def spark_session(master: str):
    """One SparkSession per process (Spark allows no more), made on first use: UTC, no web UI."""
    from pyspark.sql import SparkSession

    with _spark_lock:
        return (
            SparkSession.builder.master(master)
            .appName("medreach-pipeline")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            # Parquet timestamps as UTC instants (the INT96 default reads back without a zone elsewhere)
            .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.driver.memory", "2g")
            .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "medreach-spark-warehouse"))
            .getOrCreate()
        )


def connect(name: str = "duckdb", spark_master: str = "local[*]"):
    """An Ibis backend for `name` ("duckdb" or "spark")."""
    if name == "spark":
        return ibis.pyspark.connect(spark_session(spark_master))
    if name == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET TimeZone = 'UTC'")
        con.raw_sql("SET preserve_insertion_order = false")  # lets large scans and writes run in parallel
        return con
    raise ValueError(f"unknown engine {name!r}: duckdb or spark")


def release(con, name: str) -> None:
    if name == "duckdb":
        con.disconnect()  # (a SparkSession lives as long as the process)


def has_events(lake_dir: Path) -> bool:
    return any((lake_dir / "events").glob("day=*/*.parquet"))


def read_events(con, lake_dir: Path):
    """The event lake as an Ibis table (files written before a column existed read it as NULL)."""
    if con.name == "pyspark":
        return con.read_parquet(str(lake_dir / "events"), mergeSchema="true")
    return con.read_parquet(
        str(lake_dir / "events" / "day=*" / "*.parquet"), union_by_name=True, hive_partitioning=False
    )


def materialize(expr):
    """Compute once, reuse: a temporary table (DuckDB) or a cached DataFrame (Spark)."""
    return expr.cache()


def write_parquet(con, expr, folder: Path, partition_by: str | None = None) -> None:
    """Write `expr` as Parquet files under `folder` (by `partition_by`=value sub-folders if given): DuckDB
    from this process, Spark from its executors."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if con.name == "pyspark":
        options = {"partitionBy": partition_by} if partition_by else {}
        con.to_parquet(expr, folder, mode="overwrite", compression="zstd", **options)
    elif partition_by:
        con.to_parquet(expr, folder, partition_by=partition_by, compression="zstd")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        con.to_parquet(expr, folder / "data.parquet", compression="zstd")


def read_folder(con, folder: Path):
    """A folder of Parquet files written by `write_parquet` (without partitions), as an Ibis table."""
    if con.name == "pyspark":
        return con.read_parquet(str(folder))
    return con.read_parquet(str(folder / "*.parquet"))


def to_arrow(con, expr):
    """`expr`'s rows as an Arrow table, the same from either engine: Spark hands timestamps back without their
    zone (its session runs in UTC), so they are marked UTC as DuckDB's are."""
    import pyarrow as pa

    table = con.to_pyarrow(expr)
    fields = [
        pa.field(f.name, pa.timestamp(f.type.unit, tz="UTC"))
        if pa.types.is_timestamp(f.type) and f.type.tz is None
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))
