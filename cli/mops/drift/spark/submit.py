"""The file ``spark-submit`` runs: mops's command line, in the driver spark-submit starts.

spark-submit runs Python files, not console scripts, so a scheduled job names this one::

    spark-submit --master yarn --deploy-mode client ... \\
        "$(python -c 'import mops.drift.spark.submit as s; print(s.__file__)')" \\
        drift --all --engine spark --format json

The engine then uses the session spark-submit configured (its master, executors and
settings), see :mod:`mops.drift.spark.session`.
"""

from __future__ import annotations

if __name__ == "__main__":
    from mops.main import run

    run()
