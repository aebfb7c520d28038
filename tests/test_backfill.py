"""The backfill flow against a real Prefect server, a real worker and the ingest-window deployment,
over the bundled sample site (loopback HTTP) into a SQLite warehouse.

- the dry run lists windows and creates nothing (no child runs, no warehouse);
- a backfill killed halfway (kill -9) and rerun finishes without redoing finished windows and
  without duplicate rows; then ``reprocess="failed"`` reruns exactly the failed window and
  ``missing`` runs nothing;
- without an ingest deployment the windows run as subflows;
- a scheduled run lists the windows missed since the last completed one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.plugins.prefect import BIN, ROOT, sample_range, stop_process, wait_for, warehouse_rows
from union_news.warehouse import Warehouse
from union_news.windows import split_windows

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

DEPLOYMENT = "ingest/ingest-window"


def _windows(url: str, source: str = "sample") -> dict[tuple[date, date], object]:
    if not Path(url.split("///", 1)[1]).exists():
        return {}
    try:
        return {(r.since, r.until): r for r in Warehouse(url).windows(source)}
    except Exception:  # noqa: BLE001 - tables not created yet
        return {}


def _children(server, backfill_run_id: str) -> list[dict]:
    return server.flow_runs(flow_runs={"parent_flow_run_id": {"any_": [backfill_run_id]}})


def _window_runs(server, warehouse: str) -> list[dict]:
    runs = server.flow_runs(deployments={"name": {"any_": ["ingest-window"]}})
    return [r for r in runs if r["parameters"].get("warehouse_url") == warehouse]


def _backfill(server, **params):
    from flows.backfill import backfill

    with server.settings():
        state = backfill(deployment_name=DEPLOYMENT, return_state=True, **params)
    return state, str(state.state_details.flow_run_id)


def test_dry_run_lists_windows_and_creates_nothing(prefect_server, tmp_path):
    from flows.backfill import backfill

    warehouse = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with prefect_server.settings():
        state = backfill(since=date(2024, 1, 15), until=date(2024, 4, 30), sources=["sample"],
                         dry_run=True, warehouse_url=warehouse, return_state=True)
    summary = state.result()
    run_id = str(state.state_details.flow_run_id)
    labels = [w.label for w in split_windows(date(2024, 1, 15), date(2024, 4, 30))]
    assert labels == ["2024-04", "2024-03", "2024-02", "2024-01-15..2024-01-31"]
    assert [row["window"] for row in summary["plan"]] == labels
    assert {row["action"] for row in summary["plan"]} == {"run"}
    assert not (tmp_path / "warehouse.db").exists()
    assert _children(prefect_server, run_id) == []
    keys = {a["key"] for a in prefect_server.artifacts(run_id)}
    assert keys == {"backfill-plan"}


def test_killed_backfill_resumes_then_failed_reruns_exactly_the_failed(prefect_deployed, tmp_path):
    server = prefect_deployed
    site, since, until, size, expected = sample_range(2)
    warehouse = f"sqlite:///{tmp_path / 'warehouse.db'}"
    windows = split_windows(since, until, size)
    assert len(windows) == 2
    with site:
        common = {"since": since, "until": until, "sources": ["sample"], "window": size,
                  "max_concurrent": 1, "warehouse_url": warehouse, "base_url": site.base_url}
        code = (
            "from datetime import date; from flows.backfill import backfill; "
            f"backfill(since=date.fromisoformat('{since}'), until=date.fromisoformat('{until}'), "
            f"sources=['sample'], window={size!r}, max_concurrent=1, warehouse_url={warehouse!r}, "
            f"base_url={site.base_url!r}, deployment_name={DEPLOYMENT!r})"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=server.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            wait_for(lambda: any(r.status == "completed" for r in _windows(warehouse).values()),
                     300, 0.5, what="the first window to complete")
            os.killpg(proc.pid, signal.SIGKILL)  # the crash: no chance to clean up
            proc.wait(timeout=10)
        finally:
            stop_process(proc, grace=1)
        before = {k: r.flow_run_id for k, r in _windows(warehouse).items()
                  if r.status == "completed"}
        assert 0 < len(before) < len(windows), "the kill came too late to test a resume"

        # The rerun resumes: finished windows are not redone, the unfinished one runs once (a
        # child the killed backfill had already created is awaited, not created again).
        state, _ = _backfill(server, **common)
        assert state.is_completed(), state.message
        first = _windows(warehouse)
        assert {w.key() for w in windows} <= {k for k, r in first.items() if r.status == "completed"}
        for key, run_id in before.items():
            assert first[key].flow_run_id == run_id, "a finished window was redone"
        runs = _window_runs(server, warehouse)
        assert sorted(r["name"] for r in runs) == sorted(f"ingest {w.label}" for w in windows)
        assert all("source:sample" in r["tags"] for r in runs)
        assert warehouse_rows(warehouse) == expected

        # reprocess=failed runs exactly the failed window, as a new child run.
        broken = windows[-1]
        Warehouse(warehouse).record_window("sample", broken.since, broken.until, "failed",
                                           first[broken.key()].flow_run_id, {"note": "test"})
        state, run_id = _backfill(server, reprocess="failed", **common)
        assert state.is_completed(), state.message
        assert [c["name"] for c in _children(server, run_id)] == [f"ingest {broken.label}"]
        second = _windows(warehouse)
        assert second[broken.key()].status == "completed"
        assert second[broken.key()].flow_run_id != first[broken.key()].flow_run_id
        for w in windows[:-1]:
            assert second[w.key()].flow_run_id == first[w.key()].flow_run_id

        # Nothing is missing any more: reprocess=missing runs nothing.
        state, run_id = _backfill(server, reprocess="missing", **common)
    assert state.is_completed()
    assert _children(server, run_id) == []
    assert state.result()["skipped"] == len(windows)
    assert warehouse_rows(warehouse) == expected, "a rerun duplicated or lost rows"


def test_missed_windows_are_listed_with_one_backfill_command(prefect_server):
    from datetime import UTC, datetime

    from prefect import flow

    from flows.backfill import report_missed_windows

    @flow(name="scheduled-check")
    def check() -> list[str]:
        records = [(date(2024, 3, 1), date(2024, 3, 4), "completed"),
                   (date(2024, 3, 6), date(2024, 3, 6), "completed")]
        # 2024-03-10 06:00 in Hanoi ingests 03-09 itself; 03-07 and 03-08 were missed
        # (03-05 lies before the last completed window and is a backfill's business).
        missed = report_missed_windows("sample", records, datetime(2024, 3, 9, 23, tzinfo=UTC))
        return [w.label for w in missed]

    with prefect_server.settings():
        state = check(return_state=True)
    assert state.result() == ["2024-03-07", "2024-03-08"]
    arts = prefect_server.artifacts(str(state.state_details.flow_run_id))
    assert [a["key"] for a in arts] == ["missed-windows"]
    text = arts[0]["data"]
    assert "2024-03-07" in text and "2024-03-08" in text
    assert "--param since=2024-03-07 --param until=2024-03-08" in text


def test_without_a_deployment_windows_run_as_subflows(prefect_server, tmp_path):
    """No ingest deployment reachable: each window runs as a subflow, one at a time."""
    from flows.backfill import backfill

    site, since, until, size, expected = sample_range(2)
    warehouse = f"sqlite:///{tmp_path / 'warehouse.db'}"
    windows = split_windows(since, until, size)
    with site, prefect_server.settings():
        state = backfill(since=since, until=until, sources=["sample"], window=size,
                         warehouse_url=warehouse, base_url=site.base_url,
                         deployment_name="no-such/deployment", return_state=True)
    assert state.is_completed(), state.message
    run_id = str(state.state_details.flow_run_id)
    children = _children(prefect_server, run_id)
    assert sorted(c["name"] for c in children) == sorted(f"ingest {w.label}" for w in windows)
    records = _windows(warehouse)
    assert all(records[w.key()].status == "completed" for w in windows)
    assert warehouse_rows(warehouse) == expected


def test_cli_dry_run_prints_the_plan(prefect_server, tmp_path):
    db = tmp_path / "warehouse.db"
    done = subprocess.run(
        [str(BIN / "union-news"), "backfill", "--since", "2024-02-20", "--until", "2024-03-10",
         "--window", "week", "--source", "sample", "--dry-run", "--warehouse", f"sqlite:///{db}"],
        cwd=ROOT, env={**prefect_server.env, "COLUMNS": "200"}, capture_output=True, text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    labels = [w.label for w in split_windows(date(2024, 2, 20), date(2024, 3, 10), "week")]
    for label in labels:
        assert label in done.stdout
    assert done.stdout.count("never run") == len(labels)
    assert not db.exists()
