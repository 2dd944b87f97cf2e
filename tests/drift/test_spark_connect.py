"""The Spark engine through Spark Connect: a real Connect server, the local engine's answer.

The test starts Spark's own Connect server (``spark-submit --class
org.apache.spark.sql.connect.service.SparkConnectServer``, ``local[2]``) on a free
loopback port, the way a cluster runs it, and runs the installed ``mops`` as a
separate process with ``SPARK_REMOTE=sc://127.0.0.1:PORT``, as a user or a
Databricks job would. Nothing in the ``mops`` process starts a JVM: every figure
comes back over gRPC, and must equal the local engine's within 1e-9.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import missing_tool
from tests.drift.helpers import write
from tests.drift.test_spark import CARD as SPARK_CARD
from tests.drift.test_spark import assert_agree, mixed_log

try:
    import grpc  # noqa: F401
    import pyspark

    HAVE_CONNECT = True
except ImportError:  # pragma: no cover - the extra is not installed
    HAVE_CONNECT = False

pytestmark = pytest.mark.skipif(
    missing_tool(HAVE_CONNECT and shutil.which("java") is not None),
    reason="Spark Connect needs pip install 'mops[spark-connect]' and Java 17+")

MOPS = str(Path(sys.executable).with_name("mops"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``sc://127.0.0.1:PORT`` of a Spark Connect server running ``local[2]`` in its own JVM."""
    port = free_port()
    home = Path(pyspark.__file__).parent
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(home / "bin" / "spark-submit"), "--class",
             "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", "local[2]",
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=4",
             "spark-internal"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            if server.poll() is not None:
                pytest.fail(f"the Spark Connect server exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the Spark Connect server did not listen within 240 s")
                time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)


def drift(inventory: Path, *args: str, remote: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "PYSPARK_SUBMIT_ARGS")}
    if remote:
        env["SPARK_REMOTE"] = remote
    return subprocess.run([MOPS, "drift", *args, "--json"], cwd=inventory, env=env, capture_output=True,
                          text=True, timeout=600)


#: test_spark's card for another model id, with an AUC threshold too.
CARD = SPARK_CARD.replace("spark-pd", "connect-pd").replace("{psi: 0.2}", "{psi: 0.2, auc_drop: 0.01}")


def test_drift_over_spark_connect_equals_the_local_engine(connect_server: str, inventory: Path, mops):
    rng = np.random.default_rng(53)
    (inventory / "data").mkdir()
    write(mixed_log(rng, 3000), inventory / "data" / "reference.parquet")
    logs = inventory / "logs" / "dt=2026-11-28"
    logs.mkdir(parents=True)
    write(mixed_log(rng, 2500, shift=0.3), logs / "part-0.parquet")
    write(mixed_log(rng, 1500, shift=0.3), logs / "part-1.parquet")
    (inventory / "card.md").write_text(CARD)
    mops("register", "connect-pd", "--version", "1.0.0", "--card", "card.md", "--sha256", "c" * 64)

    parts = sorted(str(p) for p in logs.glob("part-*.parquet"))
    local_run = drift(inventory, "connect-pd", *[a for p in parts for a in ("--current", p)])
    connect_run = drift(inventory, "connect-pd", "--current", str(logs), "--engine", "spark",
                        remote=connect_server)
    assert local_run.returncode in (0, 1), local_run.stderr
    assert connect_run.returncode == local_run.returncode, connect_run.stderr[-3000:]
    expected, got = json.loads(local_run.stdout), json.loads(connect_run.stdout)
    assert_agree(expected, got)
    assert got["breaches"] and got["performance"]["current"]["auc"] is not None


def test_an_unreachable_connect_server_is_a_usage_error(inventory: Path, mops):
    """No server at SPARK_REMOTE: exit 2 naming the address, no traceback."""
    (inventory / "data").mkdir()
    write(mixed_log(np.random.default_rng(1), 200), inventory / "data" / "reference.parquet")
    (inventory / "card.md").write_text(CARD)
    mops("register", "connect-pd", "--version", "1.0.0", "--card", "card.md", "--sha256", "c" * 64)
    remote = f"sc://127.0.0.1:{free_port()}"
    run = drift(inventory, "connect-pd", "--current", "data/reference.parquet", "--engine", "spark",
                remote=remote)
    assert run.returncode == 2, run.stderr[-2000:]
    assert remote.removeprefix("sc://") in run.stderr and "Traceback" not in run.stderr
    assert not run.stdout
