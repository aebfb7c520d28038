"""Manual backfills: ingest a date range window by window, each window its own child flow run.

Prefect 3.9 has no native backfill; this flow offers what Airflow 3's backfill does and more:

- the range is cut into windows (``month`` by default, ``week`` or ``day``), newest first unless
  ``newest_first=False``;
- each window runs as its own child flow run named after it (``ingest 2024-03``) through
  ``run_deployment`` on the ingest deployment, with an idempotency key per source, window,
  attempt and warehouse, so triggering the same backfill twice creates no second set of runs;
- ``reprocess`` chooses the windows: ``missing`` (never run, or left ``running`` by a run that
  died), ``failed`` (exactly the windows whose last run failed) or ``all``;
- each window's status lives in the warehouse (the ingest run records ``running`` then
  ``completed``/``failed``; the backfill records ``failed`` for a child that died without saying
  so), which is how a rerun after a crash resumes at the first unfinished window;
- at most ``max_concurrent`` windows run at once; a window whose earlier run is still going is
  awaited, not started again;
- ``dry_run`` lists the windows and their status as a table artifact and runs nothing;
- a progress artifact (key ``backfill-progress``) stays current while windows finish.

When no ingest deployment is reachable (a local run without a server, or ``deployment_name``
empty) each window runs as an ordinary subflow of this flow instead, one window at a time: same
names, statuses and artifacts, but no idempotency keys and no parallel windows.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run as current_run
from prefect.states import Completed, Failed

from union_news.windows import (
    Window,
    check_size,
    idempotency_key,
    last_completed_until,
    missed_windows,
    plan,
    select_windows,
    split_windows,
    status_of,
)

DEFAULT_DEPLOYMENT = "ingest/ingest-window"
POLL_SECONDS = 2.0
MISSED_SHOWN = 40  # a longer list of missed windows is shortened in the artifact


@dataclass
class Job:
    """One window of one source to run."""

    source: str          # the profile name or path given by the user
    source_name: str     # the name the warehouse records windows under
    window: Window
    previous_status: str | None = None
    previous_run_id: str | None = None
    run_name: str = ""


@dataclass
class Outcome:
    job: Job
    state: str = "unknown"
    flow_run_id: str | None = None
    message: str = ""
    reused: bool = False

    @property
    def completed(self) -> bool:
        return self.state == "COMPLETED"


def _backfill_run_name() -> str:
    p = current_run.parameters
    sources = p.get("sources") or []
    what = ",".join(sources) if isinstance(sources, list) else str(sources)
    return (
        f"backfill {what} {p.get('since')}..{p.get('until')} "
        f"({p.get('window', 'month')}, {p.get('reprocess', 'missing')})"
        + (" dry run" if p.get("dry_run") else "")
    )


def _source_name(source: str, base_url: str | None) -> str:
    from union_news.profiles import load_profile

    try:
        return load_profile(source, base_url=base_url).name
    except (ValueError, OSError, KeyError):
        return source


def _warehouse_exists(url: str) -> bool:
    """False for a SQLite file that does not exist yet (a dry run must not create it)."""
    if not url.startswith("sqlite"):
        return True
    path = url.split("///", 1)[-1] if "///" in url else ""
    return not path or path == ":memory:" or Path(path).exists()


def recorded_statuses(url: str, source_name: str, create: bool) -> dict[tuple[date, date], Any]:
    """{(since, until): WindowRecord} for one source; empty when a dry run finds no warehouse."""
    if not create and not _warehouse_exists(url):
        return {}
    from union_news.warehouse import Warehouse

    warehouse = Warehouse(url)
    if create:
        warehouse.upgrade()
    try:
        records = warehouse.windows(source_name)
    except Exception:  # noqa: BLE001 - a warehouse without the windows table has no records
        if create:
            raise
        return {}
    return {(r.since, r.until): r for r in records}


def _scope(url: str) -> str:
    """A short digest of the warehouse URL: idempotency keys are per warehouse."""
    return hashlib.sha256(url.encode()).hexdigest()[:10]


def _epoch(job: Job) -> str:
    """The attempt part of a window's idempotency key: '0' for a first run, otherwise the run it
    follows, so a reprocess gets a new run and a repeated trigger the same one."""
    return f"after-{job.previous_run_id}" if job.previous_run_id else "0"


def _deployment_reachable(name: str) -> bool:
    if not name:
        return False
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(name)
        return True
    except Exception:  # noqa: BLE001 - not found / no server: fall back to subflows
        return False


def _read_run(run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def _still_active(run_id: str | None) -> bool:
    if not run_id:
        return False
    try:
        run = _read_run(run_id)
    except Exception:  # noqa: BLE001 - a run the API does not know is not active
        return False
    return run.state is not None and not run.state.is_final()


def _tags(job: Job) -> list[str]:
    return ["backfill", f"source:{job.source_name}", f"window:{job.window.label}"]


def _start_child(job: Job, deployment: str, params: dict, scope: str, started: datetime,
                 current: Callable[[], str | None]) -> tuple[str, bool]:
    """Create (or find) the window's child run without waiting: (flow run id, reused)."""
    from prefect.deployments import run_deployment

    if job.previous_status == "running" and _still_active(job.previous_run_id):
        return job.previous_run_id or "", True  # an earlier trigger's run is still going
    key = idempotency_key(job.source_name, job.window, _epoch(job), scope=scope)
    run = run_deployment(deployment, parameters=params, flow_run_name=job.run_name,
                         idempotency_key=key, tags=_tags(job), timeout=0)
    reused = run.created is not None and run.created < started
    if reused and run.state is not None and run.state.is_final() and current() != "completed":
        # The key names a run that ended before this backfill began, yet the warehouse does not
        # hold the window as completed (e.g. a fresh warehouse): run it again under a new key.
        run = run_deployment(deployment, parameters=params, flow_run_name=job.run_name,
                             idempotency_key=f"{key}:rerun-{current_run.get_id()}",
                             tags=_tags(job), timeout=0)
        reused = False
    return str(run.id), reused


def _finished(run_id: str) -> Any | None:
    """The flow run when it reached a final state, else None."""
    run = _read_run(run_id)
    return run if run.state is not None and run.state.is_final() else None


def _run_as_subflow(job: Job, params: dict) -> Outcome:
    from flows.ingest import ingest

    state = ingest.with_options(flow_run_name=job.run_name)(**params, return_state=True)
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    return Outcome(job, state.type.value, run_id, state.message or "")


def _jobs(windows: list[Window], sources: list[str], names: dict[str, str],
          records: dict[str, dict], reprocess: str) -> list[Job]:
    """Jobs in window order (newest first by default), sources interleaved per window."""
    chosen = {
        s: set(select_windows(windows, {k: r.status for k, r in records[s].items()}, reprocess))
        for s in sources
    }
    jobs = []
    for w in windows:
        for s in sources:
            if w not in chosen[s]:
                continue
            rec = records[s].get(w.key())
            name = f"ingest {w.label}" if len(sources) == 1 else f"ingest {names[s]} {w.label}"
            jobs.append(Job(s, names[s], w, rec.status if rec else None,
                            rec.flow_run_id if rec else None, name))
    return jobs


def _plan_rows(windows, sources, names, records, reprocess) -> list[dict[str, str]]:
    rows = []
    for s in sources:
        for row in plan(windows, {k: r.status for k, r in records[s].items()}, reprocess):
            rows.append({"source": names[s], **row})
    return rows


def _record_failure(url: str, outcome: Outcome) -> None:
    """Mark a window failed when its child ended badly without recording that itself."""
    from union_news.warehouse import Warehouse

    job = outcome.job
    warehouse = Warehouse(url)
    current = {(r.since, r.until): r for r in warehouse.windows(job.source_name)}
    rec = current.get(job.window.key())
    if rec is not None and rec.status == "failed":
        return
    if rec is not None and rec.status == "completed" and rec.flow_run_id != outcome.flow_run_id:
        return  # another run completed the window meanwhile
    warehouse.record_window(job.source_name, job.window.since, job.window.until, "failed",
                            outcome.flow_run_id, {"state": outcome.state, "message": outcome.message})


def _window_status(url: str, job: Job) -> str | None:
    from union_news.warehouse import Warehouse

    for r in Warehouse(url).windows(job.source_name):
        if (r.since, r.until) == job.window.key():
            return r.status
    return None


@flow(name="backfill", flow_run_name=_backfill_run_name, log_prints=False)
def backfill(
    since: date,
    until: date,
    sources: list[str] = ["laodongthudo.vn"],  # noqa: B006 - Prefect parameters are copied per run
    window: str = "month",
    reprocess: str = "missing",
    dry_run: bool = False,
    max_concurrent: int = 2,
    newest_first: bool = True,
    warehouse_url: str | None = None,
    base_url: str | None = None,
    deployment_name: str = DEFAULT_DEPLOYMENT,
) -> dict:
    """Ingest [since, until] window by window, one child flow run per window and source."""
    from union_news.secrets import mask_url
    from union_news.settings import warehouse_url as resolve_warehouse_url

    logger = get_run_logger()
    check_size(window)
    url = resolve_warehouse_url(warehouse_url)
    windows = split_windows(since, until, window, newest_first=newest_first)
    names = {s: _source_name(s, base_url) for s in sources}
    records = {s: recorded_statuses(url, names[s], create=not dry_run) for s in sources}
    jobs = _jobs(windows, sources, names, records, reprocess)
    rows = _plan_rows(windows, sources, names, records, reprocess)
    create_table_artifact(
        key="backfill-plan", table=rows,
        description=f"Backfill plan {since}..{until} by {window}, reprocess={reprocess}"
                    f"{' (dry run: nothing was run)' if dry_run else ''}",
    )
    logger.info("Backfill %s..%s by %s into %s: %d window(s), %d to run (reprocess=%s)",
                since, until, window, mask_url(url), len(rows), len(jobs), reprocess)
    if dry_run:
        return {"windows": len(rows), "to_run": len(jobs), "plan": rows, "dry_run": True}

    via_deployment = _deployment_reachable(deployment_name)
    if not via_deployment:
        logger.info("No deployment %r reachable: running windows as subflows", deployment_name)
    outcomes = _run_jobs(jobs, via_deployment, deployment_name, url, warehouse_url, base_url,
                         max_concurrent)
    return _finish(outcomes, rows, jobs, url)


def _run_jobs(jobs: list[Job], via_deployment: bool, deployment: str, url: str,
              given_url: str | None, base_url: str | None, max_concurrent: int) -> list[Outcome]:
    """Run the jobs in order, at most ``max_concurrent`` at once, keeping the progress current.

    Child runs are created from this thread (so each gets its own parent task run in the graph)
    and polled; as subflows (no deployment) the windows run one after another."""
    total = len(jobs)
    progress_id = create_progress_artifact(
        progress=100.0 if total == 0 else 0.0, key="backfill-progress",
        description=f"0/{total} windows done" if total else "nothing to run",
    )
    outcomes: list[Outcome] = []

    def finish(outcome: Outcome) -> None:
        if not outcome.completed:
            _record_failure(url, outcome)
        outcomes.append(outcome)
        _log_outcome(outcome)
        failed = sum(1 for o in outcomes if not o.completed)
        update_progress_artifact(
            progress_id, progress=100.0 * len(outcomes) / total,
            description=f"{len(outcomes)}/{total} windows done" + (f", {failed} failed" if failed else ""),
        )

    if not via_deployment:
        for job in jobs:
            _announce(job)
            finish(_guard(job, lambda j=job: _run_as_subflow(j, _params(j, given_url, base_url))))
        return outcomes

    started = datetime.now().astimezone()
    scope = _scope(url)
    pending = list(jobs)
    running: dict[str, tuple[Job, bool]] = {}
    cap = max(1, max_concurrent)
    while pending or running:
        while pending and len(running) < cap:
            job = pending.pop(0)
            _announce(job)
            try:
                run_id, reused = _start_child(job, deployment, _params(job, given_url, base_url), scope,
                                              started, lambda j=job: _window_status(url, j))
            except Exception as exc:  # noqa: BLE001 - a window that cannot start is a failure
                finish(Outcome(job, "FAILED", None, f"could not start: {type(exc).__name__}: {exc}"))
                continue
            running[run_id] = (job, reused)
        time.sleep(POLL_SECONDS)
        for run_id in list(running):
            run = _finished(run_id)
            if run is not None:
                job, reused = running.pop(run_id)
                finish(Outcome(job, run.state.type.value, run_id, run.state.message or "", reused))
    return outcomes


def _params(job: Job, given_url: str | None, base_url: str | None) -> dict[str, Any]:
    """A window run's parameters. The warehouse URL is passed on only when the backfill was given
    one: otherwise the child resolves it from its own settings (UNION_NEWS_WAREHOUSE_URL), so a
    password from the environment never lands in clear in the flow runs' parameters."""
    return {"source": job.source, "since": job.window.since, "until": job.window.until,
            "warehouse_url": given_url, "base_url": base_url}


def _announce(job: Job) -> None:
    get_run_logger().info("Window %s of %s: starting %s", job.window.label, job.source_name,
                          job.run_name)


def _guard(job: Job, run: Callable[[], Outcome]) -> Outcome:
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - a window that could not even start is a failure
        return Outcome(job, "FAILED", None, f"{type(exc).__name__}: {exc}")


def _log_outcome(outcome: Outcome) -> None:
    logger = get_run_logger()
    job = outcome.job
    how = " (earlier run reused)" if outcome.reused else ""
    if outcome.completed:
        logger.info("Window %s of %s completed%s", job.window.label, job.source_name, how)
    else:
        logger.warning("Window %s of %s ended %s%s: %s", job.window.label, job.source_name,
                       outcome.state, how, outcome.message)


def _finish(outcomes: list[Outcome], rows: list[dict], jobs: list[Job], url: str):
    table = [
        {"source": o.job.source_name, "window": o.job.window.label, "run": o.job.run_name,
         "state": o.state, "flow_run_id": o.flow_run_id or "", "reused": o.reused}
        for o in outcomes
    ]
    if table:
        create_table_artifact(key="backfill-results", table=table,
                              description="One row per window run by this backfill")
    failed = [o for o in outcomes if not o.completed]
    summary = {
        "windows": len(rows), "to_run": len(jobs), "completed": len(outcomes) - len(failed),
        "failed": len(failed), "skipped": len(rows) - len(jobs), "runs": table, "dry_run": False,
    }
    if failed:
        labels = ", ".join(f"{o.job.source_name} {o.job.window.label}" for o in failed)
        return Failed(message=f"{len(failed)} window(s) failed: {labels}", data=summary)
    return Completed(message=f"{len(outcomes)} window(s) completed", data=summary)


def report_missed_windows(source_name: str, records: list[tuple[date, date, str]],
                          scheduled_start: datetime, days: int = 1) -> list[Window]:
    """For a scheduled run: list the windows no run covered since the last completed one in a
    markdown artifact (key ``missed-windows``) with the one backfill command that fills them."""
    missed = missed_windows(last_completed_until(records), scheduled_start, days=days)
    missed = [w for w in missed if status_of(w, {(a, b): s for a, b, s in records}) != "completed"]
    if missed:
        lines = [f"# {len(missed)} window(s) missed for {source_name}", ""]
        shown = missed if len(missed) <= MISSED_SHOWN else missed[:MISSED_SHOWN // 2]
        lines += [f"- {w.label}" for w in shown]
        if len(shown) < len(missed):
            lines += [f"- … {len(missed) - len(shown) - 1} more …", f"- {missed[-1].label}"]
        lines += ["", "Fill them with one backfill:", "",
                  f"    prefect deployment run 'backfill/backfill' --param since={missed[0].since} "
                  f"--param until={missed[-1].until} --param 'sources=[\"{source_name}\"]' "
                  "--param window=day"]
        create_markdown_artifact(key="missed-windows", markdown="\n".join(lines),
                                 description=f"Windows missed for {source_name}")
    return missed


def report_missed_for_scheduled_run(warehouse: Any, source_name: str,
                                    scheduled_start: datetime) -> list[Window]:
    """What a scheduled ingest run calls: the missed-windows artifact from the windows the
    warehouse recorded for the source. A report never fails the run: errors are logged."""
    try:
        records = [(r.since, r.until, r.status) for r in warehouse.windows(source_name)]
        missed = report_missed_windows(source_name, records, scheduled_start)
    except Exception as exc:  # noqa: BLE001 - the run's own window matters more than the report
        get_run_logger().warning("Could not list missed windows of %s: %s", source_name, exc)
        return []
    if missed:
        get_run_logger().warning(
            "%d window(s) of %s were missed (%s to %s): see the missed-windows artifact for the "
            "backfill that fills them", len(missed), source_name, missed[0].since, missed[-1].until)
    return missed
