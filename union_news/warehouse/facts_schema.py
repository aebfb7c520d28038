"""The facts view of the warehouse: one row per (organization, metric, period, detail).

``facts`` and ``fact_conflicts`` are derived data: :func:`union_news.facts.refresh_facts`
rebuilds the rows of the keys a load touched, inside the load's own transaction, from
``metric_rows`` (the mention table) joined with ``articles`` (publication time). Like the other
warehouse tables they have natural keys only, so the same loads give identical contents on SQLite
and PostgreSQL. Key parts that are ``None`` on a metric row are stored as ``""`` (a primary key
column cannot be NULL).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, DateTime, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from union_news.warehouse.schema import Base


class FactRecord(Base):
    """The chosen figure of one key, the rule that chose it and its supporting articles."""

    __tablename__ = "facts"

    organization: Mapped[str] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(primary_key=True)
    detail: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[float]
    qualifier: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None]
    target: Mapped[float | None] = mapped_column(Float)
    achievement_pct: Mapped[float | None] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(32))
    mentions: Mapped[int]  # supporting mentions (agreeing with the value within rounding)
    conflicts: Mapped[int]  # mentions that disagree beyond rounding
    article_urls: Mapped[list[str]] = mapped_column(JSON)  # supporting articles, newest first
    chosen_url: Mapped[str]
    chosen_row_key: Mapped[str] = mapped_column(String(64))
    published: Mapped[datetime | None] = mapped_column(DateTime)  # chosen article, wall clock
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    evidence: Mapped[str]


Index("ix_facts_metric_period_end", FactRecord.metric, FactRecord.period_end)


class FactConflictRecord(Base):
    """A mention that disagrees with its key's fact beyond rounding (see union_news.facts)."""

    __tablename__ = "fact_conflicts"

    row_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # metric_rows.row_key
    organization: Mapped[str]
    metric: Mapped[str]
    period: Mapped[str]
    detail: Mapped[str]
    fact_value: Mapped[float]
    fact_url: Mapped[str]
    value: Mapped[float]
    qualifier: Mapped[str] = mapped_column(String(16))
    article_url: Mapped[str]
    published: Mapped[datetime | None] = mapped_column(DateTime)  # wall clock
    evidence: Mapped[str]


Index(
    "ix_fact_conflicts_key",
    FactConflictRecord.organization,
    FactConflictRecord.metric,
    FactConflictRecord.period,
    FactConflictRecord.detail,
)

facts_table = FactRecord.__table__
fact_conflicts_table = FactConflictRecord.__table__
FACT_TABLES = ("facts", "fact_conflicts")
