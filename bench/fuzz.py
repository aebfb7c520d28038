"""A longer fuzz run of the clean and extract stages than CI's (tests/test_fuzz.py).

Seeded random pages of four kinds (random HTML, random text, mutated sample-site pages, sample
pages with hostile figures spliced in) plus the named giant pages (about a megabyte each) go
through ``clean_document`` and ``extract_metrics``; every article and row produced then goes
through the quality suite (``validate_batch``) in batches. Prints counts and timings; ends with
one JSON line:

    {"cases": ..., "crashes": ..., "max_cpu_seconds_per_page": ..., "rows_produced": ...,
     "rows_failing_quality": ..., "rows_quarantined_with_reason": ...,
     "pages_logged_with_reason": ..., ...}

``rows_failing_quality`` counts rows that vanished or were held back without a reason (must be
0); rows quarantined with a reason are the designed outcome for a bad page.

    uv run python bench/fuzz.py [--cases 5000] [--seed 1] [--limit 5.0]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import fuzzpages as fp  # noqa: E402

KINDS = ("random_html", "random_text", "mutated_page", "hostile_figures")


def _case(kind: str, rnd: random.Random, pages: list[tuple[str, str]], n: int):
    """(content, url, content_type, use_profile) of one seeded case."""
    url = f"{fp.BASE_URL}/fuzz-{n}.html"
    if kind == "random_html":
        return fp.random_html(rnd, rnd.randint(1, 400)), url, None, False
    if kind == "random_text":
        ctype = rnd.choice([None, "text/plain"])
        return fp.random_text(rnd, rnd.randint(1, 800)), url, ctype, False
    base_url, html = rnd.choice(pages)
    url = base_url.replace(".html", f"-{n}.html")
    if kind == "mutated_page":
        return fp.mutate(html, rnd, rnd.randint(1, 12)), url, None, rnd.random() < 0.5
    at = [i for i in range(len(html)) if html.startswith("</p>", i)]
    for pos in sorted(rnd.sample(at, min(len(at), 4)), reverse=True):
        html = (
            f"{html[:pos]} {rnd.choice(fp.WORDS)} {fp.number_spellings(rnd)} đoàn viên{html[pos:]}"
        )
    return html, url, None, True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=5000, help="random cases (giant pages added)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--limit", type=float, default=fp.PAGE_CPU_SECONDS, help="CPU seconds allowed per page"
    )
    ap.add_argument("--batch", type=int, default=500, help="articles per validate_batch call")
    args = ap.parse_args(argv)

    pages = fp.sample_pages()
    profile = fp.sample_profile()
    rnd = random.Random(args.seed)
    outcomes: list[fp.PageOutcome] = []
    crashes: list[dict] = []
    slow: list[dict] = []
    per_kind: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    started = time.perf_counter()

    cases = [(k, None) for k in (rnd.choice(KINDS) for _ in range(args.cases))]
    cases += [("giant", name) for name in fp.giant_pages()]
    giants = fp.giant_pages()
    for n, (kind, name) in enumerate(cases):
        case_seed = rnd.getrandbits(32)
        if kind == "giant":
            content, ctype = giants[name]
            url, use_profile = f"{fp.BASE_URL}/giant-{n}.html", False
        else:
            content, url, ctype, use_profile = _case(kind, random.Random(case_seed), pages, n)
        per_kind[kind] += 1
        try:
            out = fp.check_page(
                content, url, content_type=ctype, profile=profile if use_profile else None
            )
        except Exception as exc:  # noqa: BLE001 - a crash is what this script counts
            crashes.append(
                {
                    "kind": kind,
                    "name": name,
                    "seed": case_seed,
                    "error": f"{type(exc).__name__}: {exc}"[:300],
                    "where": traceback.format_exc().splitlines()[-3:],
                }
            )
            continue
        problems = fp.page_problems(out, args.limit)
        if problems:
            slow.append({"kind": kind, "name": name, "seed": case_seed, "problems": problems[:3]})
        if out.reason:
            reasons[out.reason.split(":")[0].split("(")[0].strip()] += 1
        outcomes.append(out)
        if (n + 1) % 1000 == 0:
            print(
                f"  {n + 1:,} cases, {len(crashes)} crashes, {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    fuzz_seconds = time.perf_counter() - started

    quality_problems: list[str] = []
    totals: Counter[str] = Counter()
    with_article = list({o.url: o for o in outcomes if o.article is not None}.values())
    q_started = time.perf_counter()
    for i in range(0, len(with_article), args.batch):
        problems, counts = fp.quality_problems(with_article[i : i + args.batch])
        quality_problems += problems
        totals.update(counts)
    quality_seconds = time.perf_counter() - q_started

    cpu = [o.cpu_seconds for o in outcomes]
    wall = [o.wall_seconds for o in outcomes]
    rows_missing = totals["rows"] - totals["rows_ok"] - totals["rows_quarantined"]
    summary = {
        "cases": len(cases),
        "cases_by_kind": dict(per_kind),
        "seed": args.seed,
        "crashes": len(crashes),
        "pages_over_cpu_limit": len(slow),
        "cpu_limit_seconds": args.limit,
        "max_cpu_seconds_per_page": round(max(cpu, default=0.0), 3),
        "max_wall_seconds_per_page": round(max(wall, default=0.0), 3),
        "mean_cpu_ms_per_page": round(1000 * sum(cpu) / max(1, len(cpu)), 1),
        "articles": totals["articles"],
        "articles_quarantined_with_reason": totals["articles_quarantined"],
        "rows_produced": totals["rows"],
        "rows_ok": totals["rows_ok"],
        "rows_quarantined_with_reason": totals["rows_quarantined"],
        "rows_failing_quality": rows_missing
        + sum("without a reason" in p for p in quality_problems),
        "quality_errors": len(quality_problems),
        "pages_logged_with_reason": sum(reasons.values()),
        "reasons": dict(reasons.most_common(8)),
        "fuzz_seconds": round(fuzz_seconds, 1),
        "quality_seconds": round(quality_seconds, 1),
    }
    for c in crashes[:10]:
        print(
            f"CRASH {c['kind']} {c['name'] or ''} seed={c['seed']}: {c['error']}", file=sys.stderr
        )
    for s in slow[:10]:
        print(
            f"OVER LIMIT {s['kind']} {s['name'] or ''} seed={s['seed']}: {s['problems']}",
            file=sys.stderr,
        )
    for p in quality_problems[:10]:
        print(f"QUALITY {p}", file=sys.stderr)
    print(
        f"{summary['cases']:,} cases ({', '.join(f'{k} {v}' for k, v in per_kind.items())}) "
        f"in {fuzz_seconds:.0f} s: {summary['crashes']} crashes, {len(slow)} over "
        f"{args.limit} s CPU (max {summary['max_cpu_seconds_per_page']} s); "
        f"{summary['pages_logged_with_reason']:,} pages refused with a reason; "
        f"{summary['rows_produced']:,} rows: {summary['rows_ok']:,} ok, "
        f"{summary['rows_quarantined_with_reason']:,} quarantined with a reason, "
        f"{summary['rows_failing_quality']} lost or unexplained"
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 1 if crashes or slow or quality_problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
