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


def _short_url(url: object) -> str:
    """``http://host/path`` -> ``/path`` when every URL shares the host (saves width)."""
    from urllib.parse import urlsplit

    parts = urlsplit(str(url))
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


NUMERIC = {"value", "fact_value", "mentions", "conflicts", "target", "achievement_pct"}
NO_WRAP = {"value", "fact_value"}
QUALIFIER_VI = {
    "over": "trên {}",
    "nearly": "gần {}",
    "about": "khoảng {}",
    "at_least": "{} trở lên",
}
HEADERS = {
    "qualifier": "qual.",
    "mentions": "ment.",
    "conflicts": "confl.",
    "article_urls": "articles",
}
MIN_WIDTH: dict[str, int] = {}


def _print_table(console: Console, df, title: str, columns: list[str]) -> None:
    from urllib.parse import urlsplit

    from rich.markup import escape

    # columns empty in every row (often ``detail``) or equal in every row only take width
    shown, fixed = [], []
    for col in columns:
        cells = df[col].map(_fmt)
        if not (cells != "").any() or (col == "conflicts" and (cells == "0").all()):
            continue
        if len(df) > 1 and cells.nunique() == 1 and col in ("organization", "metric"):
            if cells.iloc[0] not in title:
                fixed.append(cells.iloc[0])
            continue
        shown.append(col)
    urls = [
        u
        for col in ("article_urls", "article_url")
        if col in df
        for v in df[col]
        for u in (v if isinstance(v, list) else [v])
    ]
    one_host = len({urlsplit(str(u)).netloc for u in urls}) == 1
    table = Table(
        title=escape(title + (f" [{'; '.join(fixed)}]" if fixed else "")),
        caption=f"articles on {urlsplit(str(urls[0])).netloc}" if one_host and urls else None,
        show_header=True,
        header_style="bold",
    )
    for col in shown:
        table.add_column(
            HEADERS.get(col, col),
            justify="right" if col in NUMERIC else "left",
            overflow="fold",
            no_wrap=col in NO_WRAP,
            min_width=MIN_WIDTH.get(col),
        )
    for rec in df.to_dict(orient="records"):
        cells = []
        for col in shown:
            value = rec.get(col)
            if one_host and col in ("article_urls", "article_url"):
                value = (
                    [_short_url(u) for u in value] if isinstance(value, list) else _short_url(value)
                )
            text = _fmt(value)
            if col == "value" and rec.get("qualifier") in QUALIFIER_VI:
                text = QUALIFIER_VI[rec["qualifier"]].format(text)
            cells.append(text)
        table.add_row(*cells)
    console.print(table)


TABLE_FACT_COLUMNS = [
    "organization",
    "metric",
    "period",
    "detail",
    "value",
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
