"""Prefect task for the fetch stage: a thin wrapper over ``union_news.fetching``."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from union_news.fetching import Fetcher, fetch_each
from union_news.models import Candidate, FetchedPage, FetchFailure
from union_news.pipeline import fetch_in_pool, stage_timer
from union_news.profiles import SourceProfile


def fetch_all(
    profile: SourceProfile,
    candidates: list[Candidate],
    validators: dict[str, tuple[str | None, str | None]] | None = None,
    settings: dict[str, Any] | None = None,
) -> tuple[list[FetchedPage], list[FetchFailure]]:
    """Fetch every candidate once (conditionally when validators are known); keep going on
    failures. Pages and failures come back in candidate order.

    In the run's worker processes when it has some and the source asks no spacing between
    requests (``union_news.pipeline.fetch_in_pool``); else here, one request at a time."""
    validators = validators or {}
    pages: list[FetchedPage] = []
    failures: list[FetchFailure] = []
    unique: dict[str, Candidate] = {}
    for cand in candidates:
        unique.setdefault(cand.url, cand)
    unique = list(unique.values())
    results = fetch_in_pool(profile, unique, validators, settings)
    if results is None:
        with Fetcher(profile, settings) as fetcher:
            results = fetch_each(fetcher, unique, validators)
    for got in results:
        (failures if isinstance(got, FetchFailure) else pages).append(got)
    return pages, failures


@task(name="fetch pages", cache_policy=NO_CACHE)
def fetch_pages(
    profile: SourceProfile,
    candidates: list[Candidate],
    validators: dict[str, tuple[str | None, str | None]] | None = None,
    settings: dict[str, Any] | None = None,
) -> tuple[list[FetchedPage], list[FetchFailure]]:
    """Fetched pages (304s included, ``not_modified=True``) and the failures of one batch."""
    with stage_timer("fetch"):
        return fetch_all(profile, candidates, validators, settings)
