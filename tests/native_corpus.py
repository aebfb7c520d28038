"""Everything the compiled extraction modules compute, over a seeded corpus, as one JSON document.

``tests/test_native.py`` runs this module twice, once on the compiled modules and once with
``UNION_NEWS_PURE_PYTHON=1`` (the sources), and requires identical output: mypyc must change
speed only. Values are written with ``repr`` so that ``5`` and ``5.0`` differ.

    uv run python -m tests.native_corpus [--texts 600] [--seed 7] > out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from pathlib import Path
from typing import Any

from tests import fuzzpages as fp

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _texts(count: int, seed: int) -> list[tuple[str, str]]:
    """(title, body) pairs: the sample site's and the seeds' clean articles, random token soup
    and those articles with figures of every spelling spliced into their sentences."""
    from union_news.cleaning import CleaningError, clean_document

    rnd = random.Random(seed)
    articles: list[tuple[str, str]] = []
    for url, html in fp.sample_pages():
        try:
            clean = clean_document(html, url=url, content_type="text/html")
        except CleaningError:  # a page of the sample site with no article (a listing)
            continue
        articles.append((clean.title or "", clean.text))
    for path in sorted((SHARED / "seeds-gold").glob("*.clean.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        articles.append((title, body))
    out = list(articles)
    for _ in range(count // 2):
        out.append((" ".join(rnd.choices(fp.WORDS, k=8)), fp.random_text(rnd, rnd.randint(5, 600))))
    for _ in range(count - count // 2):
        title, body = rnd.choice(articles)
        cuts = [i for i, ch in enumerate(body) if ch in ".;,"]
        for pos in sorted(rnd.sample(cuts, min(len(cuts), 5)), reverse=True):
            figure = f" {rnd.choice(fp.WORDS)} {fp.number_spellings(rnd)} {rnd.choice(fp.WORDS)}"
            body = body[:pos] + figure + body[pos:]
        out.append((title, body))
    return out


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: repr(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return repr(obj)


def corpus_output(count: int, seed: int) -> dict[str, Any]:
    from union_news.catalog import default_catalog
    from union_news.extraction import extract_metrics
    from union_news.models import CleanArticle
    from union_news.numbers import format_amount, format_number, parse_amount, parse_number, scan
    from union_news.organizations import find_organizations

    cat = default_catalog()
    rnd = random.Random(seed + 1)
    spellings = [fp.number_spellings(rnd) for _ in range(count * 3)]
    numbers = []
    for s in spellings:
        numbers.append([_plain(q) for q in scan(s)])
        numbers.append([repr(parse_number(s)), repr(parse_amount(s))])
    for value in [0, 1, 7, 13855, 82_500_000, 1_800_000_000, 91.66, 0.5, 110, 10**12]:
        numbers.append([format_number(value), format_number(value, 1)])
        if isinstance(value, int):
            numbers.append([format_amount(value)])
    rows, orgs = [], []
    for n, (title, body) in enumerate(_texts(count, seed)):
        article = CleanArticle(url=f"http://corpus.test/{n}.html", title=title, text=body)
        rows.append([_plain(r) for r in extract_metrics(article)])
        orgs.append([_plain(m) for m in find_organizations(body[:3000], cat.orgs)])
    return {"numbers": numbers, "rows": rows, "organizations": orgs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--texts", type=int, default=600)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    from union_news import _native

    json.dump(
        {"native": _native.status().state, **corpus_output(args.texts, args.seed)},
        sys.stdout,
        ensure_ascii=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
