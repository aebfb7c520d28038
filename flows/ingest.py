"""The ingest flow: discover -> fetch -> clean -> extract -> validate -> load, batch by batch.

Each batch of pages is cleaned, extracted, validated and loaded as one warehouse transaction, so
a crash loses at most the batch in flight and a rerun picks up where the last one stopped
(unchanged pages answer 304 and are skipped).
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import date

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from prefect.utilities.annotations import quote

from tasks.clean import clean_pages
from tasks.discover import discover_candidates
from tasks.extract import extract_articles
from tasks.fetch import fetch_pages
from tasks.load import load_batch
from tasks.validate import validate
from union_news.models import Candidate
from union_news.pipeline import (
    RunSummary,
    StageClock,
    chunks,
    in_window,
    release_free_memory,
    stage_clock,
    validation,
    window_label,
    worker_pool,
)
from union_news.profiles import load_profile
from union_news.secrets import mask_url
from union_news.settings import load_settings
from union_news.settings import warehouse_url as resolve_warehouse_url
from union_news.warehouse import Warehouse, WarehouseError
from union_news.windows import window_for_scheduled_run


def _run_name() -> str:
    if any(str(t).startswith("window:") for t in flow_run.tags or []):
        return flow_run.name  # a backfill child keeps the name its parent gave it: "ingest 2024-03"
    params = flow_run.parameters
    since, until = params.get("since"), params.get("until")
    label = window_label(since, until) if (since or until) else "all"
    if since is None and until is None and _is_scheduled_run():
        start, end = _resolve_window(None, None)
        label = window_label(start, end)
    return f"{params.get('source', 'ingest')} {label}"


def _resolve_window(since: date | None, until: date | None) -> tuple[date | None, date | None]:
    """Explicit bounds win; a scheduled run without bounds takes the window its schedule implies
    (from the run's scheduled start time, never from the clock); a manual run without bounds
    takes everything the listings offer."""
    if since is not None or until is not None:
        return since, until
    if _is_scheduled_run() and flow_run.scheduled_start_time is not None:
        return window_for_scheduled_run(flow_run.scheduled_start_time)
    return None, None


def _is_scheduled_run() -> bool:
    """A run created by a deployment's schedule (not by hand, not a backfill child)."""
    try:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        run = ctx.flow_run if ctx else None
        return bool(run and run.deployment_id and run.auto_scheduled)
    except Exception:  # noqa: BLE001 - outside a run there is no schedule
        return False


@flow(name="ingest", flow_run_name=_run_name, log_prints=False)
def ingest(
    source: str = "laodongthudo.vn",
    since: date | None = None,
    until: date | None = None,
    warehouse_url: str | None = None,
    base_url: str | None = None,
    batch_size: int | None = None,
) -> dict:
    """Ingest one source's articles published in [since, until] into the warehouse."""
    logger = get_run_logger()
    since, until = _resolve_window(since, until)
    settings = load_settings()
    url = resolve_warehouse_url(warehouse_url)
    batch_size = batch_size or int(settings["pipeline"]["batch_size"])
    profile = load_profile(source, base_url=base_url)
    summary = RunSummary(source=profile.name, window=window_label(since, until))
    run_id = str(flow_run.get_id() or "") or None

    warehouse = Warehouse(url)
    warehouse.upgrade()
    if _is_scheduled_run() and flow_run.scheduled_start_time is not None:
        from flows.backfill import report_missed_for_scheduled_run

        report_missed_for_scheduled_run(warehouse, profile.name, flow_run.scheduled_start_time)
    logger.info("Ingesting %s, window %s, into %s", profile.name, summary.window, mask_url(url))
    if since is not None and until is not None:
        warehouse.record_window(profile.name, since, until, "running", run_id)

    clock = StageClock()
    with (
        stage_clock(clock),
        worker_pool(_workers(settings)),
        # Great Expectations imports in its own process while discovery and fetching run
        validation(bool(settings["pipeline"].get("validator_process", True))) as validator,
        ThreadPoolExecutor(1, thread_name_prefix="ingest-fetch") as fetching,
        ThreadPoolExecutor(1, thread_name_prefix="ingest-ahead") as ahead,
        ThreadPoolExecutor(1, thread_name_prefix="ingest-check") as checking,
    ):
        with clock.call("discover"):
            found = discover_candidates(profile, since, until, None)
        with clock.stage("setup"):
            retry = [
                Candidate(url=u, source=profile.name) for u in warehouse.failed_urls(profile.name)
            ]
            known_urls = {c.url for c in found.candidates}
            candidates = list(found.candidates) + [c for c in retry if c.url not in known_urls]
            states = warehouse.known_pages([c.url for c in candidates])
        summary.discovered = len(found.candidates)
        if retry:
            logger.info("Retrying %d page(s) that failed in earlier runs", len(retry))
        discovery_failures = list(found.failures)
        validators = {u: (s.etag, s.last_modified) for u, s in states.items()}

        # While batch n is loaded here, the next ``[pipeline] lookahead`` batches are cleaned and
        # extracted (in a thread, the work itself in the worker processes), then validated (in
        # another thread, the work in the validator process), and the one after them fetched
        # (in a third): batches still load in order, one transaction each, every core has work,
        # and the workers keep going while the validator imports Great Expectations.
        batches = list(chunks(candidates, batch_size))
        if not batches and discovery_failures:
            batches = [[]]
            first = 0
        else:
            first = 1

        fetches: dict[int, Future] = {}

        def fetch_ahead(index: int) -> None:
            if index < len(batches) and index not in fetches:
                fetches[index] = fetching.submit(
                    copy_context().run,
                    _fetch,
                    first + index,
                    batches[index],
                    profile,
                    validators,
                    clock,
                )

        def prepare_ahead(index: int) -> Future:
            fetch_ahead(index)
            fetch_ahead(index + 1)
            prepared = ahead.submit(
                copy_context().run,
                _prepare,
                first + index,
                fetches.pop(index),
                profile,
                since,
                until,
                clock,
            )
            return checking.submit(copy_context().run, _check, prepared, summary.source, clock)

        depth = max(1, int(settings["pipeline"].get("lookahead", 1)))
        pending = deque(prepare_ahead(i) for i in range(min(depth, len(batches))))
        docs: Future | None = None
        for index in range(len(batches)):
            prepared = pending.popleft().result()
            if index + depth < len(batches):
                pending.append(prepare_ahead(index + depth))
            if index == len(batches) - 1:
                # every batch is validated: the validator writes the Data Docs while the last
                # batch loads here
                docs = checking.submit(copy_context().run, validator.finish)
            try:
                _finish(
                    prepared,
                    warehouse,
                    run_id,
                    summary,
                    clock,
                    discovery_failures if index == 0 else [],
                )
            except WarehouseError as exc:  # the batch's transaction rolled back
                for future in [*pending, *fetches.values()]:
                    future.cancel()
                return _load_failed(
                    exc, prepared.number, len(batches), warehouse, summary, since, until, run_id
                )
            del prepared
            release_free_memory()

        with clock.stage("data docs"):
            built = docs.result() if docs is not None else validator.finish()
            summary.data_docs = built or summary.data_docs
        _publish_quality(warehouse, summary, clock)
    summary.finish()
    summary.stage_seconds = clock.stage_seconds()
    summary.orchestration_seconds = round(clock.orchestration(), 4)
    with clock.call("publish"):
        _publish_summary(summary)
    summary.orchestration_seconds = round(clock.orchestration(), 4)
    failed = summary.quality_failed_batches > 0
    if since is not None and until is not None:
        warehouse.record_window(
            profile.name,
            since,
            until,
            "failed" if failed else "completed",
            run_id,
            summary.as_dict(),
        )
    logger.info(
        "Done: %d discovered, %d fetched, %d unchanged, %d fetch failures, %d rows loaded, "
        "%d quarantined in %.1f s",
        summary.discovered,
        summary.fetched,
        summary.unchanged,
        summary.fetch_failed,
        summary.rows_loaded,
        summary.rows_quarantined,
        summary.seconds,
    )
    if failed:
        message = "Data quality gate failed: " + "; ".join(summary.quality_messages)
        logger.error(message)
        return Failed(message=message, data=summary.as_dict())
    return Completed(message="ingest completed", data=summary.as_dict())


def _load_failed(exc, number, total, warehouse, summary, since, until, run_id):
    """A batch that could not be loaded (connection lost, database down, disk full): its
    transaction rolled back, the run stops there and ends Failed saying which batch, what the
    database said (URL masked) and what to do; earlier batches stay committed."""
    done = summary.batches
    kept = "1 earlier batch stays" if done == 1 else f"{done} earlier batches stay"
    message = (
        f"Batch {number} of {total} was not loaded and was rolled back (nothing of it was kept): "
        f"{exc}. {kept} committed; rerun the same window to load the rest."
    )
    get_run_logger().error(message)
    if since is not None and until is not None:
        try:
            warehouse.record_window(
                summary.source, since, until, "failed", run_id, summary.as_dict()
            )
        except WarehouseError as again:  # the database may still be away
            get_run_logger().warning("Could not record the window as failed: %s", again)
    return Failed(message=message, data=summary.as_dict())


def _workers(settings: dict) -> int:
    """Worker processes for clean and extract: ``[pipeline] workers``, 0 = one per CPU."""
    configured = int(settings["pipeline"].get("workers", 0) or 0)
    return configured if configured > 0 else (os.cpu_count() or 1)


@dataclass
class _Prepared:
    """One batch fetched, cleaned and extracted, waiting to be validated and loaded."""

    number: int
    fetched: list
    changed: list
    failures: list
    articles: list
    clean_quarantine: list
    kept: list
    pages: list
    rows: list
    report: object = None  # the batch's QualityReport, once validated


def _fetch(number, batch, profile, validators, clock) -> tuple[list, list]:
    with clock.call("fetch"):
        return fetch_pages.with_options(
            task_run_name=f"fetch {profile.name} batch {number} ({len(batch)} pages)"
        )(profile, quote(batch), quote({c.url: validators.get(c.url, (None, None)) for c in batch}))


def _prepare(number, fetch: Future, profile, since, until, clock) -> _Prepared:
    host = profile.name
    fetched, failures = fetch.result()
    changed = [p for p in fetched if not p.not_modified]
    with clock.call("clean"):
        articles, clean_quarantine = clean_pages.with_options(
            task_run_name=f"clean {host} batch {number} ({len(changed)} pages)"
        )(quote(changed), profile)
    kept = [a for a in articles if in_window(a.published, since, until)]
    # Raw pages are stored (with their validators, so the next run gets a 304) only when they were
    # fully processed: articles inside the window and pages that hold no article. A page outside
    # the window is not stored, or a later run with a wider window would skip it as unchanged.
    processed = {a.url for a in kept} | {q.article_url for q in clean_quarantine}
    pages = [p for p in changed if p.url in processed or p.final_url in processed]
    with clock.call("extract"):
        rows = extract_articles.with_options(
            task_run_name=f"extract {host} batch {number} ({len(kept)} articles)"
        )(quote(kept))
    return _Prepared(
        number,
        list(fetched),
        changed,
        list(failures),
        articles,
        list(clean_quarantine),
        kept,
        pages,
        rows,
    )


def _check(prepared: Future, host: str, clock: StageClock) -> _Prepared:
    p = prepared.result()
    with clock.call("validate"):
        p.report = validate.with_options(
            task_run_name=f"validate {host} batch {p.number} ({len(p.rows)} rows)"
        )(quote(p.kept), quote(p.rows))
    return p


def _finish(prepared: _Prepared, warehouse, run_id, summary, clock, extra_failures) -> None:
    p, host, number = prepared, summary.source, prepared.number
    failures = p.failures + list(extra_failures)
    summary.fetched += len(p.fetched)
    summary.unchanged += len(p.fetched) - len(p.changed)
    summary.fetch_failed += len(failures)
    summary.out_of_window += len(p.articles) - len(p.kept)
    summary.cleaned += len(p.articles)
    summary.clean_failed += len(p.clean_quarantine)
    summary.rows_extracted += len(p.rows)

    report = p.report
    quarantined = p.clean_quarantine + list(report.quarantined)
    with clock.call("load"):
        stats = load_batch.with_options(task_run_name=f"load {host} batch {number}")(
            warehouse,
            quote(p.pages),
            quote(report.articles_ok),
            quote(report.rows_ok),
            quote(quarantined),
            quote(failures),
            run_id,
            host,
        )
    summary.batches += 1
    summary.record_quality(report)
    summary.rows_loaded += stats.rows_inserted
    summary.rows_unchanged += stats.rows_unchanged
    summary.rows_quarantined += sum(1 for q in report.quarantined if q.kind == "metric")
    summary.articles_inserted += stats.articles_inserted
    summary.articles_updated += stats.articles_updated
    if report.threshold_exceeded:
        from tasks.validate import quality_failure_message

        summary.quality_failed_batches += 1
        summary.quality_messages.append(f"batch {number}: {quality_failure_message(report)}")


def _publish_quality(warehouse: Warehouse, summary: RunSummary, clock: StageClock) -> None:
    """The run-level data-quality artifact: every batch's expectations summed, plus the facts in
    conflict among the keys this run touched (two articles disagreeing beyond rounding)."""
    from union_news.facts import conflict_summary

    try:
        with clock.stage("report"):
            conflicts = (
                conflict_summary(warehouse, summary.quality_keys) if summary.quality_keys else {}
            )
    except Exception as exc:  # noqa: BLE001 - a report must not fail a loaded run
        get_run_logger().warning("Could not count fact conflicts: %s", exc)
        conflicts = {}
    summary.facts_in_conflict = int(conflicts.get("facts_in_conflict", 0))
    with clock.call("publish"):
        _quality_artifact(summary, conflicts)


def _quality_artifact(summary: RunSummary, conflicts: dict) -> None:
    create_markdown_artifact(
        key="data-quality",
        markdown=summary.quality_markdown(conflicts),
        description=f"Data quality of the whole run: {summary.rows_loaded + summary.rows_unchanged} "
        f"rows kept, {summary.rows_quarantined} quarantined, "
        f"{summary.facts_in_conflict} facts in conflict",
    )


def _publish_summary(summary: RunSummary) -> None:
    create_table_artifact(
        key="ingest-summary",
        table=summary.table_rows(),
        description=f"union-news ingest of {summary.source}, window {summary.window}",
    )
