"""Prefect task for the clean stage: a thin wrapper over ``union_news.cleaning``."""

from __future__ import annotations

from prefect import task

from union_news.cleaning import CleaningError, clean_document
from union_news.models import CleanArticle, FetchedPage, QuarantinedRow
from union_news.profiles import SourceProfile


def quarantine_page(page: FetchedPage, reason: str) -> QuarantinedRow:
    """The quarantine record of a page that held no article."""
    url = page.final_url or page.url
    return QuarantinedRow(
        kind="page",
        suite="clean",
        expectation="article_extractable",
        reason=reason,
        row={"url": url, "status": page.status},
        article_url=url,
    )


@task(name="clean pages")
def clean_pages(
    pages: list[FetchedPage], profile: SourceProfile | None
) -> tuple[list[CleanArticle], list[QuarantinedRow]]:
    """Clean every fetched page; pages without an article come back as quarantined rows."""
    articles: list[CleanArticle] = []
    failures: list[QuarantinedRow] = []
    for page in pages:
        if page.text is None:
            continue
        try:
            article = clean_document(
                page.text, url=page.url, profile=profile, content_type=page.content_type
            )
        except CleaningError as err:
            failures.append(quarantine_page(page, str(err)))
            continue
        article.source = page.source or article.source
        articles.append(article)
    return articles, failures
