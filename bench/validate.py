"""Time that data-quality validation adds to a run.

Cleans and extracts the seeds (``../shared/seeds/*.txt``), copies the articles under distinct URLs
until the batch holds the wanted number of metric rows, then times ``validate_batch``:
the one-off cost (importing Great Expectations, building the context and suites: wall and CPU
seconds), a warm batch of 1,000 rows, the pipeline's own batch size (``[pipeline] batch_size``
articles), and building Data Docs. The import is done as the validator process does it
(``runner.defer_unused_imports``: unused modules deferred, SQLAlchemy hidden, the Spark, SQL and
file-reading data sources and the expectation classes no suite uses as stand-ins) unless
``--plain-import``. Also counts the expectations that found unexpected values in the pipeline
batch (those run a second, COMPLETE pass). Prints the figures; ends with one JSON line.

    uv run python bench/validate.py [--rows 1000] [--rounds 5] [--docs-batches 20] [--shared PATH]
                                    [--plain-import]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from union_news.cleaning import clean_document  # noqa: E402
from union_news.extraction import extract_metrics  # noqa: E402
from union_news.models import CleanArticle, MetricRow  # noqa: E402
from union_news.quality import expectations_dir, validate_batch  # noqa: E402
from union_news.settings import load_settings  # noqa: E402


def seed_batch(shared: Path) -> list[tuple[CleanArticle, list[MetricRow]]]:
    out = []
    for path in sorted((shared / "seeds").glob("*.txt")):
        article = clean_document(path.read_text(encoding="utf-8"), url=f"http://bench.test/{path.stem}")
        out.append((article, extract_metrics(article)))
    if not out:
        sys.exit(f"no seeds under {shared / 'seeds'}")
    return out


def grow(seeds: list[tuple[CleanArticle, list[MetricRow]]], rows_wanted: int = 0,
         articles_wanted: int = 0) -> tuple[list[CleanArticle], list[MetricRow]]:
    """Copies of the seed articles under new URLs until enough rows (or articles) are in."""
    articles: list[CleanArticle] = []
    rows: list[MetricRow] = []
    i = 0
    while (rows_wanted and len(rows) < rows_wanted) or (articles_wanted and len(articles) < articles_wanted):
        article, article_rows = seeds[i % len(seeds)]
        url = f"{article.url}-{i}"
        articles.append(replace(article, url=url))
        rows += [replace(r, article_url=url) for r in article_rows]
        i += 1
    if rows_wanted:
        rows = rows[:rows_wanted]
    return articles, rows


def timed(articles: list[CleanArticle], rows: list[MetricRow], rounds: int, docs: str) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        validate_batch(articles, rows, data_docs_dir=docs)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--docs-batches", type=int, default=20,
                        help="batches written into one Data Docs site (does the cost grow?)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--plain-import", action="store_true",
                        help="import Great Expectations in full (as before the validator process "
                             "deferred unused modules)")
    args = parser.parse_args()

    seeds = seed_batch(args.shared)
    articles, rows = grow(seeds, rows_wanted=args.rows)

    from union_news.quality import runner

    if not args.plain_import:
        runner.defer_unused_imports()
    start, cpu = time.perf_counter(), time.process_time()
    runner.warm_up(str(expectations_dir()))
    cold, cold_cpu = time.perf_counter() - start, time.process_time() - cpu
    validate_batch(articles[:2], rows[:5], data_docs_dir="")  # first-call caches (catalog, regexes)

    warm = timed(articles, rows, args.rounds, "")
    per_1000 = statistics.median(warm) * 1000 / len(rows) * 1000

    batch_size = int(load_settings()["pipeline"]["batch_size"])
    b_articles, b_rows = grow(seeds, articles_wanted=batch_size)
    batch = timed(b_articles, b_rows, args.rounds, "")
    failing = sum(1 for o in validate_batch(b_articles, b_rows, data_docs_dir="").outcomes if o.failed)
    batch_per_1000 = statistics.median(batch) * 1000 / max(1, len(b_rows)) * 1000

    with tempfile.TemporaryDirectory() as docs:
        with_docs = timed(b_articles, b_rows, args.docs_batches, docs)
    docs_cost = statistics.median(with_docs) - statistics.median(batch)
    docs_last = with_docs[-1] - statistics.median(batch)

    print(f"one-off: import Great Expectations + context + suites  {cold:6.2f} s "
          f"({cold_cpu:.2f} s CPU; {'plain import' if args.plain_import else 'as the validator process'})")
    print(f"{len(rows)} rows / {len(articles)} articles in one batch:  median {statistics.median(warm) * 1000:7.1f} ms"
          f"  -> {per_1000:6.1f} ms per 1,000 rows")
    print(f"pipeline batch ({len(b_articles)} articles, {len(b_rows)} rows): median "
          f"{statistics.median(batch) * 1000:7.1f} ms  -> {batch_per_1000:6.1f} ms per 1,000 rows; "
          f"{failing} expectations found unexpected values (second, COMPLETE pass)")
    print(f"Data Docs for that batch: +{docs_cost * 1000:6.1f} ms per batch (median of "
          f"{args.docs_batches} batches into one site; the last one +{docs_last * 1000:.1f} ms)")
    print(json.dumps({
        "bench": "validate", "rows": len(rows), "articles": len(articles), "rounds": args.rounds,
        "cold_start_s": round(cold, 3), "cold_start_cpu_s": round(cold_cpu, 3),
        "plain_import": args.plain_import, "batch_failing_expectations": failing,
        "ms_per_1000_rows": round(per_1000, 1),
        "batch_articles": len(b_articles), "batch_rows": len(b_rows),
        "batch_ms": round(statistics.median(batch) * 1000, 1),
        "batch_ms_per_1000_rows": round(batch_per_1000, 1),
        "data_docs_ms_per_batch": round(docs_cost * 1000, 1),
        "data_docs_ms_last_batch": round(docs_last * 1000, 1), "docs_batches": args.docs_batches,
    }))


if __name__ == "__main__":
    main()
