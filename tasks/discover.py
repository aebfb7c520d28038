"""Prefect task for the discover stage: a thin wrapper over ``union_news.discovery``."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from union_news.discovery import DiscoveryResult, discover
from union_news.fetching import Fetcher
from union_news.pipeline import stage_timer
from union_news.profiles import SourceProfile


@task(name="discover candidates", cache_policy=NO_CACHE)
def discover_candidates(
    profile: SourceProfile,
    since: date | None,
    until: date | None,
    settings: dict[str, Any] | None = None,
) -> DiscoveryResult:
    """Article candidates of ``profile`` in [since, until], read politely from its indexes."""
    with stage_timer("discover"), Fetcher(profile, settings) as fetcher:
        return discover(profile, fetcher, since, until, settings)
