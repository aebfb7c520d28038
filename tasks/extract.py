"""Prefect task for the extract stage: a thin wrapper over ``union_news.extraction``."""

from __future__ import annotations

from prefect import task

from union_news.extraction import extract_metrics
from union_news.models import CleanArticle, MetricRow


@task(name="extract metrics")
def extract_articles(articles: list[CleanArticle]) -> list[MetricRow]:
    """Metric rows of every article, in article order."""
    rows: list[MetricRow] = []
    for article in articles:
        rows.extend(extract_metrics(article))
    return rows
