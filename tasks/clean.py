"""Prefect task for the clean stage: a thin wrapper over ``union_news.cleaning``."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from union_news.models import CleanArticle, FetchedPage, QuarantinedRow
from union_news.pipeline import clean_all, quarantine_page, stage_timer
from union_news.profiles import SourceProfile

__all__ = ["clean_pages", "quarantine_page"]


@task(name="clean pages", cache_policy=NO_CACHE)
def clean_pages(
    pages: list[FetchedPage], profile: SourceProfile | None
) -> tuple[list[CleanArticle], list[QuarantinedRow]]:
    """Clean every fetched page; pages without an article come back as quarantined rows.

    Runs in the flow's worker processes when it has some (``union_news.pipeline.worker_pool``).
    """
    with stage_timer("clean"):
        return clean_all(pages, profile)
