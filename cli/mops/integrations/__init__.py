"""Other tools mops reads from: each an optional extra, imported only by the command using it.

:mod:`.mlflow` fetches a model version from an MLflow tracking server and model
registry (``mops import mlflow``).
"""
