"""``union-news serve`` and ``union-news backfill``: schedules and backfills from the command line.

``serve`` runs the deployments of ``deploy/prefect.yaml`` (schedules, tags, parameters and the
scheduled ingest's limit of one run at a time) in this one process with Prefect's ``serve``, for
users without a work pool and worker. ``backfill`` runs the backfill flow here, or with
``--submit`` asks the ``backfill/backfill`` deployment to run it on a worker.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PREFECT_FILE = ROOT / "deploy" / "prefect.yaml"
console = Console()
err = Console(stderr=True)


def load_deployments(prefect_file: Path = DEFAULT_PREFECT_FILE) -> list[dict[str, Any]]:
    """The ``deployments`` entries of a prefect.yaml (anchors resolved)."""
    import yaml

    data = yaml.safe_load(prefect_file.read_text(encoding="utf-8")) or {}
    return list(data.get("deployments") or [])


def _load_flow(entrypoint: str, root: Path):
    from prefect.flows import load_flow_from_entrypoint

    path, _, name = entrypoint.partition(":")
    return load_flow_from_entrypoint(f"{(root / path).resolve()}:{name}")


def runner_deployments(prefect_file: Path = DEFAULT_PREFECT_FILE, root: Path = ROOT,
                       only: list[str] | None = None) -> list[Any]:
    """RunnerDeployments for ``prefect.serve`` built from the yaml, so both ways share one spec."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.schedules import Cron

    out = []
    for spec in load_deployments(prefect_file):
        if only and spec["name"] not in only:
            continue
        schedules = [Cron(s["cron"], timezone=s.get("timezone"), active=s.get("active", True),
                          parameters=s.get("parameters") or {})
                     for s in spec.get("schedules") or [] if s.get("cron")]
        limit = spec.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = ConcurrencyLimitConfig(**{k: v for k, v in limit.items() if v is not None})
        flow = _load_flow(spec["entrypoint"], root)
        out.append(flow.to_deployment(
            name=spec["name"], schedules=schedules or None, concurrency_limit=limit,
            parameters=spec.get("parameters") or {}, description=spec.get("description"),
            tags=spec.get("tags") or [],
        ))
    return out


def _print_rows(rows: list[dict], title: str) -> None:
    if not rows:
        console.print(f"{title}: nothing")
        return
    table = Table(title=title, header_style="bold")
    for column in rows[0]:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` and ``backfill`` commands to the union-news CLI."""

    @app.command()
    def serve(
        prefect_file: Annotated[Path, typer.Option(help="deployments to serve")] = DEFAULT_PREFECT_FILE,
        only: Annotated[list[str] | None, typer.Option("--only", help="serve only these deployment names")] = None,
        limit: Annotated[int | None, typer.Option(help="most flow runs at once in this process")] = None,
    ) -> None:
        """Run the scheduled ingest and the backfill deployment in this process (no worker needed)."""
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from prefect import serve as prefect_serve

        deployments = runner_deployments(prefect_file, ROOT, only)
        if not deployments:
            raise typer.BadParameter("no deployments matched", param_hint="--only")
        names = ", ".join(f"{d.flow_name}/{d.name}" for d in deployments)
        console.print(f"Serving {names} (Ctrl+C stops)")
        _sigint_as_sigterm()
        prefect_serve(*deployments, limit=limit)

    @app.command()
    def backfill(
        since: Annotated[str, typer.Option(help="first publication day, YYYY-MM-DD")],
        until: Annotated[str, typer.Option(help="last publication day, YYYY-MM-DD")],
        source: Annotated[list[str] | None, typer.Option("--source", help="source profile (repeatable)")] = None,
        window: Annotated[str, typer.Option(help="month, week or day")] = "month",
        reprocess: Annotated[str, typer.Option(help="missing, failed or all")] = "missing",
        dry_run: Annotated[bool, typer.Option("--dry-run", help="list windows and status, run nothing")] = False,
        max_concurrent: Annotated[int, typer.Option(help="windows running at once")] = 2,
        oldest_first: Annotated[bool, typer.Option("--oldest-first", help="run old windows first")] = False,
        warehouse: Annotated[str | None, typer.Option("--warehouse", help="SQLAlchemy URL")] = None,
        base_url: Annotated[str | None, typer.Option(help="base URL for profiles served at run time")] = None,
        deployment: Annotated[str, typer.Option(help="ingest deployment each window runs through")] = "ingest/ingest-window",
        submit: Annotated[bool, typer.Option("--submit", help="run on a worker via the backfill/backfill deployment")] = False,
    ) -> None:
        """Ingest a date range window by window (one child run per window), or plan it (--dry-run)."""
        from union_news.windows import REPROCESS_MODES, WINDOW_SIZES

        start, end = _day(since, "--since"), _day(until, "--until")
        if start > end:
            raise typer.BadParameter("--since is after --until")
        if window not in WINDOW_SIZES:
            raise typer.BadParameter(f"use one of {', '.join(WINDOW_SIZES)}", param_hint="--window")
        if reprocess not in REPROCESS_MODES:
            raise typer.BadParameter(f"use one of {', '.join(REPROCESS_MODES)}", param_hint="--reprocess")
        params = {"since": start, "until": end, "sources": source or ["laodongthudo.vn"],
                  "window": window, "reprocess": reprocess, "dry_run": dry_run,
                  "max_concurrent": max_concurrent, "newest_first": not oldest_first,
                  "warehouse_url": warehouse, "base_url": base_url, "deployment_name": deployment}
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        if submit:
            _submit(params)
            return
        from flows.backfill import backfill as backfill_flow

        state = backfill_flow(**params, return_state=True)
        data = state.data if isinstance(getattr(state, "data", None), dict) else None
        if data is None:
            try:
                data = state.result(raise_on_failure=False)
            except Exception:  # noqa: BLE001 - the state's message is printed below
                data = None
        data = data if isinstance(data, dict) else {}
        _print_rows(data.get("plan") or [], "backfill plan (dry run)") if dry_run else \
            _print_rows(data.get("runs") or [], "backfill windows run")
        if state.is_failed():
            err.print(f"[red]backfill {state.name}:[/] {state.message}")
            raise typer.Exit(1)


def _sigint_as_sigterm() -> None:
    """Ctrl+C takes the runner's orderly SIGTERM path (flow runs in flight stopped, the served
    schedules paused); Prefect's KeyboardInterrupt path leaves the schedules active, so their runs
    would wait for a runner that is gone. A second Ctrl+C exits at once."""
    import signal
    import threading

    def on_sigint(signum, frame) -> None:
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            raise KeyboardInterrupt  # the runner has not started yet: nothing to stop or pause
        os.kill(os.getpid(), signal.SIGTERM)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_sigint)


def _submit(params: dict) -> None:
    from prefect.deployments import run_deployment

    run = run_deployment("backfill/backfill", parameters=params, timeout=0)
    console.print(f"Submitted backfill run [cyan]{run.name}[/] ({run.id})")


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None
