"""The batch prediction on Spark (Splink's ``SparkAPI``), for a national run on a cluster.

The model is the same saved Splink JSON; only its SQL dialect changes (Splink renders the
comparison SQL for Spark through sqlglot: ``levenshtein`` and ``substr`` are Spark built-ins,
so Splink's extra similarity jar is not needed). Training stays on DuckDB (a sample suffices).
https://moj-analytical-services.github.io/splink/api_docs/database_apis.html
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from yteso.mpi.model import COLUMNS
from yteso.mpi.normalize import PatientFeatures


def local_spark(app_name: str = "yteso-mpi") -> Any:
    """A local-mode SparkSession (one per process: ``getOrCreate``); on a cluster, pass the
    session of ``spark-submit`` instead."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


def spark_predict(
    features: Sequence[PatientFeatures],
    splink_json: dict[str, object],
    threshold: float,
    spark: Any = None,
) -> list[tuple[str, str, float]]:
    """(id_l, id_r, match probability) of every blocked pair at or above ``threshold``."""
    from pyspark.sql.types import StringType, StructField, StructType
    from splink import Linker
    from splink.backends.spark import SparkAPI

    logging.getLogger("splink").setLevel(logging.WARNING)
    session = spark or local_spark()
    schema = StructType([StructField(column, StringType(), True) for column in COLUMNS])
    frame = session.createDataFrame([tuple(f.row().values()) for f in features], schema)
    # persist, not checkpoint: a local session has no checkpoint directory; on a cluster
    # with one, Splink's default (parquet) also works.
    database = SparkAPI(  # type: ignore[no-untyped-call]
        spark_session=session,
        break_lineage_method="persist",
        num_partitions_on_repartition=1,
        register_udfs_automatically=False,
    )
    table = database.register(frame, table_name=f"patients_{uuid.uuid4().hex}")
    settings = copy.deepcopy(splink_json)
    settings["sql_dialect"] = "spark"
    settings.pop("linker_uid", None)
    linker = Linker(table, settings, log_level=logging.WARNING)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    rows = predictions.as_spark_dataframe().select("id_l", "id_r", "match_probability").collect()
    return [(str(a), str(b), float(p)) for a, b, p in rows]


__all__ = ["local_spark", "spark_predict"]
