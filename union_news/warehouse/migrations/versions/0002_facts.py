"""Facts view: one chosen figure per (organization, metric, period, detail), and its conflicts.

Derived from ``metric_rows`` (see ``union_news/facts.py``); the upgrade fills both tables from the
rows already stored, so a warehouse created before this revision is consistent at once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facts",
        sa.Column("organization", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("qualifier", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("achievement_pct", sa.Float(), nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("article_urls", sa.JSON(), nullable=False),
        sa.Column("chosen_url", sa.Text(), nullable=False),
        sa.Column("chosen_row_key", sa.String(length=64), nullable=False),
        sa.Column("published", sa.DateTime(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization", "metric", "period", "detail", name=op.f("pk_facts")
        ),
    )
    op.create_index("ix_facts_metric_period_end", "facts", ["metric", "period_end"], unique=False)
    op.create_table(
        "fact_conflicts",
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("organization", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("fact_value", sa.Float(), nullable=False),
        sa.Column("fact_url", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("qualifier", sa.String(length=16), nullable=False),
        sa.Column("article_url", sa.Text(), nullable=False),
        sa.Column("published", sa.DateTime(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("row_key", name=op.f("pk_fact_conflicts")),
    )
    op.create_index(
        "ix_fact_conflicts_key",
        "fact_conflicts",
        ["organization", "metric", "period", "detail"],
        unique=False,
    )
    # Fill from the mentions already stored (a no-op on an empty warehouse).
    from union_news.facts import refresh_facts

    refresh_facts(op.get_bind(), None)


def downgrade() -> None:
    op.drop_index("ix_fact_conflicts_key", table_name="fact_conflicts")
    op.drop_table("fact_conflicts")
    op.drop_index("ix_facts_metric_period_end", table_name="facts")
    op.drop_table("facts")
