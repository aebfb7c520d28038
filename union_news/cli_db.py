"""Warehouse commands: ``union-news db upgrade|status`` and ``union-news reprocess``.

Registered onto the main typer app by ``union_news.cli`` (``register(app)``). Every message
shows the warehouse URL masked; database errors come out as one masked line and exit code 1.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)

db_app = typer.Typer(name="db", help="Warehouse schema: migrate and inspect.", no_args_is_help=True)

WarehouseOpt = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        help="SQLAlchemy URL (default: UNION_NEWS_WAREHOUSE_URL or sqlite:///warehouse.db)",
    ),
]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _open(url: str | None):
    from union_news.settings import warehouse_url
    from union_news.warehouse import Warehouse

    return Warehouse(warehouse_url(url))


def _fail(exc: Exception) -> None:
    from union_news.secrets import mask_text

    err.print(f"[red]warehouse error:[/] {mask_text(str(exc))}", highlight=False)
    raise typer.Exit(1)


@db_app.command("upgrade")
def upgrade(warehouse: WarehouseOpt = None, revision: str = "head") -> None:
    """Create or migrate the warehouse schema (Alembic); safe to run again."""
    from union_news.warehouse import WarehouseError

    wh = _open(warehouse)
    try:
        before = wh.current_revision()
        wh.upgrade(revision)
        after = wh.current_revision()
    except WarehouseError as exc:
        _fail(exc)
    finally:
        wh.dispose()
    if before == after:
        console.print(f"{wh.masked_url}: already at revision {after}", highlight=False)
    else:
        console.print(f"{wh.masked_url}: upgraded {before or 'empty'} -> {after}", highlight=False)


@db_app.command("status")
def status(warehouse: WarehouseOpt = None) -> None:
    """Show the schema revision and the rows per table."""
    from union_news.warehouse import Warehouse, WarehouseError

    wh = _open(warehouse)
    try:
        current, head = wh.current_revision(), Warehouse.head_revision()
        counts = wh.table_counts()
    except WarehouseError as exc:
        _fail(exc)
    finally:
        wh.dispose()
    state = "up to date" if current == head else "needs `union-news db upgrade`"
    console.print(f"warehouse {wh.masked_url}", highlight=False)
    console.print(
        f"revision {current or 'none (empty database)'} (head {head}): {state}", highlight=False
    )
    table = Table(show_header=True, header_style="bold")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, "-" if count is None else str(count))
    console.print(table)


def reprocess_command(
    since: Annotated[str | None, typer.Option(help="first publication day, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="last publication day, YYYY-MM-DD")] = None,
    warehouse: WarehouseOpt = None,
    source: Annotated[str | None, typer.Option(help="only pages of this source")] = None,
    batch_size: Annotated[int | None, typer.Option(help="pages per transaction")] = None,
) -> None:
    """Clean and extract stored pages again with the current code (no network), replacing
    the rows of every article whose result changed, one transaction per batch."""
    from union_news.warehouse import WarehouseError
    from union_news.warehouse.reprocess import reprocess

    start, end = _day(since, "--since"), _day(until, "--until")
    if start and end and start > end:
        raise typer.BadParameter("--since is after --until")
    wh = _open(warehouse)
    try:
        wh.upgrade()
        result = reprocess(wh, start, end, source=source, batch_size=batch_size)
    except WarehouseError as exc:
        _fail(exc)
    finally:
        wh.dispose()
    s = result.stats
    table = Table(
        title=f"union-news reprocess: {wh.masked_url}", show_header=True, header_style="bold"
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("stored pages reprocessed", result.pages),
        ("pages without an article", result.clean_failed),
        ("metric rows extracted", result.rows_extracted),
        ("rows quarantined", result.rows_quarantined),
        ("articles unchanged", s.articles_unchanged),
        ("articles updated", s.articles_updated),
        ("articles retired", s.articles_deleted),
        ("metric rows inserted", s.rows_inserted),
        ("metric rows deleted", s.rows_deleted),
        ("metric rows unchanged", s.rows_unchanged),
    ):
        table.add_row(label, str(value))
    console.print(table)
    for message in result.quality_messages:
        err.print(f"[yellow]quality:[/] {message}")
    if result.quality_failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``db upgrade``, ``db status`` and ``reprocess`` to the ``union-news`` app."""
    app.add_typer(db_app, name="db")
    app.command("reprocess")(reprocess_command)
