"""Each stage of the ingest pipeline alone, on the pages of a generated sample site.

``--pages`` article pages are generated (``bench/sitegen.py``) and rendered as the sample site
serves them; then, in this process and without Prefect:

- clean: pages/s of ``clean_document`` in this process, and through the flow's worker pool
  (``union_news.pipeline.worker_pool``, one process per CPU) — with plain
  ``trafilatura.extract(html, include_comments=False)`` timed over the same pages for scale;
- extract: articles/s of ``extract_metrics`` over the cleaned articles;
- validate: rows/s of ``validate_batch`` (Great Expectations) at the pipeline's batch size,
  Data Docs included, after the one-off warm-up (timed apart);
- load: rows/s of ``Warehouse.load_batch`` (facts refresh included) into SQLite (a temporary
  file) and PostgreSQL (a schema of its own in ``--pg``, dropped afterwards; ``null`` when no
  server answers), in batches of the pipeline's size.

Each timing is repeated ``--repeat`` times (load: fresh warehouses) and the median reported.
With ``--flow`` the end-to-end run of ``bench/e2e.py`` (through a real Prefect server) is added
for the same pages, giving the flow's orchestration overhead per page next to the stages.
Ends with one JSON line.

    uv run python bench/stages.py [--pages 400] [--repeat 3] [--pg URL|none] [--flow]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import PG_DEFAULT, drop_schema, pg_schema_url  # noqa: E402
from bench.sitegen import generate_articles  # noqa: E402
from union_news.models import FetchedPage  # noqa: E402
from union_news.pipeline import (  # noqa: E402
    chunks,
    clean_all,
    extract_all,
    worker_pool,
)

BASE = "http://127.0.0.1:8000"


def _timed(fn, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def make_pages(n: int, workdir: Path) -> list[FetchedPage]:
    from union_news.sample_site import load_sample_articles
    from union_news.sample_site.render import render_article_html

    generate_articles(n, workdir)
    pages = []
    for a in load_sample_articles(workdir):
        url = BASE + a.path
        pages.append(
            FetchedPage(
                url=url,
                final_url=url,
                status=200,
                text=render_article_html(a, BASE),
                content_type="text/html; charset=utf-8",
                etag=f'"{a.id}"',
                source="sample",
            )
        )
    return pages


def bench_load(url: str, pages, articles, rows_by_url, batch_size: int, quarantined) -> float:
    """Seconds to load every batch into a fresh warehouse at ``url``."""
    from union_news.warehouse import LoadBatch, Warehouse

    warehouse = Warehouse(url)
    warehouse.upgrade()
    page_of = {p.url: p for p in pages}
    try:
        t0 = time.perf_counter()
        for part in chunks(articles, batch_size):
            warehouse.load_batch(
                LoadBatch(
                    pages=[page_of[a.url] for a in part],
                    articles=part,
                    rows=[r for a in part for r in rows_by_url[a.url]],
                    quarantined=[q for q in quarantined if q.article_url in {a.url for a in part}],
                    run_id="bench",
                    source="sample",
                )
            )
        return time.perf_counter() - t0
    finally:
        warehouse.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL, or 'none'")
    ap.add_argument("--flow", action="store_true", help="add the end-to-end run (bench/e2e.py)")
    args = ap.parse_args(argv)
    import trafilatura

    from union_news.profiles import load_profile
    from union_news.quality import expectations_dir, validate_batch
    from union_news.quality.runner import warm_up
    from union_news.settings import load_settings

    settings = load_settings()
    batch_size = int(settings["pipeline"]["batch_size"])
    profile = load_profile("sample", base_url=BASE)
    out: dict[str, Any] = {"bench": "stages", "pages": args.pages, "batch_size": batch_size}
    with tempfile.TemporaryDirectory(prefix="union-news-stages-") as tmp:
        pages = make_pages(args.pages, Path(tmp) / "articles")
        n = len(pages)

        plain_s, _ = _timed(
            lambda: [trafilatura.extract(p.text, include_comments=False) for p in pages],
            args.repeat,
        )
        clean_s, (articles, quarantined) = _timed(lambda: clean_all(pages, profile), args.repeat)
        with worker_pool(os.cpu_count()) as pool:  # one process per CPU, as the flow does
            pool_s = None
            if pool is not None:
                pool.clean(pages[: pool.workers * 4], profile)  # workers warm
                pool_s, _ = _timed(lambda: clean_all(pages, profile), args.repeat)
            workers = pool.workers if pool else 1
        print(f"{n} pages ({len(articles)} articles, {len(quarantined)} without an article)")
        print(f"  plain trafilatura  {n / plain_s:8.1f} pages/s")
        print(f"  clean              {n / clean_s:8.1f} pages/s (one process)")
        if pool_s:
            print(f"  clean, {workers} workers   {n / pool_s:8.1f} pages/s")

        extract_s, rows = _timed(lambda: extract_all(articles), args.repeat)
        rows_by_url: dict[str, list] = {a.url: [] for a in articles}
        for r in rows:
            rows_by_url[r.article_url].append(r)
        print(
            f"  extract            {len(articles) / extract_s:8.1f} articles/s ({len(rows)} rows)"
        )

        t0 = time.perf_counter()
        warm_up(str(expectations_dir()))
        warm_s = time.perf_counter() - t0
        docs = Path(tmp) / "docs"

        def validate_all() -> None:
            for part in chunks(articles, batch_size):
                validate_batch(
                    part, [r for a in part for r in rows_by_url[a.url]], data_docs_dir=str(docs)
                )

        validate_s, _ = _timed(validate_all, args.repeat)
        print(
            f"  validate           {len(rows) / validate_s:8.1f} rows/s "
            f"(batches of {batch_size} articles; one-off warm-up {warm_s:.1f} s)"
        )

        def load_into(make_url) -> float:
            return statistics.median(
                bench_load(make_url(i), pages, articles, rows_by_url, batch_size, quarantined)
                for i in range(args.repeat)
            )

        sqlite_s = load_into(lambda i: f"sqlite:///{Path(tmp) / f'load{i}.db'}")
        print(f"  load SQLite        {len(rows) / sqlite_s:8.1f} rows/s")
        pg_s = None
        if args.pg and args.pg != "none":
            schemas: list[str] = []

            def pg_url(_i: int) -> str:
                found = pg_schema_url(args.pg)
                if found is None:
                    raise ConnectionError
                schemas.append(found[1])
                return found[0]

            try:
                pg_s = load_into(pg_url)
                print(f"  load PostgreSQL    {len(rows) / pg_s:8.1f} rows/s")
            except ConnectionError:
                pg_s = None
            finally:
                for schema in schemas:
                    drop_schema(args.pg, schema)

    out.update(
        {
            "articles": len(articles),
            "rows": len(rows),
            "plain_trafilatura_pages_per_s": round(n / plain_s, 1),
            "clean_pages_per_s": round(n / clean_s, 1),
            "clean_pool_pages_per_s": round(n / pool_s, 1) if pool_s else None,
            "workers": workers,
            "extract_articles_per_s": round(len(articles) / extract_s, 1),
            "validate_rows_per_s": round(len(rows) / validate_s, 1),
            "validate_warm_up_s": round(warm_s, 2),
            "load_sqlite_rows_per_s": round(len(rows) / sqlite_s, 1),
            "load_postgresql_rows_per_s": round(len(rows) / pg_s, 1) if pg_s else None,
        }
    )
    if args.flow:
        from bench.e2e import measure

        e2e_args = argparse.Namespace(batch_size=0, profile=None, py_spy=None, timeline=False)
        e2e = measure(args.pages, 1, e2e_args)
        out["overhead_ms_per_page"] = e2e["overhead_ms_per_page"]
        out["flow_stage_ms_per_page"] = e2e["stage_ms_per_page"]
        out["pipeline_pages_per_s"] = e2e["pipeline_pages_per_s"]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
