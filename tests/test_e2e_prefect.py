"""End to end: a real Prefect server, deploy/prefect.yaml deployed to a process pool, a worker,
and the backfill deployment run against the bundled sample site over loopback HTTP.

Checks the warehouse rows, the child runs (one per window, named after it), the artifacts through
Prefect's API, that triggering the same backfill twice at once creates no second set of child
runs, and that the scheduled ingest has upcoming runs at 06:00 Hanoi time. With Debian's chromium
present it also screenshots the finished run in the UI (artifacts/e2e-backfill-run.png).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.plugins.prefect import (
    BIN,
    ROOT,
    STUB,
    metric_row_counts,
    needs_pipeline,
    running_server,
    sample_range,
    start_process,
    wait_for,
)
from union_news.windows import split_windows

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

needs_pipeline()


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


def _final(server, run_id: str) -> dict:
    def done():
        run = server.api("GET", f"/flow_runs/{run_id}")
        return run if run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None

    return wait_for(done, 240, 1, what=f"flow run {run_id} to finish")


def test_backfill_deployment_end_to_end(prefect_deployed, tmp_path):
    server = prefect_deployed
    site_cm, since, until, size, expected_rows = sample_range(2)
    warehouse = f"sqlite:///{tmp_path / 'warehouse.db'}"
    windows = split_windows(since, until, size)
    with site_cm as site:
        params = {"since": since.isoformat(), "until": until.isoformat(),
                  "sources": '["sample"]', "window": size, "max_concurrent": "2",
                  "warehouse_url": warehouse,
                  "base_url": site.base_url if site is not None else "http://127.0.0.1:9"}
        # The same backfill triggered twice at once: the idempotency keys give one run per window.
        first = _trigger(server, params)
        second = _trigger(server, params)
        runs = [_final(server, first), _final(server, second)]
    assert [r["state"]["type"] for r in runs] == ["COMPLETED", "COMPLETED"], runs

    children = server.flow_runs(flow_runs={"parent_flow_run_id": {"any_": [first, second]}})
    names = Counter(c["name"] for c in children)
    distinct_children = {c["id"] for c in children}
    assert set(names) == {f"ingest {w.label}" for w in windows}
    assert len(distinct_children) == len(windows), "the second trigger started its own runs"
    window_runs = server.flow_runs(deployments={"name": {"any_": ["ingest-window"]}})
    mine = [r for r in window_runs if r["parameters"].get("warehouse_url") == warehouse]
    assert len(mine) == len(windows)
    assert all(r["state"]["type"] == "COMPLETED" for r in mine)
    assert all("source:sample" in r["tags"] for r in mine)

    # Artifacts through the API: the plan, a finished progress bar, the results, per-window summaries.
    arts = {a["key"]: a for a in server.artifacts(first)}
    assert {"backfill-plan", "backfill-progress"} <= set(arts)
    assert float(arts["backfill-progress"]["data"]) == 100.0
    for child in mine:
        keys = {a["key"] for a in server.artifacts(child["id"])}
        assert "ingest-summary" in keys, (child["name"], keys)

    total, distinct = metric_row_counts(warehouse)
    assert total == distinct, "duplicate metric rows"
    if expected_rows is not None:
        assert total == expected_rows

    # The scheduled ingest: upcoming runs at 06:00 in Hanoi (23:00 UTC), one at a time.
    deployment = server.api("GET", "/deployments/name/ingest/scheduled-ingest")
    assert deployment["concurrency_limit"] == 1 or deployment.get("global_concurrency_limit")
    upcoming = wait_for(
        lambda: server.flow_runs(deployments={"id": {"any_": [deployment["id"]]}},
                                 flow_runs={"state": {"type": {"any_": ["SCHEDULED"]}}}),
        30, 1, what="scheduled runs of the daily ingest")
    assert all(r["expected_start_time"][11:16] == "23:00" for r in upcoming)

    _screenshot(server, first)


def _screenshot(server, run_id: str) -> None:
    script = ROOT / "scripts" / "screenshot_ui.py"
    out = ROOT / "artifacts" / "e2e-backfill-run.png"
    done = subprocess.run([sys.executable, str(script), "--ui", server.ui_url, "--flow-run", run_id,
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    if done.returncode == 3:
        if os.environ.get("CI") == "true" and os.environ.get("UNION_NEWS_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required for the UI screenshot")
        return  # no chromium here: the script installs nothing
    assert done.returncode == 0, done.stderr
    assert Path(out).stat().st_size > 20_000


def test_serve_runs_the_deployments_in_one_process(tmp_path):
    """`union-news serve`: the yaml's deployments, schedule and limit, served without a worker."""
    home = tmp_path / "prefect-home"
    home.mkdir()
    only = ["backfill"] if STUB else []  # a stand-in checkout has no real ingest flow to load
    with running_server(home) as server:
        args = [str(BIN / "union-news"), "serve", *[f"--only={n}" for n in only]]
        server.processes.append(start_process(args, server.env, server.logs / "serve.log", cwd=ROOT))

        def served() -> set[str]:
            return {d["name"] for d in server.api("POST", "/deployments/filter", {})}

        wanted = set(only) or {"scheduled-ingest", "ingest-window", "backfill"}
        wait_for(lambda: wanted <= served(), 120, 1, what=f"served deployments {wanted}")
        if not STUB:
            scheduled = server.api("GET", "/deployments/name/ingest/scheduled-ingest")
            assert scheduled["concurrency_limit"] == 1
            assert "source:laodongthudo.vn" in scheduled["tags"]
            upcoming = wait_for(lambda: server.flow_runs(
                deployments={"id": {"any_": [scheduled["id"]]}},
                flow_runs={"state": {"type": {"any_": ["SCHEDULED"]}}}), 30, 1,
                what="scheduled runs")
            assert all(r["expected_start_time"][11:16] == "23:00" for r in upcoming)
        # A dry-run backfill through the served deployment, from the CLI as a user would.
        done = server.cli("deployment", "run", "backfill/backfill", "--param", "since=2024-01-01",
                          "--param", "until=2024-02-29", "--param", 'sources=["sample"]',
                          "--param", "dry_run=true", "--param",
                          f"warehouse_url=sqlite:///{tmp_path / 'never.db'}", "--watch",
                          timeout=120)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not (tmp_path / "never.db").exists()
