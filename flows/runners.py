"""Task runners for the flows: threads by default, Dask for CPU-heavy stages on a cluster.

``make_task_runner(name)`` understands:

- ``"threads"`` (default) or ``"threads:N"``: Prefect's ThreadPoolTaskRunner (N workers);
- ``"dask"`` or ``"dask:N"``: a local Dask cluster (N worker processes) through prefect-dask;
- ``"dask-threads"``: a local in-process Dask cluster (one worker, threads; light, for tests);
- ``"tcp://host:8786"`` (any Dask scheduler address): an existing Dask cluster.

The name comes from the caller, else ``UNION_NEWS_TASK_RUNNER``, else ``threads``.
prefect-dask is optional (``uv add prefect-dask`` or ``pip install prefect-dask``).
"""

from __future__ import annotations

import os
from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

ENV_VAR = "UNION_NEWS_TASK_RUNNER"


def _count(name: str, default: int | None) -> int | None:
    _, _, n = name.partition(":")
    if not n:
        return default
    if not n.isdigit() or int(n) < 1:
        raise ValueError(f"task runner {name!r}: the worker count must be a positive integer")
    return int(n)


def _dask(**kwargs: Any) -> TaskRunner:
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError("the dask task runner needs prefect-dask: uv add prefect-dask") from exc
    return DaskTaskRunner(**kwargs)


def make_task_runner(name: str | None = None) -> TaskRunner:
    """A fresh task runner for ``name`` (see the module doc)."""
    name = (name or os.environ.get(ENV_VAR) or "threads").strip().lower()
    if name == "threads" or name.startswith("threads:"):
        return ThreadPoolTaskRunner(max_workers=_count(name, None))
    if name == "dask-threads":
        return _dask(cluster_kwargs={"n_workers": 1, "processes": False, "threads_per_worker": 2,
                                     "dashboard_address": None})
    if name == "dask" or name.startswith("dask:"):
        workers = _count(name, min(4, os.cpu_count() or 1))
        return _dask(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                     "dashboard_address": None})
    if "://" in name:
        return _dask(address=name)
    raise ValueError(
        f"unknown task runner {name!r}: use threads[:N], dask[:N], dask-threads or a Dask "
        "scheduler address (tcp://host:8786)"
    )
