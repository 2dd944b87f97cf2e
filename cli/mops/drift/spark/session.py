"""The Spark session the engine runs in, and the check that PySpark is there.

Where the session comes from, first found:

1. ``--spark-master URL`` (``local[4]``, ``yarn``, ``spark://host:7077``,
   ``k8s://...``; ``sc://host:15002`` is Spark Connect);
2. a session already running in this process, or the one ``spark-submit`` or
   Databricks set up for it (``pyspark``, ``spark-submit $(which mops) drift ...``,
   a Databricks notebook or job): used as it is, with its own master and
   configuration;
3. ``SPARK_REMOTE`` (Spark Connect, e.g. ``sc://spark-connect:15002``);
4. ``local[*]``: Spark on this machine, on every core.

PySpark is imported here and nowhere before ``--engine spark`` is asked for,
so the base install stays light.
"""

from __future__ import annotations

import os
import shutil
import warnings
from typing import Any

from mops.errors import UsageError

#: What a user installs to get the engine.
EXTRA = "mops[spark]"


def require_pyspark() -> Any:
    """The ``pyspark`` module, or a usage error naming the extra to install."""
    # PySpark warns about pandas versions even where no pandas is used (mops passes rows, not frames).
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        import pyspark
    except ImportError:
        raise UsageError(f"--engine spark needs PySpark, which is not installed: pip install '{EXTRA}' "
                         f"(or run mops where PySpark is, e.g. on a Databricks cluster)") from None
    return pyspark


def get_session(master: str | None = None) -> Any:
    """A Spark session: from *master*, the active one, ``SPARK_REMOTE``, or ``local[*]``."""
    require_pyspark()
    from pyspark.sql import SparkSession

    if master and master.startswith("sc://"):
        return _connect(master)
    if not master:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        if os.environ.get("PYSPARK_GATEWAY_PORT") or os.environ.get("DATABRICKS_RUNTIME_VERSION"):
            # Launched by spark-submit (its JVM is waiting) or on Databricks: their master and settings.
            return SparkSession.builder.appName("mops drift").getOrCreate()
        remote = os.environ.get("SPARK_REMOTE")
        if remote:
            return _connect(remote)
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise UsageError("--engine spark runs Spark on this machine, which needs Java 17 or later: install a "
                         "JDK (e.g. openjdk-17-jre-headless) or set JAVA_HOME; or pass --spark-master or "
                         "SPARK_REMOTE to use a cluster")
    builder = SparkSession.builder.master(master or "local[*]").appName("mops drift")
    # Spark's own progress bars go to stderr as lines; mops keeps stderr for its messages.
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if (master or "local").startswith("local"):
        # One machine: a few shuffle partitions per core, not a cluster's 200 (each is a task).
        builder = builder.config("spark.sql.shuffle.partitions", str(4 * (os.cpu_count() or 1)))
        builder = builder.config("spark.ui.enabled", "false")
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: say so in one line
        raise UsageError(f"cannot start Spark (master {master or 'local[*]'}): {_first_line(exc)}") from exc
    # Spark logs each failed query at ERROR with its plan; mops reports the failure itself, in one line.
    session.sparkContext.setLogLevel("FATAL")
    return session


#: How long to wait for a Spark Connect server to accept a connection. PySpark's own
#: client retries an unreachable server with back-off for minutes before it gives up.
CONNECT_TIMEOUT = 10.0


def _connect(remote: str) -> Any:
    from pyspark.sql import SparkSession

    _reachable(remote)
    try:
        return SparkSession.builder.remote(remote).appName("mops drift").getOrCreate()
    except ImportError as exc:
        raise UsageError(f"Spark Connect ({remote}) needs PySpark's Connect client: pip install "
                         f"'mops[spark-connect]' ({_first_line(exc)})") from None
    except Exception as exc:
        raise UsageError(f"cannot connect to Spark at {remote}: {_first_line(exc)}") from exc


def _reachable(remote: str) -> None:
    """Refuse at once, naming the address, when nothing listens at a ``sc://host:port`` URL."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(remote.split(";", 1)[0])
        scheme, host, port = parts.scheme, parts.hostname, parts.port or 15002
    except ValueError:  # a port that is not a number
        scheme, host, port = "", None, 0
    if scheme != "sc" or not host:
        raise UsageError(f"SPARK_REMOTE / --spark-master {remote!r} is not a Spark Connect URL (sc://HOST[:PORT])")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"cannot reach Spark Connect at {host}:{port} ({reason}); is the server running "
                         f"(start-connect-server.sh) and SPARK_REMOTE right?") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
