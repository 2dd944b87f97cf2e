"""The Spark engine: both windows compared where the data is, exactly.

``mops drift --engine spark`` (installed with ``pip install 'mops[spark]'``).
Inputs are whatever Spark reads - paths, globs, partitioned directories,
object-store URIs - or catalog tables (``table:db.name``), each window with an
optional SQL filter. The algorithm and why: :mod:`mops.drift.spark`.

Unlike the local engine it does not hand back profiles to compare on this
machine (a numeric column's profile is all its values): it compares in Spark
and returns the result (:class:`~mops.drift.engines.base.ComparingEngine`).
PySpark is imported only when the engine runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mops.drift.engines.base import Progress
from mops.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from mops.drift.plan import DriftPlan
    from mops.drift.profile import Profile
    from mops.drift.spark.compare import Compared

name = "spark"

#: The options ``compare_windows`` takes (``mops drift`` fills them from its --spark-*, --*-table,
#: --where and --input-format options).
OPTIONS = ("master", "input_format", "where", "reference_where")


def compare_windows(
    reference: Sequence[str | os.PathLike[str]],
    current: Sequence[str | os.PathLike[str]],
    plan: DriftPlan,
    *,
    options: Mapping[str, Any] | None = None,
) -> Compared:
    """Compare the windows in Spark; see :class:`~mops.drift.engines.base.ComparingEngine`.

    *options*: ``master`` (else the active session, ``SPARK_REMOTE`` or
    ``local[*]``), ``input_format`` (parquet, csv, json, orc; else from the
    names), ``where`` and ``reference_where`` (Spark SQL filters on the current
    window and on the reference).
    """
    from mops.drift.spark.compare import compare_windows as compare
    from mops.drift.spark.inputs import Input, read_windows
    from mops.drift.spark.session import get_session

    settings = dict(options or {})
    unknown = sorted(set(settings) - set(OPTIONS))
    if unknown:
        raise UsageError(f"the spark engine takes no option {', '.join(unknown)}")
    plan.validate()
    if not reference:
        raise UsageError("no reference given")
    if not current:
        raise UsageError("no current log given")
    spark = get_session(settings.get("master"))
    ref_inputs = [Input(os.fspath(p), settings.get("reference_where")) for p in reference]
    cur_inputs = [Input(os.fspath(p), settings.get("where")) for p in current]
    try:
        windows = read_windows(spark, ref_inputs, cur_inputs, plan,
                               input_format_name=settings.get("input_format"))
        return compare(spark, windows, plan)
    except UsageError:
        raise
    except Exception as exc:
        # A Spark job that fails on the data (a corrupt file, a CSV row FAILFAST refuses, a lost
        # connection) is bad input, said in one line; anything else is a bug and stays one.
        if _is_spark_error(exc):
            raise UsageError(f"Spark could not read or compare the windows: {_spark_reason(exc)} "
                             f"(--traceback shows Spark's own message)") from exc
        raise


def _is_spark_error(exc: BaseException) -> bool:
    from pyspark.errors import PySparkException

    if isinstance(exc, PySparkException):
        return True
    try:
        from py4j.protocol import Py4JError  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - Spark Connect has no py4j
        return False
    return isinstance(exc, Py4JError)


def _spark_reason(exc: BaseException) -> str:
    """Spark's error condition (e.g. MALFORMED_RECORD_IN_PARSING) and the innermost Java exception.

    Not Spark's message: it may quote a row of the data, and this line ends up in CI logs.
    """
    names: list[str] = []
    condition = None
    for method in ("getCondition", "getErrorClass"):
        try:
            condition = condition or getattr(exc, method)()
        except Exception:  # noqa: BLE001, S112 - not every error has one
            continue
    cause = getattr(exc, "java_exception", None)
    for _ in range(20):
        if cause is None:
            break
        try:
            names.append(str(cause.getClass().getName()))
            for method in ("getCondition", "getErrorClass"):
                try:
                    condition = getattr(cause, method)() or condition
                except Exception:  # noqa: BLE001, S112 - not a SparkThrowable
                    continue
            cause = cause.getCause()
        except Exception:  # noqa: BLE001 - the JVM is gone
            break
    parts = [str(condition)] if condition else []
    parts.append(names[-1] if names else type(exc).__name__)
    return ", ".join(parts)


def profile_windows(
    reference: Sequence[str],
    current: Sequence[str],
    plan: DriftPlan,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[Profile, Profile]:
    """Not offered: a profile holds every value of a numeric column; use :func:`compare_windows`."""
    raise UsageError("the spark engine compares the windows in Spark (compare_windows); it does not build "
                     "profiles on this machine")
