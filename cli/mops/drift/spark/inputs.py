"""What the Spark engine reads: paths, globs, URIs and catalog tables, typed as the local engine types them.

An input is a string. ``table:db.name`` is a catalog table (``--current-table``);
anything else is handed to Spark's reader as it is: a file, a directory (a
partitioned one such as ``logs/dt=2026-11-*/`` too), a glob, or an object-store
URI (``s3a://``, ``abfss://``, ``gs://``, ``dbfs:/``). The format comes from the
name (``.parquet``/``.pq``, ``.csv``/``.csv.gz``, ``.json``/``.jsonl``/``.ndjson``
(``.gz``), ``.orc``), from the files inside a local directory, or from
``--input-format``.

Column types decide how a column is read and compared, as in the local engine
(:func:`mops.drift.kinds.storage_kinds`): each input's Spark types are mapped to
the Arrow type classes the local engine sees. Parquet, ORC and JSON carry their
types. CSV is read as text and typed the way Arrow's CSV reader types it: a
column whose values are all integers is integer, all ``true``/``false`` boolean,
all numbers float, else string; Arrow's null spellings (``NA``, ``NULL``,
``NaN``, ...) are null. A column with no value at all in an input is of type
null there (it takes the other inputs' type).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mops.drift.kinds import BOOLEAN, FLOAT, INTEGER, NULL, NUMERIC, storage_kinds, type_class
from mops.drift.plan import DriftPlan, infer_task
from mops.errors import UsageError

PARQUET, CSV, JSON, ORC = "parquet", "csv", "json", "orc"
FORMATS = (PARQUET, CSV, JSON, ORC)
TABLE_PREFIX = "table:"
_SUFFIXES = (
    (".parquet", PARQUET), (".pq", PARQUET), (".orc", ORC),
    (".csv", CSV), (".csv.gz", CSV), (".csv.bz2", CSV),
    (".json", JSON), (".jsonl", JSON), (".ndjson", JSON),
    (".json.gz", JSON), (".jsonl.gz", JSON), (".ndjson.gz", JSON),
)
#: Arrow's CSV reader reads these as null (pyarrow.csv.ConvertOptions().null_values).
CSV_NULLS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")
_CSV_TRUE, _CSV_FALSE = ("True", "TRUE", "true"), ("False", "FALSE", "false")
_INTEGER_RE = r"^[+-]?[0-9]+$"
_FLOAT_RE = r"^[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity))$"
#: Categories read from numbers are marked so that the driver spells them as Arrow does ("1e+20", "5").
NUMBER_MARK = "\u0000"
SIDE, SOURCE = "_mops_side", "_mops_source"
REFERENCE, CURRENT = 0, 1


@dataclass(frozen=True)
class Input:
    """One input of a window: a path/glob/URI or a table, and the rows it keeps."""

    text: str
    where: str | None = None

    @property
    def table(self) -> str | None:
        return self.text[len(TABLE_PREFIX):] if self.text.startswith(TABLE_PREFIX) else None

    @property
    def shown(self) -> str:
        return self.text + (f" WHERE {self.where}" if self.where else "")


@dataclass
class Read:
    """An input read: its Spark DataFrame (filtered) and the Arrow type of each plan column."""

    input: Input
    frame: Any
    types: dict[str, pa.DataType]
    #: parquet, csv, json or orc; None for a table.
    format: str | None = None


@dataclass
class Windows:
    """Both windows as one DataFrame: a side and an input number per row, the plan's columns typed."""

    frame: Any
    #: Alias of each read column in ``frame``.
    aliases: dict[str, str]
    storage: dict[str, str]
    origins: dict[str, str]
    #: Combined type class of each read column in the reference and in the current window.
    classes: tuple[dict[str, str], dict[str, str]]
    #: The inputs of each window, in order (``SOURCE`` numbers them across both windows).
    inputs: tuple[list[Input], list[Input]]


def input_format(text: str, given: str | None) -> str:
    """The format of an input: *given*, else from its name or the files in a local directory."""
    if given:
        if given not in FORMATS:
            raise UsageError(f"--input-format {given}: expected one of {', '.join(FORMATS)}")
        return given
    name = text.rstrip("/").lower()
    for suffix, fmt in sorted(_SUFFIXES, key=lambda s: -len(s[0])):
        if name.endswith(suffix):
            return fmt
    for directory in _local_directories(text):
        for _root, dirs, files in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            for file in sorted(files):
                if file.startswith((".", "_")) or file.endswith(".crc"):
                    continue
                lowered = file.lower()
                for suffix, fmt in sorted(_SUFFIXES, key=lambda s: -len(s[0])):
                    if lowered.endswith(suffix):
                        return fmt
    raise UsageError(f"{text}: cannot tell the format from the name; pass --input-format "
                     f"({', '.join(FORMATS)})")


def partition_base(text: str) -> str | None:
    """The folder above the first partition (``name=value``) or glob segment of *text*, if there is one."""
    segments = text.split("/")
    for i, segment in enumerate(segments):
        if i and ("=" in segment or any(c in segment for c in "*?[{")):
            base = "/".join(segments[:i])
            return base if base and not base.endswith(":") else None
    return None


def _local_directories(text: str) -> list[str]:
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) and not text.startswith("file:"):
        return []  # an object-store URI: nothing to look at from here
    path = text[len("file:"):] if text.startswith("file:") else text
    if path.startswith("//"):
        path = path[2:]
    return [p for p in sorted(glob.glob(path)) if os.path.isdir(p)]


def read_windows(spark: Any, reference: Sequence[Input], current: Sequence[Input], plan: DriftPlan, *,
                 input_format_name: str | None = None) -> Windows:
    """Read both windows' inputs, decide each column's storage from all of them, and type them."""
    names = plan.read_columns()
    reads = [[_read(spark, i, names, input_format_name) for i in side] for side in (reference, current)]
    everything = reads[0] + reads[1]
    resolve_task(plan, reads[0])
    storage, origins = storage_kinds([(r.input.shown, r.types) for r in everything], names,
                                     declared=plan.declared_kinds(), prediction=plan.prediction, label=plan.label,
                                     task=plan.task)
    aliases = {name: f"c{i}" for i, name in enumerate(names)}
    frames = []
    for number, (side, read) in enumerate([(REFERENCE, r) for r in reads[0]] + [(CURRENT, r) for r in reads[1]]):
        frames.append(_typed(read, storage, aliases, side, number))
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    classes = tuple({n: _combined([type_class(r.types[n]) for r in side]) for n in names} for side in reads)
    return Windows(frame, aliases, storage, origins, (classes[0], classes[1]),
                   (list(reference), list(current)))


def resolve_task(plan: DriftPlan, reference: Sequence[Read]) -> None:
    """Fill in ``plan.task`` from the reference's label and prediction, as the local engine does
    (:func:`mops.drift.engines.local.resolve_task`), with one aggregate per input."""
    from pyspark.sql import functions as F

    from mops.drift.spark.passes import finite

    if plan.label is None or plan.task is not None or plan.prediction is None:
        return
    label_class = _combined([type_class(r.types[plan.label]) for r in reference])
    prediction_class = _combined([type_class(r.types[plan.prediction]) for r in reference])
    values, binary, whole, prediction_whole, unit = 0, True, True, True, True
    if label_class in (INTEGER, FLOAT) and prediction_class in (INTEGER, FLOAT, NULL):
        for read in reference:
            y, p = (_csv_value(n).try_cast("double") if read.format == CSV else _col(n).cast("double")
                    for n in (plan.label, plan.prediction))
            y_ok, p_ok = finite(y), finite(p)
            row = read.frame.agg(
                F.count(F.when(y_ok, 1)).alias("n"),
                F.count(F.when(y_ok & (y != 0) & (y != 1), 1)).alias("other"),
                F.count(F.when(y_ok & (y != F.floor(y)), 1)).alias("fraction"),
                F.count(F.when(p_ok & (p != F.floor(p)), 1)).alias("p_fraction"),
                F.count(F.when(p_ok & ((p < 0) | (p > 1)), 1)).alias("p_outside")).collect()[0]
            values += int(row["n"])
            binary = binary and not row["other"]
            whole = whole and not row["fraction"]
            prediction_whole = prediction_whole and not row["p_fraction"]
            unit = unit and not row["p_outside"]
    plan.task = infer_task(label_class, prediction_class, label_values=values, label_binary=binary,
                           label_whole=whole, prediction_whole=prediction_whole, prediction_unit=unit)
    plan.validate()


def _combined(classes: list[str]) -> str:
    from mops.drift.kinds import combined_class

    return combined_class(classes)


def _read(spark: Any, item: Input, names: Sequence[str], given_format: str | None) -> Read:
    frame, fmt = _load(spark, item, given_format)
    fields = [f.name for f in frame.schema.fields]
    missing = [c for c in names if c not in fields]
    if missing:
        listed = ", ".join(repr(c) for c in missing)
        found = ", ".join(repr(c) for c in fields) or "none"
        noun = "column" if len(missing) == 1 else "columns"
        raise UsageError(f"{item.text}: missing {noun} {listed} (columns found: {found})")
    for name in names:
        times = fields.count(name)
        if times > 1:
            raise UsageError(f"{item.text}: column {name!r} appears {times} times, so mops cannot tell which "
                             f"one to read: rename or drop the others")
    if item.where:
        try:  # the schema too: Spark Connect checks a filter's columns only when asked
            frame = frame.where(item.where)
            frame.schema  # noqa: B018
        except Exception as exc:
            raise UsageError(f"{item.text}: cannot apply the filter {item.where!r}: {_first_line(exc)}") from exc
    schema = {f.name: f.dataType for f in frame.schema.fields}
    types = {name: arrow_type(schema[name]) for name in names}
    if fmt in (CSV, JSON):
        types = _observed_types(frame, names, types, csv=fmt == CSV)
    return Read(item, frame, types, fmt)


def _load(spark: Any, item: Input, given_format: str | None) -> tuple[Any, str | None]:
    table = item.table
    try:
        if table is not None:
            frame = spark.read.table(table)
            fmt = None
        else:
            fmt = input_format(item.text, given_format)
            reader = spark.read.format(fmt)
            if fmt == CSV:
                # RFC 4180 as Arrow reads it: quoted values may hold newlines and doubled quotes.
                reader = (reader.option("header", "true").option("inferSchema", "false")
                          .option("multiLine", "true").option("escape", '"').option("mode", "FAILFAST"))
            elif fmt == JSON:
                reader = reader.option("mode", "FAILFAST")
            base = partition_base(item.text)
            if base:
                # Partition directories (dt=2026-11-01/) keep their partition columns for --where.
                reader = reader.option("basePath", base)
            frame = reader.load(item.text)
        frame.schema  # noqa: B018 - resolves the input now, so a missing path fails here
    except UsageError:
        raise
    except Exception as exc:
        what = f"table {table}" if table is not None else item.text
        raise UsageError(f"{what}: cannot read: {_first_line(exc)}") from exc
    return frame, fmt


def arrow_type(spark_type: Any) -> pa.DataType:
    """The Arrow type the local engine would see for a Spark column type."""
    from pyspark.sql import types as T

    if isinstance(spark_type, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return pa.int64()
    if isinstance(spark_type, T.FloatType | T.DoubleType | T.DecimalType):
        return pa.float64()
    if isinstance(spark_type, T.StringType | T.VarcharType | T.CharType):
        return pa.string()
    if isinstance(spark_type, T.BooleanType):
        return pa.bool_()
    if isinstance(spark_type, T.NullType):
        return pa.null()
    if isinstance(spark_type, T.TimestampType | T.TimestampNTZType):
        return pa.timestamp("us")
    if isinstance(spark_type, T.DateType):
        return pa.date32()
    return pa.binary()  # arrays, maps, structs, binary: types drift cannot compare


def _observed_types(frame: Any, names: Sequence[str], types: dict[str, pa.DataType], *, csv: bool
                    ) -> dict[str, pa.DataType]:
    """Types from the values: null where an input has none; CSV's text typed as Arrow types it."""
    from pyspark.sql import functions as F

    exprs = []
    for i, name in enumerate(names):
        col = _csv_value(name) if csv else _col(name)
        exprs.append(F.count(col).alias(f"n{i}"))
        if csv:
            exprs += [F.count(F.when(col.rlike(_INTEGER_RE), 1)).alias(f"i{i}"),
                      F.count(F.when(col.isin(*_CSV_TRUE, *_CSV_FALSE), 1)).alias(f"b{i}"),
                      F.count(F.when(col.rlike(_FLOAT_RE), 1)).alias(f"f{i}")]
    row = frame.agg(*exprs).collect()[0]
    out = dict(types)
    for i, name in enumerate(names):
        n = row[f"n{i}"]
        if n == 0:
            out[name] = pa.null()
        elif csv:
            out[name] = (pa.int64() if row[f"i{i}"] == n else pa.bool_() if row[f"b{i}"] == n
                         else pa.float64() if row[f"f{i}"] == n else pa.string())
    return out


def _col(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _csv_value(name: str) -> Any:
    from pyspark.sql import functions as F

    col = _col(name)
    return F.when(col.isin(*CSV_NULLS), F.lit(None).cast("string")).otherwise(col)


def _typed(read: Read, storage: Mapping[str, str], aliases: Mapping[str, str], side: int, number: int) -> Any:
    """The input's plan columns as the engine compares them: float64 numbers or strings."""
    from pyspark.sql import functions as F

    csv = read.format == CSV
    selected = [F.lit(side).cast("int").alias(SIDE), F.lit(number).cast("int").alias(SOURCE)]
    for name, alias in aliases.items():
        cls = type_class(read.types[name])
        raw = _csv_value(name) if csv else _col(name)
        if storage[name] == NUMERIC:
            if cls == BOOLEAN:
                value = F.when(F.lower(raw.cast("string")) == "true", F.lit(1.0)).when(
                    F.lower(raw.cast("string")) == "false", F.lit(0.0))
            elif csv:
                value = raw.try_cast("double")
            else:
                value = raw.cast("double")
        elif cls in (INTEGER, FLOAT):
            number_value = raw.try_cast("double") if csv else raw.cast("double")
            value = F.when(F.isnan(number_value) | number_value.isNull(), F.lit(None).cast("string")).otherwise(
                F.concat(F.lit(NUMBER_MARK), number_value.cast("string")))
        elif cls == BOOLEAN:
            value = F.lower(raw.cast("string"))
        else:
            value = raw.cast("string")
        selected.append(value.alias(alias))
    return read.frame.select(*selected)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
