"""Speed and memory of the clean stage.

Cleans every page of ``../shared/benchmarks/article-extraction-benchmark`` (HTML) and the seeds
(plain text) several times; plain ``trafilatura.extract(html, include_comments=False)`` runs on
the same HTML pages, interleaved page by page, so machine load hits both alike. Prints pages/s,
the per-page latency percentiles and the peak resident memory; ends with one JSON line.

    uv run python bench/clean.py [--rounds N] [--shared PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from union_news.cleaning import CleaningError, clean_document  # noqa: E402

BENCH = "benchmarks/article-extraction-benchmark"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _clean(content: str, content_type: str) -> None:
    with contextlib.suppress(CleaningError):
        clean_document(content, content_type=content_type)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args(argv)
    import trafilatura

    html_dir = args.shared / BENCH / "html"
    pages = [
        gzip.decompress(p.read_bytes()).decode("utf-8") for p in sorted(html_dir.glob("*.html.gz"))
    ]
    seeds = [p.read_text(encoding="utf-8") for p in sorted((args.shared / "seeds").glob("*.txt"))]
    if not pages:
        print(f"no benchmark pages under {html_dir}", file=sys.stderr)
        return 2
    ours: list[float] = []
    plain: list[float] = []
    for _ in range(args.rounds):
        for html in pages:
            t0 = time.perf_counter()
            trafilatura.extract(html, include_comments=False)
            t1 = time.perf_counter()
            _clean(html, "text/html")
            t2 = time.perf_counter()
            plain.append(t1 - t0)
            ours.append(t2 - t1)
    text_times: list[float] = []
    for _ in range(args.rounds * 20):
        for text in seeds:
            t0 = time.perf_counter()
            _clean(text, "text/plain")
            text_times.append(time.perf_counter() - t0)
    html_rate = len(ours) / sum(ours)
    plain_rate = len(plain) / sum(plain)
    text_rate = len(text_times) / sum(text_times) if text_times else 0.0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"HTML pages: {len(pages)} x {args.rounds} rounds")
    print(
        f"  clean_document:    {html_rate:7.1f} pages/s  p50 {statistics.median(ours) * 1000:.1f} ms  "
        f"p95 {_pct(ours, 0.95) * 1000:.1f} ms"
    )
    print(
        f"  plain trafilatura: {plain_rate:7.1f} pages/s  p50 {statistics.median(plain) * 1000:.1f} ms  "
        f"p95 {_pct(plain, 0.95) * 1000:.1f} ms"
    )
    print(f"  ratio clean/plain: {html_rate / plain_rate:.3f}")
    print(f"plain-text pages (seeds): {text_rate:.1f} pages/s")
    print(f"peak RSS: {peak_mb:.0f} MB")
    print(
        json.dumps(
            {
                "html_pages": len(pages),
                "rounds": args.rounds,
                "clean_html_pages_per_s": round(html_rate, 1),
                "plain_trafilatura_pages_per_s": round(plain_rate, 1),
                "throughput_ratio": round(html_rate / plain_rate, 3),
                "clean_p50_ms": round(statistics.median(ours) * 1000, 2),
                "clean_p95_ms": round(_pct(ours, 0.95) * 1000, 2),
                "clean_text_pages_per_s": round(text_rate, 1),
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
