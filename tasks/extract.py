"""Prefect task for the extract stage: a thin wrapper over ``union_news.extraction``."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from union_news.models import CleanArticle, MetricRow
from union_news.pipeline import extract_all, stage_timer


@task(name="extract metrics", cache_policy=NO_CACHE)
def extract_articles(articles: list[CleanArticle]) -> list[MetricRow]:
    """Metric rows of every article, in article order (in the flow's worker processes when it
    has some)."""
    with stage_timer("extract"):
        return extract_all(articles)
