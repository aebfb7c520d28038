"""``union-news report``: the facts view (or its conflicts) as a table, CSV, JSON, Parquet, chart."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def _consoles() -> tuple[Console, Console]:
    """Made per call, so the terminal width (``COLUMNS``) is read when the command runs."""
    return Console(), Console(stderr=True)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            value = int(value)
        else:
            return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _print_table(console: Console, df, title: str, columns: list[str]) -> None:
    # columns empty in every row (often ``detail``) only take width
    columns = [c for c in columns if df[c].map(lambda v: _fmt(v) != "").any()]
    table = Table(title=title, show_header=True, header_style="bold", show_lines=False)
    numeric = {"value", "fact_value", "mentions", "conflicts", "target", "achievement_pct"}
    for col in columns:
        table.add_column(col, justify="right" if col in numeric else "left", overflow="fold")
    for rec in df.to_dict(orient="records"):
        table.add_row(*(_fmt(rec.get(col)) for col in columns))
    console.print(table)


TABLE_FACT_COLUMNS = [
    "organization",
    "metric",
    "period",
    "detail",
    "value",
    "qualifier",
    "rule",
    "mentions",
    "conflicts",
    "article_urls",
]
TABLE_CONFLICT_COLUMNS = [
    "organization",
    "metric",
    "period",
    "detail",
    "fact_value",
    "value",
    "qualifier",
    "article_url",
]


def report(
    org: Annotated[
        str | None, typer.Option("--org", help="organization (case-insensitive substring)")
    ] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="metric key, e.g. members_total")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="period ends on or after, YYYY-MM-DD")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="period starts on or before, YYYY-MM-DD")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="table, csv, json or parquet (parquet needs --output)")
    ] = "table",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="write to FILE instead of stdout")
    ] = None,
    plot: Annotated[
        str | None, typer.Option("--plot", help="also draw a metric over time to FILE.png")
    ] = None,
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            help="SQLAlchemy URL (default: UNION_NEWS_WAREHOUSE_URL or sqlite:///warehouse.db)",
        ),
    ] = None,
    conflicts: Annotated[
        bool, typer.Option("--conflicts", help="list the mentions that disagree with their fact")
    ] = False,
) -> None:
    """One figure per organization, metric, period and detail, with its sources (or conflicts)."""
    from union_news import report as rp
    from union_news.secrets import mask_text, mask_url
    from union_news.settings import warehouse_url

    console, err = _consoles()
    if format not in rp.FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(rp.FORMATS)}", param_hint="--format")
    if format == "parquet" and not output:
        raise typer.BadParameter(
            "parquet is binary: give --output FILE.parquet", param_hint="--format"
        )
    if format == "table" and output:
        raise typer.BadParameter(
            "--output needs --format csv, json or parquet", param_hint="--output"
        )
    if plot is not None and not plot.lower().endswith(".png"):
        raise typer.BadParameter("the chart is a PNG: give a FILE.png", param_hint="--plot")
    if plot is not None and conflicts:
        raise typer.BadParameter("--plot draws facts, not conflicts", param_hint="--plot")
    try:
        filters = rp.Filters(
            org=org,
            metric=metric,
            since=rp.parse_day(since, "--since"),
            until=rp.parse_day(until, "--until"),
        )
    except rp.ReportError as exc:
        raise typer.BadParameter(str(exc)) from None

    url = warehouse_url(warehouse)
    try:
        df, info = _query(url, filters, conflicts, plot)
    except rp.ReportError as exc:
        err.print(f"[red]report:[/] {exc}")
        raise typer.Exit(2) from None
    except Exception as exc:  # noqa: BLE001 - a database error: say which warehouse, masked
        err.print(
            f"[red]report:[/] cannot read the warehouse {mask_url(url)}: {mask_text(str(exc))}"
        )
        raise typer.Exit(1) from None

    title = rp.report_title(filters, conflicts)
    if format == "table":
        if df.empty:
            err.print(f"No {'conflicts' if conflicts else 'facts'} match ({filters.describe()}).")
        else:
            _print_table(
                console, df, title, TABLE_CONFLICT_COLUMNS if conflicts else TABLE_FACT_COLUMNS
            )
    else:
        text = rp.export(df, format, output)
        if text is not None:
            sys.stdout.write(text)
        else:
            err.print(f"Wrote {len(df)} rows to {output} ({format}).")
    if info is not None:
        err.print(
            f"Chart: {info.path} ({info.width_px}x{info.height_px} px, {info.metric}, "
            f"{len(info.organizations)} organizations, {info.points} points)"
        )
        if info.note:
            err.print(f"[yellow]note:[/] {info.note}")


def _query(url: str, filters, conflicts: bool, plot: str | None):
    from pathlib import Path

    from sqlalchemy import create_engine, inspect, make_url

    from union_news import report as rp

    parsed = make_url(url)
    database = parsed.database or ""
    on_disk = database not in ("", ":memory:") and not database.startswith("file:")
    if parsed.get_backend_name() == "sqlite" and on_disk and not Path(database).is_file():
        raise rp.ReportError(
            f"no warehouse at {database}: run `union-news demo` or give --warehouse URL"
        )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("facts"):
                raise rp.ReportError(
                    "this warehouse has no facts table yet: run `union-news db upgrade` "
                    "and load some articles (`union-news demo`)"
                )
            rp.check_filters(conn, filters)
            df = rp.query_conflicts(conn, filters) if conflicts else rp.query_facts(conn, filters)
    finally:
        engine.dispose()
    info = rp.plot_facts(df, plot, filters.metric) if plot else None
    return df, info


def register(app: typer.Typer) -> None:
    app.command("report")(report)
