"""Initial warehouse schema: articles, raw pages, metric rows, quarantine, fetch log, windows.

Times are naive UTC (``UTCDateTime`` in schema.py) except ``articles.published`` (wall clock).

Revision ID: 0001
Revises:
Create Date: 2026-12-01 19:25:52.501765
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("published", sa.DateTime(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.Column("clean_text", sa.Text(), nullable=False),
        sa.Column("captions", sa.JSON(), nullable=False),
        sa.Column("related_titles", sa.JSON(), nullable=False),
        sa.Column("related_links", sa.JSON(), nullable=False),
        sa.Column("flow_run_id", sa.Text(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_articles")),
    )
    op.create_index(op.f("ix_articles_published"), "articles", ["published"], unique=False)
    op.create_index(op.f("ix_articles_source"), "articles", ["source"], unique=False)

    op.create_table(
        "fetch_log",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("flow_run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_fetch_log")),
    )
    op.create_index(op.f("ix_fetch_log_source"), "fetch_log", ["source"], unique=False)

    op.create_table(
        "ingest_windows",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", "since", "until", name=op.f("pk_ingest_windows")),
    )
    op.create_table(
        "quarantine",
        sa.Column("entry_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("suite", sa.Text(), nullable=False),
        sa.Column("expectation", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column("article_url", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("flow_run_id", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("entry_key", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_article_url"), "quarantine", ["article_url"], unique=False)

    op.create_table(
        "raw_pages",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("encoding", sa.Text(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_raw_pages")),
    )
    op.create_index(op.f("ix_raw_pages_source"), "raw_pages", ["source"], unique=False)

    op.create_table(
        "metric_rows",
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("article_url", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("qualifier", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("achievement_pct", sa.Float(), nullable=True),
        sa.Column("organization", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("period", sa.Text(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evidence_start", sa.Integer(), nullable=False),
        sa.Column("evidence_end", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("flow_run_id", sa.Text(), nullable=True),
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_url"],
            ["articles.url"],
            name=op.f("fk_metric_rows_article_url_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("row_key", name=op.f("pk_metric_rows")),
    )
    op.create_index(
        op.f("ix_metric_rows_article_url"), "metric_rows", ["article_url"], unique=False
    )
    op.create_index(
        "ix_metric_rows_metric_organization_period",
        "metric_rows",
        ["metric", "organization", "period"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_metric_rows_metric_organization_period", table_name="metric_rows")
    op.drop_index(op.f("ix_metric_rows_article_url"), table_name="metric_rows")

    op.drop_table("metric_rows")
    op.drop_index(op.f("ix_raw_pages_source"), table_name="raw_pages")

    op.drop_table("raw_pages")
    op.drop_index(op.f("ix_quarantine_article_url"), table_name="quarantine")

    op.drop_table("quarantine")
    op.drop_table("ingest_windows")
    op.drop_index(op.f("ix_fetch_log_source"), table_name="fetch_log")

    op.drop_table("fetch_log")
    op.drop_index(op.f("ix_articles_source"), table_name="articles")
    op.drop_index(op.f("ix_articles_published"), table_name="articles")

    op.drop_table("articles")
