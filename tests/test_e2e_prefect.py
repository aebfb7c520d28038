"""End to end: a real ``prefect server start``, deploy/prefect.yaml deployed to a process pool, a
real worker, and the backfill deployment run with ``prefect deployment run`` against the bundled
sample site over loopback HTTP into a SQLite warehouse.

Checks the warehouse rows, the child runs (one per window, named after it), the artifacts through
Prefect's API, that triggering the same backfill twice at once creates no second set of child
runs, that the scheduled ingest has upcoming runs at 06:00 Hanoi time and that a scheduled run
takes its window from its scheduled start time (not the clock) and lists missed windows. With
Debian's chromium present it screenshots the finished run's Artifacts tab in the Prefect UI
(artifacts/e2e-backfill-run.png); in CI with UNION_NEWS_REQUIRE_CHROMIUM=1 a missing chromium
fails the test. ``union-news serve`` is tested on a server of its own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.plugins.prefect import (
    BIN,
    ROOT,
    running_server,
    sample_range,
    start_process,
    wait_for,
    warehouse_rows,
)
from union_news.pipeline import window_label
from union_news.warehouse import Warehouse
from union_news.windows import local_date, split_windows

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
SCREENSHOT = ROOT / "artifacts" / "e2e-backfill-run.png"


def _trigger(server, params: dict[str, str]) -> str:
    """`prefect deployment run 'backfill/backfill' --param ...` (no wait): the new run's id."""
    args = ["deployment", "run", "backfill/backfill"]
    for k, v in params.items():
        args += ["--param", f"{k}={v}"]
    done = server.cli(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"UUID:\s*([0-9a-f-]{36})", done.stdout)
    assert found, done.stdout
    return found.group(1)


def _final(server, run_id: str, timeout: float = 480) -> dict:
    def done():
        run = server.api("GET", f"/flow_runs/{run_id}")
        return run if run["state"]["type"] in FINAL else None

    return wait_for(done, timeout, 1, what=f"flow run {run_id} to finish")


def _keys(server, run_id: str) -> set[str]:
    return {a["key"] for a in server.artifacts(run_id) if a.get("key")}


def test_backfill_deployment_end_to_end(prefect_deployed, tmp_path):
    server = prefect_deployed
    site, since, until, size, expected = sample_range(2)
    warehouse = f"sqlite:///{tmp_path / 'warehouse.db'}"
    windows = split_windows(since, until, size)
    with site:
        params = {"since": since.isoformat(), "until": until.isoformat(),
                  "sources": '["sample"]', "window": size, "max_concurrent": "2",
                  "warehouse_url": warehouse, "base_url": site.base_url}
        # The same backfill triggered twice at once: the idempotency keys give one run per window.
        first = _trigger(server, params)
        second = _trigger(server, params)
        runs = [_final(server, first), _final(server, second)]
    assert [r["state"]["type"] for r in runs] == ["COMPLETED", "COMPLETED"], runs
    assert runs[0]["name"] == f"backfill sample {since}..{until} (month, missing)"

    children = server.flow_runs(flow_runs={"parent_flow_run_id": {"any_": [first, second]}})
    names = Counter(c["name"] for c in children)
    assert set(names) == {f"ingest {w.label}" for w in windows}, names
    assert len({c["id"] for c in children}) == len(windows), "the second trigger started its own runs"
    window_runs = server.flow_runs(deployments={"name": {"any_": ["ingest-window"]}})
    mine = [r for r in window_runs if r["parameters"].get("warehouse_url") == warehouse]
    assert sorted(r["name"] for r in mine) == sorted(f"ingest {w.label}" for w in windows)
    assert all(r["state"]["type"] == "COMPLETED" for r in mine)
    assert all({"source:sample", "backfill"} <= set(r["tags"]) for r in mine)

    # The warehouse holds exactly the rows the sample articles of those windows declare.
    assert warehouse_rows(warehouse) == expected
    records = {(r.since, r.until): r.status for r in Warehouse(warehouse).windows("sample")}
    assert records == {w.key(): "completed" for w in windows}

    # Artifacts through the API: plan, finished progress and results on the backfill run; the
    # summary table and the data-quality report on each window's run.
    arts = {a["key"]: a for a in server.artifacts(first)}
    assert {"backfill-plan", "backfill-progress", "backfill-results"} <= set(arts)
    assert float(arts["backfill-progress"]["data"]) == 100.0
    for child in mine:
        assert {"ingest-summary", "data-quality"} <= _keys(server, child["id"]), child["name"]

    _screenshot(server, first)


def test_scheduled_ingest_runs_its_scheduled_window(prefect_deployed, tmp_path):
    """Upcoming runs at 06:00 Hanoi, one at a time; an auto-scheduled run started now (long before
    its time) ingests the day before its *scheduled* date and lists the days missed since the last
    completed window."""
    server = prefect_deployed
    deployment = server.api("GET", "/deployments/name/ingest/scheduled-ingest")
    _one_at_a_time(deployment)
    assert "source:laodongthudo.vn" in deployment["tags"]
    upcoming = wait_for(
        lambda: server.flow_runs(deployments={"id": {"any_": [deployment["id"]]}},
                                 flow_runs={"state": {"type": {"any_": ["SCHEDULED"]}}},
                                 sort="EXPECTED_START_TIME_ASC"),
        60, 1, what="scheduled runs of the daily ingest")
    assert len(upcoming) >= 2
    assert all(r["expected_start_time"][11:16] == "23:00" for r in upcoming)
    assert all(r["auto_scheduled"] for r in upcoming)

    run = upcoming[1]  # the day after tomorrow's run (or so): far from "yesterday" by the clock
    scheduled = datetime.fromisoformat(run["expected_start_time"].replace("Z", "+00:00"))
    day = local_date(scheduled) - timedelta(days=1)
    assert day > datetime.now(UTC).date() - timedelta(days=1)
    warehouse = f"sqlite:///{tmp_path / 'scheduled.db'}"
    store = Warehouse(warehouse)
    store.upgrade()
    store.record_window("sample", day - timedelta(days=3), day - timedelta(days=3), "completed",
                        None, {"note": "an earlier scheduled run"})
    with sample_range(2)[0] as site:
        server.api("PATCH", f"/flow_runs/{run['id']}", {"parameters": {
            "source": "sample", "warehouse_url": warehouse, "base_url": site.base_url}})
        now = datetime.now(UTC).isoformat()
        server.api("POST", f"/flow_runs/{run['id']}/set_state", {"state": {
            "type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": now}},
            "force": True})
        done = _final(server, run["id"])
    assert done["state"]["type"] == "COMPLETED", done["state"]
    assert done["expected_start_time"] == run["expected_start_time"]
    assert done["name"] == f"sample {window_label(day, day)}"
    records = {(r.since, r.until): r.status for r in store.windows("sample")}
    assert records[(day, day)] == "completed"
    arts = {a["key"]: a for a in server.artifacts(run["id"])}
    assert {"ingest-summary", "data-quality", "missed-windows"} <= set(arts)
    missed = [day - timedelta(days=2), day - timedelta(days=1)]
    text = arts["missed-windows"]["data"]
    assert all(d.isoformat() in text for d in missed)
    assert f"--param since={missed[0]} --param until={missed[-1]}" in text


def _one_at_a_time(deployment: dict) -> None:
    """The scheduled ingest runs one at a time; late runs queue up (ENQUEUE)."""
    assert (deployment.get("global_concurrency_limit") or {}).get("limit") == 1, deployment
    assert (deployment.get("concurrency_options") or {}).get("collision_strategy") == "ENQUEUE"


def _screenshot(server, run_id: str) -> None:
    script = ROOT / "scripts" / "screenshot_ui.py"
    SCREENSHOT.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, str(script), "--ui", server.ui_url, "--flow-run", run_id,
                           "--out", str(SCREENSHOT), "--timeout", "90"],
                          capture_output=True, text=True, timeout=240)
    if done.returncode == 3:
        if os.environ.get("CI") == "true" and os.environ.get("UNION_NEWS_REQUIRE_CHROMIUM"):
            pytest.fail(f"chromium is required for the UI screenshot in CI: {done.stderr}")
        return  # no chromium here: the script installs nothing
    assert done.returncode == 0, done.stdout + done.stderr
    assert SCREENSHOT.stat().st_size > 20_000
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_serve_runs_the_deployments_in_one_process(tmp_path):
    """`union-news serve`: the yaml's deployments, schedule and limit, served without a worker;
    a dry-run backfill through the served deployment; Ctrl+C stops it and pauses its schedules."""
    home = tmp_path / "prefect-home"
    home.mkdir()
    with running_server(home) as server:
        serve = start_process([str(BIN / "union-news"), "serve"], server.env,
                              server.logs / "serve.log", cwd=ROOT)
        server.processes.append(serve)

        def served() -> set[str]:
            return {d["name"] for d in server.api("POST", "/deployments/filter", {})}

        wanted = {"scheduled-ingest", "ingest-window", "backfill"}
        wait_for(lambda: wanted <= served(), 180, 1, what=f"served deployments {wanted}")
        scheduled = server.api("GET", "/deployments/name/ingest/scheduled-ingest")
        _one_at_a_time(scheduled)
        assert "source:laodongthudo.vn" in scheduled["tags"]
        upcoming = wait_for(lambda: server.flow_runs(
            deployments={"id": {"any_": [scheduled["id"]]}},
            flow_runs={"state": {"type": {"any_": ["SCHEDULED"]}}}), 60, 1,
            what="scheduled runs")
        assert all(r["expected_start_time"][11:16] == "23:00" for r in upcoming)
        # A dry-run backfill through the served deployment, from the CLI as a user would.
        done = server.cli("deployment", "run", "backfill/backfill", "--param", "since=2024-01-01",
                          "--param", "until=2024-02-29", "--param", 'sources=["sample"]',
                          "--param", "dry_run=true", "--param",
                          f"warehouse_url=sqlite:///{tmp_path / 'never.db'}", "--watch",
                          timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "Completed" in done.stdout

        # Ctrl+C (SIGINT) stops serve in an orderly way, through the same path as SIGTERM.
        os.killpg(serve.pid, signal.SIGINT)
        started = time.monotonic()
        code = serve.wait(timeout=30)
        assert time.monotonic() - started < 30
        assert code == 0, code
        log = (server.logs / "serve.log").read_text(errors="replace")
        assert "Serving ingest/scheduled-ingest" in log
        # ... and pauses the schedules it served, so no run waits for a runner that is gone.
        assert server.api("GET", f"/deployments/{scheduled['id']}")["paused"] is True
    assert not (tmp_path / "never.db").exists()
