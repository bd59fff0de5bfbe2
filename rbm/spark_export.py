"""The report files written by Apache Spark (`make run TARGET=spark`, SPEC §6, §8, README "Spark").

The dbt build runs on Spark (dbt-spark's `session` method, profiles.yml target `spark`) and leaves its
tables in a local warehouse with an embedded metastore ($RBM_SPARK_DIR). This module opens a Spark
session on the same warehouse and has Spark write the report files: every report line is formatted
to text in Spark SQL exactly as DuckDB's CSV writer does (`rbm/report.py`), the lines of all files are
written in one job partitioned by carrier and generation date (one file each, rows in the report's
total order), and the files are then renamed into place. The bytes are the same as on DuckDB.

It also gives `rbm/report.py` a connection-like object (`connect()`) so the run summary reads the
Spark tables with the same queries.
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script (spark-submit rbm/spark_export.py)
    sys.path.insert(0, str(ROOT))

from rbm import report  # noqa: E402

SPARK_TARGET = "spark"


def prepare_environment() -> None:
    """RBM_SPARK_DIR as an absolute path (report.spark_dir), as rbm.py hands it to dbt: one warehouse."""
    os.environ["RBM_SPARK_DIR"] = str(report.spark_dir())


def profile_target(target: str = SPARK_TARGET) -> dict:
    """The dbt profile's Spark target with its `env_var()` calls rendered (the one source of settings)."""
    import jinja2
    import yaml

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise KeyError(f"environment variable {name} is not set (profiles.yml target {target})")
        return default

    profile = yaml.safe_load((ROOT / "profiles.yml").read_text(encoding="utf-8"))
    output = profile["rbm_billing"]["outputs"][target]
    environment = jinja2.Environment()

    def render(value):
        if isinstance(value, str):
            return environment.from_string(value).render(env_var=env_var)
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        return value

    return render(output)


_SESSION = None


def session():
    """The Spark session on the dbt build's warehouse (started once, stopped at exit)."""
    global _SESSION
    if _SESSION is None:
        from pyspark.sql import SparkSession

        prepare_environment()
        target = profile_target()
        builder = SparkSession.builder.enableHiveSupport()
        for key, value in target.get("server_side_parameters", {}).items():
            builder = builder.config(str(key), str(value))
        # As dbt-spark sets it for the build (non-ANSI casts and arithmetic).
        builder = builder.config("spark.sql.ansi.enabled", "false")
        _SESSION = builder.getOrCreate()
        _SESSION.sql(f"use {target['schema']}")
        atexit.register(stop)
    return _SESSION


def stop() -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


class _Result:
    def __init__(self, rows):
        self._rows = rows

    def fetchall(self) -> list[tuple]:
        return [tuple(row) for row in self._rows]


class SparkConnection:
    """The part of a DuckDB connection the run summary uses: `sql(query).fetchall()`."""

    def __enter__(self) -> "SparkConnection":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def sql(self, query: str) -> _Result:
        return _Result(session().sql(query).collect())


def connect() -> SparkConnection:
    return SparkConnection()


# ---------------------------------------------------------------------------------------------
# CSV lines as DuckDB's COPY … (format csv) writes them: a value is quoted ("…", quotes doubled)
# when it holds the delimiter, a quote, a line break or '#', or when it is the empty string
# (an empty field is NULL); everything else is written as is.
# ---------------------------------------------------------------------------------------------
_NEEDS_QUOTES = re.compile(r'[,"\n\r#]')


def csv_value(text: str | None) -> str:
    if text is None:
        return ""
    if text == "" or _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_field_sql(expr: str) -> str:
    """Spark SQL: one CSV field of `expr` (any type; cast to text as DuckDB prints it)."""
    text = f"cast({expr} as string)"
    return (
        f"case when {text} is null then ''"
        f" when {text} = '' or {text} rlike '[,\"\\\\n\\\\r#]'"
        f" then concat('\"', replace({text}, '\"', '\"\"'), '\"')"
        f" else {text} end"
    )


def csv_line_sql(columns: list[str]) -> str:
    return "concat_ws(',', " + ", ".join(csv_field_sql(f"`{c}`") for c in columns) + ")"


def header_line(columns: list[str]) -> str:
    return ",".join(csv_value(c) for c in columns)


def _sort_keys(order_by: str) -> list[str]:
    return [part.strip() for part in order_by.split(",") if part.strip()]


def _part_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.startswith("part-"))


def _unescape_partition(value: str) -> str:
    """Spark escapes special characters of partition values in folder names as %XX."""
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


def write_report_files(spark, staging: Path) -> list[Path]:
    """All report files in one Spark job, one file per carrier and generation date: the header line
    first, then the rows in the report's total order (report.REPORT_ORDER, NULLs last as on DuckDB).
    Returns their paths relative to `staging` (<carrier_id>/rbm_billable_events_<date>.csv)."""
    from pyspark.sql import functions as F

    keys = _sort_keys(report.REPORT_ORDER)
    body = spark.sql(
        "select carrier_id, generation_date, 1 as rbm_part, "
        f"{csv_line_sql(report.REPORT_COLUMNS)} as value, "
        + ", ".join(f"{key} as rbm_key_{i}" for i, key in enumerate(keys))
        + " from fct_report_rows"
    )
    headers = spark.sql(
        "select distinct carrier_id, generation_date, 0 as rbm_part, "
        f"'{header_line(report.REPORT_COLUMNS)}' as value from fct_report_rows"
    )
    lines = body.unionByName(headers, allowMissingColumns=True)
    written = staging / ".spark-reports"
    (
        lines.repartition("carrier_id", "generation_date")
        .sortWithinPartitions(
            "carrier_id", "generation_date", "rbm_part",
            *[F.col(f"rbm_key_{i}").asc_nulls_last() for i in range(len(keys))],
        )
        .select("carrier_id", "generation_date", "value")
        .write.partitionBy("carrier_id", "generation_date")
        .text(str(written))
    )
    relative_paths = []
    for carrier_folder in sorted(written.glob("carrier_id=*")):
        carrier_id = _unescape_partition(carrier_folder.name.removeprefix("carrier_id="))
        for date_folder in sorted(carrier_folder.glob("generation_date=*")):
            generation_date = _unescape_partition(date_folder.name.removeprefix("generation_date="))
            parts = _part_files(date_folder)
            if len(parts) != 1:
                raise RuntimeError(f"Spark wrote {len(parts)} files for {carrier_id} {generation_date}, expected 1")
            relative = Path(carrier_id) / f"rbm_billable_events_{generation_date}.csv"
            (staging / carrier_id).mkdir(parents=True, exist_ok=True)
            os.replace(parts[0], staging / relative)
            relative_paths.append(relative)
    shutil.rmtree(written, ignore_errors=True)
    return relative_paths


def write_query_csv(spark, query: str, path: Path) -> None:
    """One CSV file of a query's rows, in the query's own order, written by Spark as one partition."""
    from pyspark.sql import functions as F

    frame = spark.sql(query)
    columns = frame.columns
    # The position of each row in the query's order (ids grow along a sorted result).
    numbered = frame.withColumn("rbm_position", F.monotonically_increasing_id())
    body = numbered.selectExpr(f"{csv_line_sql(columns)} as value", "rbm_position", "1 as rbm_part")
    header = spark.createDataFrame([(header_line(columns), 0, 0)], "value string, rbm_position bigint, rbm_part int")
    folder = path.parent / f".spark-{path.name}"
    (
        header.unionByName(body)
        .repartition(1)
        .sortWithinPartitions("rbm_part", "rbm_position")
        .select("value")
        .write.text(str(folder))
    )
    parts = _part_files(folder)
    if len(parts) != 1:
        raise RuntimeError(f"Spark wrote {len(parts)} files for {path.name}, expected 1")
    os.replace(parts[0], path)
    shutil.rmtree(folder, ignore_errors=True)


def export_reports(output: Path) -> list[Path]:
    """As report.export_reports, with Spark writing: into a temporary folder inside `output`, moved
    into place only when everything was written; report files of an earlier run that no longer have
    events are removed; the side files (report.side_files) are written beside the reports. Returns the files whose
    bytes changed, as report.export_reports."""
    spark = session()
    output.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".rbm-export-", dir=output))
    try:
        relative_paths = write_report_files(spark, staging)
        side_files = report.side_files("spark")
        for name, query in side_files.items():
            write_query_csv(spark, query, staging / name)
        previous = report.previous_report_files(output)
        destinations = [output / relative for relative in relative_paths]
        changed = [destination for relative, destination in zip(relative_paths, destinations)
                   if report.move_into_place(staging / relative, destination)]
        for name in side_files:
            report.move_into_place(staging / name, output / name)
        report.remove_stale_files(previous - set(destinations), output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Write the report files of a build that ran on a Spark cluster (README "Spark on a cluster"):
    `spark-submit rbm/spark_export.py --cluster --output /mnt/reports` on a driver whose Spark session
    sees the build's tables; the output folder must be one every node of the cluster writes to."""
    import argparse

    parser = argparse.ArgumentParser(prog="spark_export.py", description=main.__doc__)
    parser.add_argument("--output", required=True, help="folder of the report files")
    parser.add_argument("--cluster", action="store_true",
                        help="use the Spark session of spark-submit (default: the local one of profiles.yml)")
    parser.add_argument("--schema", default="rbm_billing", help="the schema of the build's tables (with --cluster)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.cluster:
        from pyspark.sql import SparkSession

        global _SESSION
        _SESSION = SparkSession.builder.enableHiveSupport().getOrCreate()
        _SESSION.sql(f"use {args.schema}")
    for path in export_reports(Path(args.output)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
