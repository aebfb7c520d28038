"""Alembic environment for the warehouse, run programmatically by ``Warehouse.upgrade()``.

There is no alembic.ini: ``union_news.warehouse.migrations.alembic_config()`` builds the
configuration with ``script_location`` pointing at this package, so migrations run from an
installed wheel too. The caller hands over an open connection in
``config.attributes["connection"]`` (already inside the transaction that holds the migration
lock); the URL is never put into the configuration, so it cannot leak into Alembic's output.
"""

from __future__ import annotations

from alembic import context

import union_news.warehouse.facts_schema  # noqa: F401  (registers facts tables on metadata)
from union_news.warehouse.schema import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("the warehouse migrations run through Warehouse.upgrade()")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError(
        "offline (SQL script) migrations are not supported; use `union-news db upgrade`"
    )
run_migrations_online()
