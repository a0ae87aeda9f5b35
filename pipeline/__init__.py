"""Orchestration: manifest → Ray DAG → run directory → statistics and reports."""

__version__ = "0.1.0"
