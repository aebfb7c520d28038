"""The ``union-news`` command line (typer + rich).

Heavy imports (Prefect, Great Expectations, trafilatura) happen inside the commands that need them,
so ``union-news --help`` and the pure commands start fast.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from importlib import import_module
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="union-news",
    help="Turn Vietnamese trade-union news into a clean, trustworthy metrics warehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console()
err = Console(stderr=True)

DEMO_PORT = 8741  # the demo's sample site; UNION_NEWS_DEMO_PORT overrides

WarehouseOpt = Annotated[
    str | None,
    typer.Option("--warehouse", help="SQLAlchemy URL (default: UNION_NEWS_WAREHOUSE_URL or sqlite:///warehouse.db)"),
]


def _quiet_prefect_defaults() -> None:
    """Sensible defaults for a local run; a user's own settings win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # the local API boots in ~10 s on an idle machine; give a busy one room before giving up
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # pages without an article are reported by the run (quarantine, summary): trafilatura's own
    # "discarding data" warning and Great Expectations' housekeeping lines only add noise
    import logging

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _print_summary(summary: dict, title: str) -> None:
    from union_news.pipeline import SUMMARY_LABELS

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("stage")
    table.add_column("count", justify="right")
    for key, label in SUMMARY_LABELS.items():
        table.add_row(label, str(summary.get(key, 0)))
    table.add_row("time taken", f"{summary.get('seconds', 0):.1f} s")
    console.print(table)
    checks = summary.get("quality") or []
    if checks:
        quality = Table(title="data quality (Great Expectations)", header_style="bold")
        for name, justify in (("suite", "left"), ("expectation", "left"), ("severity", "left"),
                              ("checked", "right"), ("failed", "right")):
            quality.add_column(name, justify=justify)
        for c in checks:
            style = "red" if c["failed"] and c["severity"] == "critical" else (
                "yellow" if c["failed"] else None)
            quality.add_row(c["suite"], c["expectation"], c["severity"], str(c["checked"]),
                            str(c["failed"]), style=style)
        console.print(quality)
    if summary.get("data_docs"):
        console.print(f"Data Docs: [cyan]{summary['data_docs']}[/]")
    for message in summary.get("quality_messages") or []:
        err.print(f"[yellow]quality:[/] {message}")


def _run_ingest(**params) -> dict:
    """Run the ingest flow through Prefect (local API unless PREFECT_API_URL is set)."""
    _quiet_prefect_defaults()
    from flows.ingest import ingest

    # Prefect stores a flow run's parameters in clear (API, UI): the warehouse URL, which may
    # hold a password, goes to the flow through the environment instead.
    url = params.pop("warehouse_url", None)
    saved = os.environ.get("UNION_NEWS_WAREHOUSE_URL")
    if url:
        os.environ["UNION_NEWS_WAREHOUSE_URL"] = url
    try:
        state = ingest(**params, return_state=True)
    finally:
        if saved is None:
            os.environ.pop("UNION_NEWS_WAREHOUSE_URL", None)
        else:
            os.environ["UNION_NEWS_WAREHOUSE_URL"] = saved
    data = state.data if isinstance(getattr(state, "data", None), dict) else None
    if data is None:
        try:
            data = state.result(raise_on_failure=False)
        except Exception:  # noqa: BLE001 - report the state's own message below
            data = None
    if state.is_failed() or not isinstance(data, dict):
        from union_news.secrets import mask_text

        err.print(f"[red]ingest run {state.name}:[/] {mask_text(state.message or 'failed')}")
        if isinstance(data, dict):
            _print_summary(data, "union-news ingest (failed)")
        raise typer.Exit(1)
    return data


@app.command()
def demo(warehouse: WarehouseOpt = None) -> None:
    """Serve the bundled sample site on loopback and ingest it through Prefect."""
    from union_news.sample_site import SampleSite
    from union_news.secrets import mask_url
    from union_news.settings import warehouse_url

    url = warehouse_url(warehouse)
    # Article URLs include the site's port, so the demo serves on the same port every time (a
    # rerun then finds the same articles unchanged); a busy port falls back to a free one.
    port = int(os.environ.get("UNION_NEWS_DEMO_PORT", DEMO_PORT))
    try:
        site = SampleSite(port=port).start()
    except OSError:
        site = SampleSite().start()
        err.print(f"[yellow]port {port} is busy: the sample site is served on another port, so "
                  "this run's article URLs differ from earlier demo runs'[/]")
    with site:
        console.print(f"Sample site at [cyan]{site.base_url}[/], warehouse [cyan]{mask_url(url)}[/]")
        summary = _run_ingest(source="sample", base_url=site.base_url, warehouse_url=url)
    _print_summary(summary, "union-news demo")


@app.command()
def run(
    source: Annotated[str, typer.Option(help="source profile name or path to a profile YAML")] = "laodongthudo.vn",
    since: Annotated[str | None, typer.Option(help="first publication day, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="last publication day, YYYY-MM-DD")] = None,
    warehouse: WarehouseOpt = None,
    base_url: Annotated[str | None, typer.Option(help="base URL for profiles served at run time")] = None,
) -> None:
    """Ingest a configured source (default: laodongthudo.vn's trade-union section)."""
    from union_news.profiles import load_profile

    start, end = _parse_day(since, "--since"), _parse_day(until, "--until")
    if start and end and start > end:
        raise typer.BadParameter("--since is after --until")
    try:
        load_profile(source, base_url=base_url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--source") from None
    summary = _run_ingest(source=source, since=start, until=end, warehouse_url=warehouse, base_url=base_url)
    _print_summary(summary, f"union-news run: {source}")


_MAX_INPUT_BYTES = 20_000_000  # the clean stage refuses pages over 5M characters anyway


def _read_input(path_or_url: str) -> tuple[str, str, str | None]:
    """Return (content, url, content_type) for a file path, '-' or an http(s) URL."""
    if path_or_url == "-":
        return sys.stdin.read(), "stdin", None
    if path_or_url.startswith(("http://", "https://")):
        from urllib.parse import urlsplit

        from union_news.fetching import Fetcher
        from union_news.models import FetchFailure
        from union_news.profiles import SourceProfile

        host = urlsplit(path_or_url).hostname or ""
        profile = SourceProfile(name=host, hosts=[host])
        fetcher = Fetcher(profile)
        try:
            page = fetcher.fetch(path_or_url)
        finally:
            fetcher.close()
        if isinstance(page, FetchFailure):
            from union_news.secrets import mask_text

            raise typer.BadParameter(
                mask_text(f"could not fetch {path_or_url}: {page.error} {page.detail or ''}")
            )
        return page.text or "", page.final_url, page.content_type
    path = Path(path_or_url)
    if not path.is_file():
        raise typer.BadParameter(f"{path_or_url!r} is neither a readable file nor an http(s) URL")
    try:
        size = path.stat().st_size
        if size > _MAX_INPUT_BYTES:
            raise typer.BadParameter(
                f"{path_or_url!r} is {size:,} bytes; pages over {_MAX_INPUT_BYTES:,} are refused"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"{path_or_url!r} cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None:
            raise typer.BadParameter(f"{path_or_url!r} is not text") from None
        text = str(best)
    return text, path.resolve().as_uri(), None


def _clean(path_or_url: str):
    from union_news.cleaning import CleaningError, clean_document

    content, url, content_type = _read_input(path_or_url)
    try:
        return clean_document(content, url=url, content_type=content_type)
    except CleaningError as exc:
        err.print(f"[red]{path_or_url}:[/] no article found: {exc}")
        raise typer.Exit(2) from None


@app.command()
def clean(
    path_or_url: Annotated[str, typer.Argument(help="an HTML or text file, '-' for stdin, or a URL")],
    format: Annotated[str, typer.Option("--format", help="json or text")] = "json",
) -> None:
    """Strip boilerplate from one page and print the article."""
    if format not in {"json", "text"}:
        raise typer.BadParameter("use json or text", param_hint="--format")
    article = _clean(path_or_url)
    if format == "text":
        sys.stdout.write(article.clean_text + "\n")
    else:
        sys.stdout.write(json.dumps(article.to_json(), ensure_ascii=False, indent=2) + "\n")


@app.command()
def extract(
    paths: Annotated[list[str], typer.Argument(help="HTML or text files (cleaned first)")],
) -> None:
    """Print one JSON line per metric row found in each input."""
    from union_news.extraction import extract_metrics

    for path in paths:
        article = _clean(path)
        for row in extract_metrics(article):
            record = row.to_json()
            record["source"] = path
            sys.stdout.write(json.dumps(record, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(value: object) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


# Command groups contributed by other modules: each exposes ``register(app)``.
for _module in ("union_news.cli_db", "union_news.cli_serve", "union_news.cli_report"):
    try:
        import_module(_module).register(app)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise


if __name__ == "__main__":
    app()
