"""Configurable task runners: threads by default, Dask on a local cluster."""

from __future__ import annotations

import pytest
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runners import make_task_runner
from union_news.numbers import parse_number


@task(task_run_name="parse {text}")
def parse(text: str) -> tuple[float | None, str]:
    from distributed import get_worker

    try:
        where = get_worker().address
    except ValueError:
        where = "not on a dask worker"
    return parse_number(text), where


def test_threads_by_default_and_from_the_environment(monkeypatch):
    monkeypatch.delenv("UNION_NEWS_TASK_RUNNER", raising=False)
    assert isinstance(make_task_runner(), ThreadPoolTaskRunner)
    assert make_task_runner("threads:3")._max_workers == 3
    monkeypatch.setenv("UNION_NEWS_TASK_RUNNER", "dask-threads")
    assert type(make_task_runner()).__name__ == "DaskTaskRunner"
    with pytest.raises(ValueError, match="unknown task runner"):
        make_task_runner("spark")
    with pytest.raises(ValueError, match="positive integer"):
        make_task_runner("threads:0")


def test_a_flow_maps_a_stage_on_a_local_dask_cluster(prefect_server):
    pytest.importorskip("prefect_dask")
    texts = ["1.250", "3,5", "12"]

    @flow(task_runner=make_task_runner("dask-threads"))
    def parse_all(items: list[str]) -> list:
        return parse.map(items).result()

    with prefect_server.settings():
        results = parse_all(texts)
    assert [value for value, _ in results] == [parse_number(t) for t in texts]
    assert all(value is not None for value, _ in results)
    assert {where for _, where in results} != {"not on a dask worker"}
    assert all(where.startswith("inproc://") for _, where in results)
