"""Scaling: the end-to-end benchmark (``bench/e2e.py``) at two sizes, to show that time grows
linearly with the number of pages and memory stays flat.

Runs ``bench/e2e.py``'s measurement at ``--small`` and ``--large`` pages (200 and 2,000 by
default; each with its own generated site and Prefect server, ``--repeat`` runs each, medians)
and reports, besides each size's figures:

- ``marginal_ms_per_page``: (wall(large) - wall(small)) / (large - small), the cost of one more
  page once the run's fixed costs (flow run, imports, Great Expectations start-up) are paid, and
  ``marginal_pages_per_s`` against plain trafilatura's pages/s in the large run;
- ``time_ratio``: wall(large) / wall(small) (linear with no fixed cost would be large/small);
- ``rss_ratio``: peak RSS of the flow process at large / at small (flat: within 1.2), and the
  same for the process tree's summed RSS and PSS (``tree_rss_ratio``, ``tree_pss_ratio``).

    uv run python bench/scaling.py [--small 200] [--large 2000] [--repeat 1] [--batch-size N]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.e2e import measure  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--large", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=0)
    args = ap.parse_args(argv)
    e2e_args = argparse.Namespace(
        batch_size=args.batch_size, profile=None, py_spy=None, timeline=False
    )
    results = {}
    for n in (args.small, args.large):
        print(f"--- {n} pages")
        results[n] = measure(n, args.repeat, e2e_args)
    small, large = results[args.small], results[args.large]
    marginal = (large["wall_s"] - small["wall_s"]) / (args.large - args.small)
    out = {
        "bench": "scaling",
        "small": {k: v for k, v in small.items() if k != "runs"},
        "large": {k: v for k, v in large.items() if k != "runs"},
        "time_ratio": round(large["wall_s"] / small["wall_s"], 3),
        "pages_ratio": args.large / args.small,
        "marginal_ms_per_page": round(marginal * 1000, 2),
        "marginal_pages_per_s": round(1 / marginal, 1) if marginal > 0 else None,
        "marginal_ratio": round((1 / marginal) / large["trafilatura_pages_per_s"], 3)
        if marginal > 0
        else None,
        "rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
        "tree_rss_ratio": round(large["tree_rss_mb"] / small["tree_rss_mb"], 3),
        "tree_pss_ratio": round(large["tree_pss_mb"] / small["tree_pss_mb"], 3),
    }
    print(
        f"time x{out['time_ratio']} for x{out['pages_ratio']:.0f} pages; one more page costs "
        f"{out['marginal_ms_per_page']} ms ({out['marginal_pages_per_s']} pages/s, "
        f"{out['marginal_ratio']}x plain trafilatura); peak RSS of the flow process "
        f"x{out['rss_ratio']} (process tree: RSS x{out['tree_rss_ratio']}, "
        f"PSS x{out['tree_pss_ratio']})"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
