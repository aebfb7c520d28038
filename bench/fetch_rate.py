"""Does the per-host rate limit hold? Request rate against a loopback server, per minimum delay.

Serves pages from the fault-injecting test server (tests/faultsite.py) on 127.0.0.1 and fetches
them through :class:`union_news.fetching.Fetcher` with several per-host minimum delays (0 = no
limit, the sample site's setting; 1.0 s = the default for real sites) and once with a robots.txt
``Crawl-delay``. The rate is measured on the server side from the arrival times of the requests
(robots.txt included). Prints one line per setting and ends with one JSON line.

    uv run python bench/fetch_rate.py [--pages N] [--delays 0,0.2,0.5,1.0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.faultsite import FaultSite  # noqa: E402
from union_news.fetching import Fetcher  # noqa: E402
from union_news.models import FetchedPage  # noqa: E402
from union_news.profiles import SourceProfile  # noqa: E402


def measure(delay: float | None, pages: int, robots: str = "User-agent: *\nAllow: /\n") -> dict:
    profile = SourceProfile(
        name="bench",
        hosts=["127.0.0.1"],
        allow_private_addresses=True,
        fetch={"min_delay_s": delay},
    )
    with FaultSite(robots=robots) as site, Fetcher(profile) as fetcher:
        started = time.perf_counter()
        ok = sum(
            isinstance(fetcher.fetch(site.url(f"/ok/{i}.html")), FetchedPage) for i in range(pages)
        )
        wall = time.perf_counter() - started
        times = [h.at for h in site.hits]
        effective = fetcher.delay_for(site.base_url)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span > 0 else float("inf")
    return {
        "min_delay_s": effective,
        "requests": len(times),
        "pages_ok": ok,
        "wall_s": round(wall, 3),
        "requests_per_s": round(rate, 3),
        "limit_per_s": round(1 / effective, 3) if effective else None,
        "min_gap_s": round(min(gaps), 4) if gaps else None,
        # server-side arrival times jitter by a few ms around the client's spacing
        "held": (not effective) or min(gaps) >= effective - 0.015,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=8, help="pages per limited setting")
    ap.add_argument("--delays", default="0,0.2,0.5,1.0")
    args = ap.parse_args(argv)
    results = []
    for raw in args.delays.split(","):
        delay = float(raw)
        pages = 200 if delay == 0 else args.pages
        results.append(measure(delay, pages))
    crawl = measure(0.0, args.pages, robots="User-agent: *\nCrawl-delay: 0.3\n")
    crawl["crawl_delay"] = True
    results.append(crawl)
    for r in results:
        label = "robots Crawl-delay" if r.get("crawl_delay") else "min_delay_s"
        print(
            f"{label} {r['min_delay_s']:>4}: {r['requests']:>3} requests, "
            f"{r['requests_per_s']:>8} req/s (limit {r['limit_per_s']}), "
            f"min gap {r['min_gap_s']} s, held={r['held']}"
        )
    print(
        json.dumps(
            {"bench": "fetch_rate", "results": results, "all_held": all(r["held"] for r in results)}
        )
    )
    return 0 if all(r["held"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
