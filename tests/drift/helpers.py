"""Writing a table in each log format the readers take."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq


def write(table: pa.Table, path, *, row_group_size: int = 1000) -> str:
    """Write ``table`` as Parquet, CSV(.gz) or JSON Lines(.gz), by ``path``'s suffix."""
    path = str(path)
    if path.endswith(".parquet"):
        pq.write_table(table, path, row_group_size=row_group_size)
    elif ".csv" in path:
        if path.endswith(".gz"):
            with pa.CompressedOutputStream(path, "gzip") as out:
                pcsv.write_csv(table, out)
        else:
            pcsv.write_csv(table, path)
    else:
        lines = "".join(json.dumps(row) + "\n" for row in table.to_pylist())
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "wt") as fh:
            fh.write(lines)
    return path
