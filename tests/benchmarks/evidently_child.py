"""Evidently's DataDriftPreset on the benchmark files, for drift_bench.py --evidently.

Run by *another* interpreter (a venv with evidently==0.7.23 and pandas==2.3.3; Evidently
does not import under pandas 3): it must not import mops. Prints one JSON document:
the in-process time and, per column, Evidently's method, value and threshold.

    python evidently_child.py REFERENCE.parquet CURRENT.parquet NUMERIC,COLUMNS CATEGORICAL,COLUMNS
"""

import json
import sys
import time

t0 = time.perf_counter()
import pandas as pd  # noqa: E402
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

reference_path, current_path, numeric, categorical = sys.argv[1:5]
numeric_cols, categorical_cols = numeric.split(","), categorical.split(",")
columns = numeric_cols + categorical_cols
reference = pd.read_parquet(reference_path, columns=columns)
current = pd.read_parquet(current_path, columns=columns)
definition = DataDefinition(numerical_columns=numeric_cols, categorical_columns=categorical_cols)
snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(current, data_definition=definition),
                                           Dataset.from_pandas(reference, data_definition=definition))
out = {"columns": {}}
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config["type"].endswith("ValueDrift"):
        out["columns"][config["column"]] = {"method": config["method"], "value": metric["value"],
                                           "threshold": config["threshold"]}
    elif config["type"].endswith("DriftedColumnsCount"):
        out["drifted_share"] = metric["value"]["share"]
out["total"] = time.perf_counter() - t0
print(json.dumps(out))
