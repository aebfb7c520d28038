"""Extraction speed: clean text in, metric rows out, articles per second on one core.

Articles are the seeds' gold clean texts (``../shared/seeds-gold/*.clean.txt``), the size of
real articles; without them, generated paragraphs of the same shape. The catalog is compiled
once before timing, as in the pipeline. Ends with one JSON line.

    uv run python bench/extract.py [--seconds 3] [--shared PATH]
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

from union_news.catalog import default_catalog  # noqa: E402
from union_news.extraction import EXTRACTOR_VERSION, extract_metrics  # noqa: E402
from union_news.models import CleanArticle  # noqa: E402

TARGET = 2000.0


def load_articles(shared: Path) -> list[CleanArticle]:
    paths = sorted((shared / "seeds-gold").glob("*.clean.txt"))
    out = []
    for p in paths:
        title, _, body = p.read_text(encoding="utf-8").partition("\n")
        out.append(CleanArticle(url=p.name, title=title, text=body))
    if out:
        return out
    para = ("Năm 2023, LĐLĐ quận Hoàng Mai đã kết nạp 1.020/900 đoàn viên, đạt 113% kế hoạch; "
            "thành lập mới 14 CĐCS; tổ chức 6 lớp tập huấn cho 540 lượt cán bộ. ") * 4
    return [CleanArticle(url=f"gen{i}", title="LĐLĐ quận Hoàng Mai", text="\n".join([para] * 8))
            for i in range(5)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args(argv)
    articles = load_articles(args.shared)
    default_catalog()
    for a in articles:  # warm-up
        extract_metrics(a)
    done = rows = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - wall0 < args.seconds:
        for a in articles:
            rows += len(extract_metrics(a))
        done += len(articles)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    chars = sum(len(a.clean_text) for a in articles) / len(articles)
    rate = done / cpu if cpu else 0.0
    print(f"{done} articles ({chars:.0f} chars on average) in {cpu:.2f} s CPU ({wall:.2f} s wall): "
          f"{rate:.0f} articles/s on one core, {rows / done:.1f} rows per article "
          f"(target {TARGET:.0f}/s)")
    print(json.dumps({"bench": "extract", "extractor_version": EXTRACTOR_VERSION, "articles": done,
                      "avg_chars": round(chars), "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
                      "articles_per_s": round(rate, 1), "ms_per_article": round(1000 / rate, 3) if rate else None,
                      "target_per_s": TARGET, "ok": rate >= TARGET}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
