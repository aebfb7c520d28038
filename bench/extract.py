"""Extraction speed: clean text in, metric rows out, articles per second on one core.

Two article sets: the seeds' gold clean texts (``../shared/seeds-gold/*.clean.txt``, the size of
real articles; without them, generated paragraphs of the same shape) and the sample site's
articles (rendered and cleaned before timing). The catalog is compiled once before timing, as in
the pipeline. CPU time of this process is measured in ``--rounds`` rounds of about
``--seconds / rounds`` each; the median and the best round are reported.

The machine may be shared: each round also times a fixed baseline over the same texts (one
lowercase and one word-regex pass per article), and ``x_baseline`` is extraction time over
baseline time in the same round (median): it moves only when extraction itself gets faster or
slower. Ends with one JSON line.

The extraction modules are compiled with mypyc at install (``hatch_build.py``); the output says
whether this run used them. ``--compare`` also times the same sets on the pure-Python sources
(a child process with ``UNION_NEWS_PURE_PYTHON=1``, right after) and prints the speed-up.

    uv run python bench/extract.py [--seconds 6] [--rounds 15] [--shared PATH] [--no-sample]
                                   [--compare]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from union_news import _native  # noqa: E402
from union_news.catalog import default_catalog  # noqa: E402
from union_news.extraction import EXTRACTOR_VERSION, extract_metrics  # noqa: E402
from union_news.models import CleanArticle  # noqa: E402

TARGET = 2000.0
_BASELINE = re.compile(r"\w+")


def load_seeds(shared: Path) -> list[CleanArticle]:
    paths = sorted((shared / "seeds-gold").glob("*.clean.txt"))
    out = []
    for p in paths:
        title, _, body = p.read_text(encoding="utf-8").partition("\n")
        out.append(CleanArticle(url=p.name, title=title, text=body))
    if out:
        return out
    para = (
        "Năm 2023, LĐLĐ quận Hoàng Mai đã kết nạp 1.020/900 đoàn viên, đạt 113% kế hoạch; "
        "thành lập mới 14 CĐCS; tổ chức 6 lớp tập huấn cho 540 lượt cán bộ. "
    ) * 4
    return [
        CleanArticle(url=f"gen{i}", title="LĐLĐ quận Hoàng Mai", text="\n".join([para] * 8))
        for i in range(5)
    ]


def load_sample() -> list[CleanArticle]:
    try:
        from union_news.cleaning import clean_document
        from union_news.sample_site import load_sample_articles, render_article_html
    except ImportError:
        return []
    return [
        clean_document(
            render_article_html(a), url=f"http://sample.test{a.path}", content_type="text/html"
        )
        for a in load_sample_articles()
        if getattr(a, "kind", "article") == "article"
    ]


def _extract_all(texts: list[CleanArticle]) -> int:
    return sum(len(extract_metrics(a)) for a in texts)


def _baseline_all(texts: list[str]) -> int:
    return sum(len(_BASELINE.findall(t.lower())) for t in texts)


def _cpu(fn: Callable[[], Any], repeat: int) -> float:
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return time.process_time() - t0


def measure(articles: list[CleanArticle], seconds: float, rounds: int) -> dict[str, Any]:
    """Articles per second (median and best round) and the same-round ratio to the baseline."""
    texts = [a.clean_text for a in articles]
    rows = _extract_all(articles)  # warm-up, and the row count
    once = max(_cpu(lambda: _extract_all(articles), 1), 1e-4)
    repeat = max(1, round(seconds / rounds / once))
    base_repeat = repeat * 20  # the baseline is ~50x faster: time it over a comparable span
    rates, ratios = [], []
    for _ in range(rounds):
        t_ext = _cpu(lambda: _extract_all(articles), repeat) / (repeat * len(articles))
        t_base = _cpu(lambda: _baseline_all(texts), base_repeat) / (base_repeat * len(articles))
        rates.append(1 / t_ext if t_ext else float("inf"))
        ratios.append(t_ext / t_base if t_base else float("nan"))
    chars = sum(len(t) for t in texts) / len(texts)
    return {
        "articles": len(articles),
        "avg_chars": round(chars),
        "rows_per_article": round(rows / len(articles), 2),
        "rounds": rounds,
        "repeat": repeat,
        "median_per_s": round(statistics.median(rates), 1),
        "best_per_s": round(max(rates), 1),
        "median_ms": round(1000 / statistics.median(rates), 3),
        "x_baseline": round(statistics.median(ratios), 2),
        "x_baseline_best": round(min(ratios), 2),
    }


def python_reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop (best of 5): how fast this machine runs
    Python right now; extraction scales with it when comparing runs across machines."""
    return min(_cpu(lambda: sum(range(1_000_000)), 1) for _ in range(5)) * 1000


def _pure_python(args: argparse.Namespace) -> dict[str, Any]:
    """The same measurement in a child process that imports the sources, not the build."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--shared", str(args.shared),
           "--seconds", str(args.seconds), "--rounds", str(args.rounds)]
    if args.no_sample:
        cmd.append("--no-sample")
    env = {**os.environ, "UNION_NEWS_PURE_PYTHON": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--seconds", type=float, default=6.0, help="CPU seconds per article set")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--no-sample", action="store_true", help="seeds only")
    ap.add_argument(
        "--compare", action="store_true", help="also time the pure-Python sources, right after"
    )
    args = ap.parse_args(argv)
    native = _native.describe()
    print(f"extraction modules: {native}")
    default_catalog()
    sets = {"seeds": load_seeds(args.shared)}
    if not args.no_sample:
        sample = load_sample()
        if sample:
            sets["sample"] = sample
    out: dict[str, Any] = {
        "bench": "extract",
        "extractor_version": EXTRACTOR_VERSION,
        "target_per_s": TARGET,
        "compiled": _native.status().state == "active",
    }
    for name, articles in sets.items():
        r = measure(articles, args.seconds, args.rounds)
        out[name] = r
        print(
            f"{name}: {r['articles']} articles, {r['avg_chars']} chars, "
            f"{r['rows_per_article']} rows each: median {r['median_per_s']:.0f} articles/s "
            f"({r['median_ms']:.3f} ms), best {r['best_per_s']:.0f}/s on one core; "
            f"{r['x_baseline']:.1f}x the baseline pass (best {r['x_baseline_best']:.1f}x)"
        )
    out["python_ref_ms"] = round(python_reference_ms(), 2)
    print(f"python reference loop: {out['python_ref_ms']:.1f} ms CPU (machine speed now)")
    seeds = out["seeds"]
    out["ok"] = seeds["median_per_s"] >= TARGET
    print(f"target {TARGET:.0f} articles/s on the seeds: {'met' if out['ok'] else 'NOT met'}")
    if args.compare:
        out["pure_python"] = _pure_python(args)
        for name in sets:
            pure = out["pure_python"][name]
            out[name]["x_pure_python"] = round(out[name]["median_per_s"] / pure["median_per_s"], 2)
            print(
                f"{name}, pure-Python sources: median {pure['median_per_s']:.0f} articles/s; "
                f"this run {out[name]['x_pure_python']:.2f}x that"
            )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
