"""mops: model governance in a git repository."""

__version__ = "0.1.0"
