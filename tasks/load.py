"""Prefect task for the load stage: a thin wrapper over ``union_news.warehouse``."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from union_news.models import CleanArticle, FetchedPage, FetchFailure, MetricRow, QuarantinedRow
from union_news.pipeline import stage_timer
from union_news.warehouse import LoadBatch, LoadStats, Warehouse


@task(name="load batch", cache_policy=NO_CACHE)
def load_batch(
    warehouse: Warehouse,
    pages: list[FetchedPage],
    articles: list[CleanArticle],
    rows: list[MetricRow],
    quarantined: list[QuarantinedRow],
    failures: list[FetchFailure],
    run_id: str | None,
    source: str | None,
) -> LoadStats:
    """Load one batch (pages, articles, rows, quarantine, fetch failures) in one transaction."""
    logger = get_run_logger()
    with stage_timer("load"):
        stats = warehouse.load_batch(
            LoadBatch(
                pages=list(pages),
                articles=list(articles),
                rows=list(rows),
                quarantined=list(quarantined),
                failures=list(failures),
                run_id=run_id,
                source=source,
            )
        )
    logger.info(
        "Loaded into %s: articles %d new, %d updated, %d unchanged; rows %d new, %d deleted, "
        "%d unchanged; %d quarantined, %d fetch failures logged",
        warehouse.masked_url,
        stats.articles_inserted,
        stats.articles_updated,
        stats.articles_unchanged,
        stats.rows_inserted,
        stats.rows_deleted,
        stats.rows_unchanged,
        stats.quarantined,
        stats.failures,
    )
    return stats
