"""What the outcome figures cost: the same windows compared without a label, with one (binary:
performance, calibration per decile, DeLong), and with segments and a protected attribute.

Not collected by pytest. Run it directly:

    .venv/bin/python tests/benchmarks/outcomes_bench.py                  # 1M reference + 1M current rows
    .venv/bin/python tests/benchmarks/outcomes_bench.py --rows 200000

Each plan runs in the same process, one after the other, on the same Parquet files
(two features, a score, a 0/1 label, a three-valued channel and a two-valued sex);
wall time of ``profile_windows`` + ``compare``, what ``mops drift`` runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def table(rows: int, seed: int):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    score = 1 / (1 + np.exp(-x))
    return pa.table({"x": x, "z": rng.normal(size=rows), "score": score,
                     "y": (rng.random(rows) < score).astype(np.int8),
                     "channel": rng.choice(["branch", "online", "partner"], rows), "sex": rng.choice(["f", "m"], rows)})


def main() -> None:
    import pyarrow.parquet as pq

    from mops.drift.comparison import compare
    from mops.drift.engines import local
    from mops.drift.plan import DriftPlan

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in each window")
    rows = parser.parse_args().rows
    plans = {
        "features and score": dict(features=["x", "z"], prediction="score"),
        "+ label (binary: performance, calibration, DeLong)": dict(features=["x", "z"], prediction="score",
                                                                   label="y"),
        "+ segments [channel], protected [sex]": dict(features=["x", "z"], prediction="score", label="y",
                                                      segments=["channel"], protected=["sex"]),
    }
    with tempfile.TemporaryDirectory() as folder:
        ref, cur = Path(folder) / "ref.parquet", Path(folder) / "cur.parquet"
        pq.write_table(table(rows, 1), ref)
        pq.write_table(table(rows, 2), cur)
        for name, settings in plans.items():
            plan = DriftPlan(**settings)  # type: ignore[arg-type]
            start = time.perf_counter()
            r, c = local.profile_windows([ref], [cur], plan)
            with r, c:
                compare(r, c, plan)
            print(f"{name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
