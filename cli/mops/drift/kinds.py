"""Column kinds: how a column is read, and how it is compared (Evidently's inference).

Two decisions, made at two moments:

* **storage** (before reading, from the files' types; :func:`storage_kind`): a
  column is read as float64 numbers or as strings. The reference and the current
  window are decided together, so a column with no value at all on one side (an
  all-null column has Arrow type ``null`` in a CSV) takes the other side's kind.
* **kind** (after reading, from the current window's type and values;
  :func:`infer_kind`): Evidently 0.7's ``infer_column_type`` - float numeric;
  integer categorical when it has at most 10 distinct values; string text when
  more than half of its non-null values are distinct, else categorical; boolean
  and dictionary (pandas ``category``) categorical. A kind declared in the plan
  wins over the inference.

Pure: Arrow types and counts in, names out. Importing it loads nothing heavy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mops.errors import UsageError

NUMERIC = "numeric"
CATEGORICAL = "categorical"
TEXT = "text"
#: Kinds a plan may declare (``monitoring.columns.<name>.kind``).
KINDS = (NUMERIC, CATEGORICAL, TEXT)

#: Evidently's ``INTEGER_CARDINALITY_LIMIT``: integers with at most this many
#: distinct values are categorical.
INTEGER_CARDINALITY_LIMIT = 10
#: A string column is text when its distinct values exceed this share of its values.
TEXT_UNIQUE_SHARE = 0.5

# Type classes of a column in a file, from its Arrow type.
INTEGER = "integer"
FLOAT = "float"
STRING = "string"
BOOLEAN = "boolean"
DICTIONARY = "dictionary"
NULL = "null"
UNSUPPORTED = "unsupported"


def type_class(data_type: Any) -> str:
    """The class of an Arrow type: integer, float, string, boolean, dictionary, null or unsupported."""
    import pyarrow as pa

    if pa.types.is_dictionary(data_type):
        return DICTIONARY
    if pa.types.is_integer(data_type):
        return INTEGER
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return FLOAT
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    ):
        return STRING
    if pa.types.is_boolean(data_type):
        return BOOLEAN
    if pa.types.is_null(data_type):
        return NULL
    return UNSUPPORTED


def combined_class(classes: Iterable[str]) -> str:
    """The class of a column over the files of one window (null files ignored).

    Integers and floats together are float; any string makes it string; a window
    with values of no file is null.
    """
    seen = {c for c in classes if c != NULL}
    if not seen:
        return NULL
    if len(seen) == 1:
        return next(iter(seen))
    if seen <= {INTEGER, FLOAT}:
        return FLOAT
    return STRING


def is_numeric_class(cls: str) -> bool:
    return cls in (INTEGER, FLOAT)


def infer_kind(cls: str, *, n_values: int, n_unique: int, integral: bool = True) -> str:
    """Evidently's kind for a column of class *cls* in the current window.

    *n_values* counts the non-missing values, *n_unique* the distinct ones;
    *integral* says whether every value of an integer column is a whole number
    (a CSV column typed from its first block may hold ``1.5`` further on).
    """
    if cls == INTEGER and integral:
        return CATEGORICAL if n_unique <= INTEGER_CARDINALITY_LIMIT else NUMERIC
    if cls in (INTEGER, FLOAT):
        return NUMERIC
    if cls == STRING:
        return TEXT if n_unique > TEXT_UNIQUE_SHARE * n_values else CATEGORICAL
    return CATEGORICAL


def storage_kinds(
    files: Sequence[tuple[str, Mapping[str, Any]]],
    columns: Sequence[str],
    *,
    declared: Mapping[str, str],
    prediction: str | None = None,
    label: str | None = None,
    task: str | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """How to read each column of *files* (path and Arrow type per column): numeric or categorical.

    Decided from every file of both windows together, so that a column with no
    value in one window (Arrow type ``null``) is read as the other window's is.
    The prediction and the label are numeric (a boolean label reads as 0/1), except for a
    ``multiclass`` *task*, whose label and prediction are classes (read as text).
    Returns the storage kind and, for messages, where it came from, e.g.
    ``"int64 in ref.parquet"``. Raises :class:`UsageError` for types drift cannot
    compare and for a column whose files disagree (numbers in one, text in another).
    """
    kinds: dict[str, str] = {}
    origins: dict[str, str] = {}
    classes = task == "multiclass"
    for name in columns:
        kind = declared.get(name)
        if classes and name in (label, prediction):
            kind = CATEGORICAL
        numbers = texts = booleans = None
        for path, types in files:
            data_type = types[name]
            cls = type_class(data_type)
            where = f"{data_type} in {path}"
            if cls == UNSUPPORTED:
                raise UsageError(f"{path}: column {name!r} has type {data_type}, which drift cannot "
                                 "compare (expected numbers, strings or booleans)")
            if name == label and not classes and cls not in (INTEGER, FLOAT, BOOLEAN, NULL):
                raise UsageError(f"{path}: label column {name!r} has type {data_type}; expected numbers "
                                 "or booleans (or set monitoring.task: multiclass for classes)")
            if cls == DICTIONARY and kind == NUMERIC and _numeric(data_type.value_type):
                cls = FLOAT  # categories of numbers, declared numeric: read the numbers
            if cls in (INTEGER, FLOAT):
                numbers = numbers or where
            elif cls == BOOLEAN:
                booleans = booleans or where
            elif cls in (STRING, DICTIONARY):
                texts = texts or where
        seen = numbers or texts or booleans or "no values seen"
        if classes and name in (label, prediction):
            kinds[name], origins[name] = CATEGORICAL, seen
            continue
        if name == label:
            kinds[name], origins[name] = NUMERIC, seen
            continue
        if name == prediction:
            if texts or booleans:
                raise UsageError(f"prediction column {name!r} must be numeric, but it is {texts or booleans}")
            kinds[name] = NUMERIC
        elif kind == NUMERIC:
            if texts:
                raise UsageError(f"column {name!r} is declared numeric but is {texts}")
            kinds[name] = NUMERIC  # booleans read as 0/1
        elif kind in (CATEGORICAL, TEXT):
            kinds[name] = CATEGORICAL
        elif numbers and (texts or booleans):
            raise UsageError(f"column {name!r} has incompatible types: {numbers} but {texts or booleans}")
        else:
            # No file with a value at all: read as numbers; the comparison reports no data.
            kinds[name] = CATEGORICAL if (texts or booleans) else NUMERIC
        origins[name] = f"declared {kind}; {seen}" if kind else seen
    return kinds, origins


def _numeric(data_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(data_type) or pa.types.is_floating(data_type))
