"""Reprocessing: clean and extract stored raw pages again with the current code, no network.

Each batch of stored pages is cleaned (``union_news.cleaning.clean_document``), extracted
(``union_news.extraction.extract_metrics``), validated (``union_news.quality.validate_batch``)
and loaded as one warehouse transaction. ``load_batch`` does the rest: articles whose cleaned
content and extractor version are unchanged are not touched; the others get their rows replaced
as a whole; a stored article whose page no longer yields an accepted article is retired (its
rows go, the page stays in the raw store and the reason lands in the quarantine).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from union_news.models import CleanArticle, FetchedPage, MetricRow, QuarantinedRow
from union_news.pipeline import quarantine_page
from union_news.warehouse import LoadBatch, LoadStats, Warehouse


@dataclass
class ReprocessResult:
    pages: int = 0
    articles: int = 0
    clean_failed: int = 0
    rows_extracted: int = 0
    rows_quarantined: int = 0
    batches: int = 0
    stats: LoadStats = field(default_factory=LoadStats)
    quality_messages: list[str] = field(default_factory=list)

    @property
    def quality_failed(self) -> bool:
        return bool(self.quality_messages)


def _profile_for(page: FetchedPage, cache: dict[tuple[str, str], object]):
    """The page's source profile (for its cleaning rules), or None when it cannot be loaded."""
    from union_news.profiles import load_profile

    if not page.source:
        return None
    parts = urlsplit(page.url)
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    key = (page.source, base)
    if key not in cache:
        try:
            cache[key] = load_profile(page.source)
        except ValueError:
            try:  # a profile served at run time ("{base}"): the stored page's own origin
                cache[key] = load_profile(page.source, base_url=base) if base else None
            except (ValueError, OSError):
                cache[key] = None
        except OSError:
            cache[key] = None
    return cache[key]


def reprocess(
    warehouse: Warehouse,
    since: date | None = None,
    until: date | None = None,
    *,
    source: str | None = None,
    batch_size: int | None = None,
    extractor_version: str | None = None,
    run_id: str | None = None,
    progress: Callable[[int, LoadStats], None] | None = None,
) -> ReprocessResult:
    """Re-clean, re-extract, validate and reload the stored pages published in [since, until]."""
    from union_news.cleaning import CleaningError, clean_document
    from union_news.extraction import extract_metrics
    from union_news.quality import validate_batch
    from union_news.settings import load_settings

    size = batch_size or int(load_settings()["pipeline"]["batch_size"])
    run_id = run_id or f"reprocess-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    result = ReprocessResult()
    profiles: dict[tuple[str, str], object] = {}
    pages = list(warehouse.stored_pages(since, until, source=source))
    for start in range(0, len(pages), size):
        chunk = pages[start : start + size]
        articles: list[CleanArticle] = []
        quarantined: list[QuarantinedRow] = []
        for page in chunk:
            try:
                article = clean_document(
                    page.text or "",
                    url=page.url,
                    profile=_profile_for(page, profiles),
                    content_type=page.content_type,
                )
            except CleaningError as exc:
                quarantined.append(quarantine_page(page, str(exc)))
                continue
            article.source = page.source or article.source
            articles.append(article)
        rows: list[MetricRow] = []
        for article in articles:
            rows.extend(extract_metrics(article))
        report = validate_batch(articles, rows, data_docs_dir="")
        quarantined += list(report.quarantined)
        accepted = {a.url for a in report.articles_ok}
        retire = [p.url for p in chunk if p.url not in accepted]
        stats = warehouse.load_batch(
            LoadBatch(
                articles=list(report.articles_ok),
                rows=list(report.rows_ok),
                quarantined=quarantined,
                run_id=run_id,
                extractor_version=extractor_version,
                source=source,
                retire=retire,
            )
        )
        result.batches += 1
        result.pages += len(chunk)
        result.articles += len(articles)
        result.clean_failed += len(chunk) - len(articles)
        result.rows_extracted += len(rows)
        result.rows_quarantined += sum(1 for q in report.quarantined if q.kind == "metric")
        result.stats += stats
        if report.threshold_exceeded:
            from union_news.quality import quality_failure_message

            result.quality_messages.append(
                f"batch {result.batches}: {quality_failure_message(report)}"
            )
        if progress is not None:
            progress(result.pages, result.stats)
    return result
