"""Plain data records passed between the pipeline's stages.

No stage imports Prefect or an HTTP library to build these: they are the contract between
discovery, fetching, cleaning, extraction, validation and loading.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

QUALIFIERS = ("exact", "over", "nearly", "about", "at_least")


@dataclass(slots=True)
class Candidate:
    """An article URL found by discovery, with what the listing said about it."""

    url: str
    source: str
    title: str | None = None
    published: datetime | None = None
    found_on: str | None = None  # listing, feed or sitemap URL


@dataclass(slots=True)
class FetchedPage:
    """A page that came back from a fetch (or from the raw page store)."""

    url: str  # the URL asked for (normalised)
    final_url: str  # after redirects
    status: int  # 200, or 304 when not_modified
    text: str | None  # decoded body; None when not_modified
    content_type: str = "text/html"
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime | None = None
    source: str | None = None
    not_modified: bool = False
    attempts: int = 1
    packed: bytes | None = None  # the body while held compressed (``text`` is then None)

    def pack(self) -> FetchedPage:
        """Hold the body zlib-compressed: a page waits in memory from its fetch to its batch's
        load, and a few batches of bodies are most of a run's memory (a Vietnamese page takes
        two bytes a character as ``str``, about a tenth of that packed). ``body()`` reads it."""
        if self.text is not None:
            self.packed = zlib.compress(self.text.encode("utf-8", "surrogatepass"), 1)
            self.text = None
        return self

    def body(self) -> str | None:
        """The decoded body, packed or not; None for a 304."""
        if self.text is not None:
            return self.text
        if self.packed is not None:
            return zlib.decompress(self.packed).decode("utf-8", "surrogatepass")
        return None


@dataclass(slots=True)
class FetchFailure:
    """An attempt that ended without a page: kept in the fetch log, retried on the next run."""

    url: str
    error: str  # short machine-readable kind: http_404, timeout, too_large, robots, ...
    status: int | None = None
    attempts: int = 1
    detail: str | None = None  # readable reason
    source: str | None = None
    at: datetime | None = None


@dataclass(slots=True)
class CleanArticle:
    """An article with its boilerplate removed.

    ``text`` is the body only: one paragraph per line, no title. ``clean_text`` is the title
    line followed by the body, the form of ``seeds-gold/*.clean.txt``; metric evidence offsets
    point into ``clean_text``.
    """

    url: str
    title: str
    text: str
    author: str | None = None
    published: datetime | None = None
    captions: list[str] = field(default_factory=list)
    related_titles: list[str] = field(default_factory=list)
    related_links: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    source: str | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n") if p.strip()]

    @property
    def clean_text(self) -> str:
        return f"{self.title}\n{self.text}" if self.text else self.title

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "canonical_url": self.canonical_url,
            "title": self.title,
            "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "text": self.text,
            "captions": list(self.captions),
            "related_titles": list(self.related_titles),
        }


@dataclass(slots=True)
class MetricRow:
    """One reported figure: a row of the warehouse's metric table (one row per mention)."""

    metric: str
    value: float
    qualifier: str = "exact"
    target: float | None = None
    achievement_pct: float | None = None
    organization: str | None = None
    detail: str | None = None
    period: str | None = None  # "2020", "2018-2023" or "2022-11-15"
    unit: str | None = None  # the counted noun or "VND" / "%"
    evidence: str = ""  # the sentence the figure came from
    evidence_start: int = 0  # offsets of ``evidence`` in CleanArticle.clean_text
    evidence_end: int = 0
    article_url: str | None = None

    def natural_key(self) -> tuple[Any, ...]:
        return (
            self.article_url or "",
            self.metric,
            self.organization or "",
            self.detail or "",
            self.period or "",
            float(self.value),
        )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("value", "target", "achievement_pct"):
            v = d[k]
            if isinstance(v, float) and v.is_integer():
                d[k] = int(v)
        return d


@dataclass(slots=True)
class QuarantinedRow:
    """A row held back by a data-quality check, with why."""

    kind: str  # "metric" or "article"
    suite: str
    expectation: str
    reason: str
    row: dict[str, Any]
    article_url: str | None = None


@dataclass(slots=True)
class Window:
    """A half-open date range [since, until] (both inclusive days) ingested as one unit."""

    since: date
    until: date

    @property
    def label(self) -> str:
        return f"{self.since.isoformat()}..{self.until.isoformat()}"
