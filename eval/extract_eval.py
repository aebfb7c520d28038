"""Score the extract stage.

Seeds: ``../shared/seeds/*.txt`` through ``clean_document`` then ``extract_metrics``, against
``seeds-gold/metrics.json``: precision / recall / F1 on (metric, value) pairs (multisets per
article), organization and target agreement on the matched pairs, and full-row agreement on
(metric, value, target, achievement_pct, qualifier, organization, period).
``--from-gold`` (or a missing cleaning module) extracts from ``seeds-gold/*.clean.txt`` instead.

Sample site (when ``union_news.sample_site`` is present): each article rendered to HTML, cleaned
and extracted; its rows must be exactly its expected rows on the seven fields above.

Prints per-article misses and extras, then one JSON line of figures. ``--gate`` exits non-zero
below the bars: seeds F1 >= 0.97, precision >= 0.98, organization agreement >= 0.95, every target
right; sample site exact.

    uv run python eval/extract_eval.py [--from-gold] [--gate] [--quiet] [--shared PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from union_news.extraction import EXTRACTOR_VERSION, extract_metrics  # noqa: E402
from union_news.models import CleanArticle, MetricRow  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
FIELDS = ("metric", "value", "target", "achievement_pct", "qualifier", "organization", "period")
BARS = {"f1": 0.97, "precision": 0.98, "org_agreement": 0.95, "target_agreement": 1.0}
DETAIL_METRICS = {"awards", "gifts", "money_vnd"}  # the catalog asks for a detail on these


def _num(v: Any) -> float | None:
    return None if v is None else round(float(v), 4)


def row_key(row: dict[str, Any], fields: tuple[str, ...] = FIELDS) -> tuple[Any, ...]:
    return tuple(_num(row.get(f)) if f in ("value", "target", "achievement_pct") else row.get(f)
                 for f in fields)


def as_dict(row: MetricRow | dict[str, Any]) -> dict[str, Any]:
    if isinstance(row, dict):
        return row
    return {f: getattr(row, f) for f in (*FIELDS, "detail", "evidence")}


def article_from_gold(path: Path, url: str) -> CleanArticle:
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return CleanArticle(url=url, title=title.strip(), text=body.strip())


def seed_article(shared: Path, seed_id: str, from_gold: bool) -> CleanArticle:
    url = f"seed://{seed_id}"
    if not from_gold:
        from union_news.cleaning import clean_document

        raw = (shared / "seeds" / f"{seed_id}.txt").read_text(encoding="utf-8")
        return clean_document(raw, url=url, content_type="text/plain")
    return article_from_gold(shared / "seeds-gold" / f"{seed_id}.clean.txt", url)


class Score:
    """Counts over a corpus: (metric, value) matching, then agreement on the matched pairs."""

    def __init__(self) -> None:
        self.tp = self.pred = self.gold = 0
        self.org_ok = self.target_ok = self.full_ok = self.matched = 0
        self.target_wrong: list[str] = []
        self.detail_missing: list[str] = []

    def add(self, name: str, pred: list[dict[str, Any]], gold: list[dict[str, Any]],
            quiet: bool) -> None:
        self.pred += len(pred)
        self.gold += len(gold)
        left = list(pred)
        misses: list[dict[str, Any]] = []
        for g in gold:
            match = _best_match(g, left)
            if match is None:
                misses.append(g)
                continue
            left.remove(match)
            self.tp += 1
            self._agree(name, g, match, quiet)
        if not quiet and (misses or left):
            print(f"== {name}")
            for g in misses:
                print(f"  MISS  {row_key(g)} {g.get('quote') or ''}")
            for p in left:
                print(f"  EXTRA {row_key(p)} detail={p.get('detail')!r} :: {str(p.get('evidence'))[:140]}")

    def _agree(self, name: str, g: dict[str, Any], p: dict[str, Any], quiet: bool) -> None:
        self.matched += 1
        self.org_ok += g.get("organization") == p.get("organization")
        tgt = (_num(g.get("target")), _num(g.get("achievement_pct")))
        if tgt == (_num(p.get("target")), _num(p.get("achievement_pct"))):
            self.target_ok += 1
        else:
            self.target_wrong.append(f"{name} {g['metric']} {g['value']}")
        if g["metric"] in DETAIL_METRICS and not p.get("detail"):
            self.detail_missing.append(f"{name} {g['metric']} {g['value']}")
        full = row_key(g) == row_key(p)
        self.full_ok += full
        if not full and not quiet:
            diff = {f: (g.get(f), p.get(f)) for f in FIELDS if row_key(g, (f,)) != row_key(p, (f,))}
            print(f"  DIFF  {name} {g['metric']} {g['value']}: {diff}")

    def figures(self) -> dict[str, Any]:
        precision = self.tp / self.pred if self.pred else 1.0
        recall = self.tp / self.gold if self.gold else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        m = self.matched or 1
        return {
            "predicted": self.pred, "gold": self.gold, "matched": self.tp,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "org_agreement": round(self.org_ok / m, 4),
            "target_agreement": round(self.target_ok / m, 4),
            "row_agreement": round(self.full_ok / m, 4),
            "detail_missing": len(self.detail_missing),
        }


def _best_match(g: dict[str, Any], pred: list[dict[str, Any]]) -> dict[str, Any] | None:
    same = [p for p in pred if p["metric"] == g["metric"] and _num(p["value"]) == _num(g["value"])]
    if not same:
        return None
    return max(same, key=lambda p: sum(row_key(g, (f,)) == row_key(p, (f,)) for f in FIELDS))


def run_seeds(shared: Path, from_gold: bool, quiet: bool) -> dict[str, Any]:
    gold = json.loads((shared / "seeds-gold" / "metrics.json").read_text(encoding="utf-8"))
    if not from_gold:
        try:
            import union_news.cleaning  # noqa: F401
        except ImportError:
            print("WARNING: union_news.cleaning missing: extracting from the gold clean text")
            from_gold = True
    score = Score()
    for art in gold["articles"]:
        article = seed_article(shared, art["id"], from_gold)
        pred = [as_dict(r) for r in extract_metrics(article)]
        score.add(art["id"], pred, art["metrics"], quiet)
    out = score.figures()
    out["source"] = "gold clean text" if from_gold else "raw text through clean_document"
    out["target_wrong"] = score.target_wrong
    return out


def run_sample(quiet: bool) -> dict[str, Any] | None:
    try:
        from union_news.sample_site import load_sample_articles, render_article_html
    except ImportError:
        print("WARNING: union_news.sample_site missing: sample site not scored")
        return None
    from union_news.cleaning import clean_document

    score = Score()
    exact = total = 0
    for art in load_sample_articles():
        if getattr(art, "kind", "article") != "article":
            continue  # special pages (no_article) never reach extraction
        html = render_article_html(art)
        url = f"http://sample.test{getattr(art, 'path', '/')}"
        article = clean_document(html, url=url, content_type="text/html")
        pred = [as_dict(r) for r in extract_metrics(article)]
        gold = [as_dict(r) for r in art.expected]
        name = str(getattr(art, "path", getattr(art, "id", "?")))
        score.add(name, pred, gold, quiet)
        total += 1
        ok = Counter(row_key(p) for p in pred) == Counter(row_key(g) for g in gold)
        exact += ok
        if not ok and not quiet:
            print(f"  NOT EXACT {name}")
    out = score.figures()
    out.update({"articles": total, "articles_exact": exact})
    return out


def gate(seeds: dict[str, Any], sample: dict[str, Any] | None) -> list[str]:
    failures = [f"seeds {k} {seeds[k]} < {bar}" for k, bar in BARS.items() if seeds[k] < bar]
    failures += [f"seeds: {n} award/gift/money rows without detail" for n in [seeds["detail_missing"]] if n]
    if sample is not None and sample["articles_exact"] != sample["articles"]:
        failures.append(f"sample site: {sample['articles'] - sample['articles_exact']} articles not exact")
    if sample is not None and sample["detail_missing"]:
        failures.append(f"sample site: {sample['detail_missing']} award/gift/money rows without detail")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--from-gold", action="store_true", help="extract from seeds-gold clean text")
    ap.add_argument("--no-sample", action="store_true", help="skip the sample site")
    ap.add_argument("--gate", action="store_true", help="exit 1 below the bars")
    ap.add_argument("--quiet", action="store_true", help="no per-article misses and extras")
    args = ap.parse_args(argv)
    seeds = run_seeds(args.shared, args.from_gold, args.quiet)
    print(f"seeds ({seeds['source']}): P={seeds['precision']} R={seeds['recall']} F1={seeds['f1']} "
          f"org={seeds['org_agreement']} target={seeds['target_agreement']} rows={seeds['row_agreement']}")
    sample = None if args.no_sample else run_sample(args.quiet)
    if sample is not None:
        print(f"sample site: P={sample['precision']} R={sample['recall']} F1={sample['f1']} "
              f"exact articles {sample['articles_exact']}/{sample['articles']}")
    failures = gate(seeds, sample)
    for f in failures:
        print(f"GATE: {f}")
    print(json.dumps({"extractor_version": EXTRACTOR_VERSION, "seeds": seeds, "sample_site": sample,
                      "gate_failures": failures}, ensure_ascii=False))
    return 1 if args.gate and failures else 0


if __name__ == "__main__":
    sys.exit(main())
