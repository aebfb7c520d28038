"""Warehouse load throughput: metric rows per second into SQLite and PostgreSQL.

Generated batches of the flow's shape (``--batch`` articles per transaction, each with its raw
page, ``--rows`` metric rows and a quarantined row) are loaded three times into a fresh
warehouse: a first load (everything inserted), a rerun (everything unchanged, nothing written)
and a reload under a new extractor version (every article's rows replaced). Rows per second
count the metric rows of each pass over its wall time, batch transactions included.

SQLite goes to a temporary file (WAL); PostgreSQL to a schema of its own in the database named
by ``--pg`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), dropped afterwards,
and is reported as ``null`` when no server answers. Ends with one JSON line.

    uv run python bench/load.py [--articles 1000] [--rows 10] [--batch 50] [--pg URL|none]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from union_news.models import (  # noqa: E402
    CleanArticle,
    FetchedPage,
    MetricRow,
    QuarantinedRow,
)
from union_news.secrets import mask_url  # noqa: E402
from union_news.warehouse import LoadBatch, Warehouse  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
METRICS = [
    "members_total",
    "members_admitted",
    "unions_founded",
    "gifts",
    "money_vnd",
    "trainings",
    "awards",
    "agreements",
]


def make_batches(articles: int, rows: int, batch: int) -> list[LoadBatch]:
    body = (
        "Năm 2023, Liên đoàn Lao động quận đã kết nạp đoàn viên mới và thành lập công đoàn "
        "cơ sở tại các doanh nghiệp ngoài nhà nước; trao quà cho đoàn viên khó khăn. "
    ) * 12
    out = []
    start = datetime(2024, 1, 1, 8, 0)
    for first in range(0, articles, batch):
        b = LoadBatch(run_id="bench", source="bench")
        for i in range(first, min(first + batch, articles)):
            url = f"https://example.invalid/tin-{i}.html"
            b.pages.append(
                FetchedPage(
                    url=url,
                    final_url=url,
                    status=200,
                    text=f"<html><body><p>{body}</p></body></html>",
                    etag=f'"{i}"',
                    source="bench",
                    fetched_at=datetime(2024, 6, 1, tzinfo=UTC),
                )
            )
            b.articles.append(
                CleanArticle(
                    url=url,
                    title=f"Tin số {i}",
                    text=body,
                    published=start + timedelta(hours=i),
                    source="bench",
                )
            )
            for j in range(rows):
                metric = METRICS[j % len(METRICS)]
                b.rows.append(
                    MetricRow(
                        metric=metric,
                        value=float(100 + j),
                        article_url=url,
                        organization=f"LĐLĐ quận {i % 400}",
                        period=str(2014 + (i // 400) % 10),
                        unit="đoàn viên",
                        detail=f"mục {j}" if metric in {"gifts", "awards"} else None,
                        evidence=body[:120],
                        evidence_start=0,
                        evidence_end=120,
                    )
                )
            b.quarantined.append(
                QuarantinedRow(
                    kind="metric",
                    suite="metric_rows",
                    expectation="value_in_range",
                    reason="bench",
                    row={"i": i},
                    article_url=url,
                )
            )
        out.append(b)
    return out


class CoreWarehouse(Warehouse):
    """The load without the derived tables kept by ``_after_rows`` (facts)."""

    def _after_rows(self, conn, affected_keys) -> None:
        return None


def run(url: str, batches: list[LoadBatch], label: str, core: bool = False) -> dict:
    warehouse = (CoreWarehouse if core else Warehouse)(url)
    warehouse.upgrade()
    total = sum(len(b.rows) for b in batches)
    result: dict = {"rows": total, "batches": len(batches)}
    try:
        for name, version in (("insert", None), ("unchanged", None), ("replace", "bench-2")):
            t0 = time.perf_counter()
            for b in batches:
                b.extractor_version = version
                warehouse.load_batch(b)
            wall = time.perf_counter() - t0
            result[f"{name}_s"] = round(wall, 3)
            result[f"{name}_rows_per_s"] = round(total / wall, 1)
            print(
                f"{label:22s} {name:9s} {total} rows in {wall:6.2f} s: {total / wall:9.0f} rows/s"
            )
    finally:
        warehouse.dispose()
    return result


def both(url_for, batches: list[LoadBatch], label: str) -> dict:
    """The load as the flow runs it (facts kept current) and the core load alone."""
    out = {"with_facts": run(url_for("full"), batches, f"{label}")}
    out["core"] = run(url_for("core"), batches, f"{label} (no facts)", core=True)
    return out


def pg_schema_url(base: str) -> tuple[str, str] | None:
    try:
        import psycopg

        with psycopg.connect(
            base.replace("+psycopg", ""), autocommit=True, connect_timeout=3
        ) as conn:
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # noqa: BLE001 - no server: report null
        print(f"PostgreSQL at {mask_url(base)} not reachable: {type(exc).__name__}")
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}', safe='')}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=10, help="metric rows per article")
    ap.add_argument("--batch", type=int, default=50, help="articles per transaction")
    ap.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL, or 'none'")
    args = ap.parse_args(argv)
    batches = make_batches(args.articles, args.rows, args.batch)
    out: dict = {
        "bench": "load",
        "articles": args.articles,
        "rows_per_article": args.rows,
        "batch_articles": args.batch,
    }
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = both(
            lambda name: f"sqlite:///{Path(tmp) / (name + '.db')}", batches, "sqlite"
        )
    out["postgresql"] = None
    if args.pg and args.pg != "none":
        schemas: list[str] = []

        def pg_url(_name: str) -> str:
            found = pg_schema_url(args.pg)
            if found is None:
                raise ConnectionError("PostgreSQL not reachable")
            schemas.append(found[1])
            return found[0]

        try:
            out["postgresql"] = both(pg_url, batches, "postgresql")
        except ConnectionError:
            out["postgresql"] = None
        finally:
            for schema in schemas:
                drop_schema(args.pg, schema)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
