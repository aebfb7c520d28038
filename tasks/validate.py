"""Prefect task for the validate stage: a thin wrapper over ``union_news.quality``."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from union_news.models import CleanArticle, MetricRow
from union_news.pipeline import stage_timer, validate_all
from union_news.quality import QualityReport, quality_failure_message

__all__ = ["quality_failure_message", "validate"]

ARTIFACT_KEY = "data-quality"


@task(name="validate batch", cache_policy=NO_CACHE)
def validate(articles: list[CleanArticle], rows: list[MetricRow]) -> QualityReport:
    """Validate a batch (in the run's validator process when it has one), publish the quality
    artifact; log an error when the gate fails.

    The flow ends its run Failed with ``quality_failure_message(report)`` when
    ``report.threshold_exceeded``.
    """
    logger = get_run_logger()
    with stage_timer("validate"):
        report = validate_all(articles, rows)
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=report.to_markdown(),
        description=f"Data quality: {len(report.rows_ok)} rows kept, "
        f"{report.rows_quarantined} quarantined",
    )
    logger.info(
        "Validated %d articles and %d rows in %.2f s: %d rows quarantined, %d warnings",
        len(articles),
        len(rows),
        report.seconds,
        report.rows_quarantined,
        report.warnings,
    )
    if report.threshold_exceeded:
        logger.error("Data quality gate failed: %s", quality_failure_message(report))
    return report
