"""Synthetic prediction logs for the demo: a reference set and monthly production logs.

The credit-PD scorecard's inputs, score and 12-month default flag, generated with a
fixed seed so the demo is the same everywhere. A "drifted" month moves incomes
down, utilisation up, adds a region never seen in the reference, and lets the
score lose some of its power.
"""

from __future__ import annotations

from pathlib import Path

REGIONS = ["north", "south", "east", "west", "capital"]
CHANNELS = ["branch", "online", "broker"]


def credit_log(rows: int, *, seed: int, drifted: bool = False):
    """A pyarrow Table of ``rows`` credit applications with score and outcome."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    income = rng.lognormal(mean=10.4 - (0.25 if drifted else 0.0), sigma=0.45, size=rows)
    utilisation = rng.beta(2.0 + (1.2 if drifted else 0.0), 5.0, size=rows)
    age = rng.integers(18, 80, size=rows).astype("float64")
    tenure = rng.gamma(2.0, 18.0, size=rows).round()
    region_p = [0.22, 0.22, 0.2, 0.2, 0.16]
    regions = list(REGIONS)
    if drifted:
        regions.append("overseas")
        region_p = [0.17, 0.17, 0.17, 0.17, 0.17, 0.15]
    region = rng.choice(regions, size=rows, p=region_p)
    channel = rng.choice(CHANNELS, size=rows, p=[0.3, 0.55, 0.15])
    # A few missing incomes, as real logs have.
    income[rng.random(rows) < 0.004] = np.nan
    logit = (-3.2 - 0.9 * (np.log(np.nan_to_num(income, nan=30000.0)) - 10.4)
             + 3.0 * (utilisation - 0.3) - 0.01 * (age - 45) - 0.004 * tenure
             + np.where(channel == "broker", 0.35, 0.0))
    truth = logit + (rng.normal(0, 0.9, size=rows) if drifted else 0.0)
    defaulted = (rng.random(rows) < 1 / (1 + np.exp(-truth))).astype("int8")
    score = 1 / (1 + np.exp(-logit))
    return pa.table({
        "application_id": pa.array([f"A{seed:02d}{i:07d}" for i in range(rows)]),
        "income": income, "utilisation": utilisation, "age": age, "tenure_months": tenure,
        "region": region, "channel": channel, "score": score, "defaulted": defaulted,
    })


def write_credit_logs(folder: Path, *, reference_rows: int = 20_000, month_rows: int = 50_000,
                      months: tuple[str, str] = ("2026-09", "2026-10")) -> dict[str, Path]:
    """Reference (Parquet), a stable month (CSV.gz) and a drifted month (Parquet)."""
    stable, drifted = months
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"reference": folder / "reference.parquet",
             stable: folder / f"predictions-{stable}.csv.gz",
             drifted: folder / f"predictions-{drifted}.parquet"}
    pq.write_table(credit_log(reference_rows, seed=1), paths["reference"])
    import pyarrow as pa

    with pa.CompressedOutputStream(str(paths[stable]), "gzip") as out:
        pacsv.write_csv(credit_log(month_rows, seed=9), out)
    pq.write_table(credit_log(month_rows, seed=10, drifted=True), paths[drifted])
    return paths
