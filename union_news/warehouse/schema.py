"""The warehouse tables as SQLAlchemy 2 typed ORM models (the Alembic migrations create them).

Keys are natural, never sequences, so a reload, a crash-and-rerun and the same load into SQLite
or PostgreSQL end with identical table contents:

- ``articles``: the article URL (the URL the page was fetched from; ``canonical_url`` kept aside);
- ``raw_pages``: the fetched URL;
- ``metric_rows``: ``row_key``, a SHA-256 of ``MetricRow.natural_key()``
  (article URL, metric, organization, detail, period, value), with the key's columns kept as they
  are (nullable columns would not make a portable unique constraint);
- ``quarantine``: ``entry_key``, a SHA-256 of kind, suite, expectation, reason, article and row, so
  a rerun does not quarantine the same row twice;
- ``fetch_log``: the URL (its latest fetch failure, ``resolved`` once fetched OK);
- ``ingest_windows``: (source, since, until).

Times are stored as naive UTC and read back as aware UTC (:class:`UTCDateTime`), except
``articles.published``, the article's own wall-clock time as printed on the page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend, returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        str: Text,
        datetime: UTCDateTime,
        date: Date,
        float: Float,
        int: Integer,
        bool: Boolean,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Article(Base):
    """One cleaned article; ``clean_text`` is the title line followed by the body."""

    __tablename__ = "articles"

    url: Mapped[str] = mapped_column(primary_key=True)
    canonical_url: Mapped[str | None]
    source: Mapped[str | None] = mapped_column(index=True)
    title: Mapped[str]
    author: Mapped[str | None]
    published: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # wall clock
    fetched_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    extractor_version: Mapped[str] = mapped_column(String(32))
    clean_text: Mapped[str]
    captions: Mapped[list[str]] = mapped_column(JSON, default=list)
    related_titles: Mapped[list[str]] = mapped_column(JSON, default=list)
    related_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    flow_run_id: Mapped[str | None]
    loaded_at: Mapped[datetime]


class RawPage(Base):
    """The page as fetched, so it can be cleaned and extracted again without the network."""

    __tablename__ = "raw_pages"

    url: Mapped[str] = mapped_column(primary_key=True)
    final_url: Mapped[str]
    source: Mapped[str | None] = mapped_column(index=True)
    status: Mapped[int]
    content_type: Mapped[str | None]
    encoding: Mapped[str | None]
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]
    text: Mapped[str]
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime | None]
    stored_at: Mapped[datetime]


class MetricRowRecord(Base):
    """One reported figure (one row per mention), with its lineage."""

    __tablename__ = "metric_rows"
    __table_args__ = (
        Index("ix_metric_rows_metric_organization_period", "metric", "organization", "period"),
    )

    row_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    article_url: Mapped[str] = mapped_column(
        ForeignKey("articles.url", ondelete="CASCADE"), index=True
    )
    metric: Mapped[str]
    value: Mapped[float]
    qualifier: Mapped[str] = mapped_column(String(16))
    target: Mapped[float | None]
    achievement_pct: Mapped[float | None]
    organization: Mapped[str | None]
    detail: Mapped[str | None]
    period: Mapped[str | None]
    unit: Mapped[str | None]
    evidence: Mapped[str]
    evidence_start: Mapped[int]
    evidence_end: Mapped[int]
    source: Mapped[str | None]
    flow_run_id: Mapped[str | None]
    extractor_version: Mapped[str] = mapped_column(String(32))
    loaded_at: Mapped[datetime]


class QuarantineEntry(Base):
    """A row (or page, or article) held back by a check, with why."""

    __tablename__ = "quarantine"

    entry_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    suite: Mapped[str]
    expectation: Mapped[str]
    reason: Mapped[str]
    row: Mapped[dict[str, Any]] = mapped_column(JSON)
    article_url: Mapped[str | None] = mapped_column(index=True)
    source: Mapped[str | None]
    flow_run_id: Mapped[str | None]
    at: Mapped[datetime]


class FetchLogEntry(Base):
    """The latest fetch failure of a URL; ``resolved`` once a later fetch succeeded."""

    __tablename__ = "fetch_log"

    url: Mapped[str] = mapped_column(primary_key=True)
    source: Mapped[str | None] = mapped_column(index=True)
    error: Mapped[str]
    status: Mapped[int | None]
    attempts: Mapped[int]
    detail: Mapped[str | None]
    at: Mapped[datetime]
    resolved: Mapped[bool] = mapped_column(default=False)
    resolved_at: Mapped[datetime | None]
    flow_run_id: Mapped[str | None]


class IngestWindow(Base):
    """The status of one ingested window of one source (what backfills resume from)."""

    __tablename__ = "ingest_windows"

    source: Mapped[str] = mapped_column(primary_key=True)
    since: Mapped[date] = mapped_column(primary_key=True)
    until: Mapped[date] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str | None]
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]


metadata = Base.metadata
TABLES = ("articles", "raw_pages", "metric_rows", "quarantine", "fetch_log", "ingest_windows")
