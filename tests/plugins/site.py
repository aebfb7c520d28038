"""Fixtures for the site area: the bundled sample site served over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def sample_site() -> Iterator[object]:
    """A running :class:`union_news.sample_site.SampleSite` (one per test session)."""
    from union_news.sample_site import SampleSite

    with SampleSite() as site:
        yield site


@pytest.fixture(scope="session")
def sample_articles() -> list[object]:
    """Every sample page, special kinds (``no_article``) included, by id."""
    from union_news.sample_site import load_sample_articles

    return load_sample_articles()
