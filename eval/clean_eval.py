"""Score the clean stage.

Seeds: ``clean_document`` on ``../shared/seeds/*.txt`` against ``seeds-gold/*.clean.txt`` (line
precision / recall / F1 over the title line and body paragraphs) and the leaks that matter:
related headlines, captions and image-title lines of ``seeds-gold/meta.json`` left in the body.

Sample site (when ``union_news.sample_site`` is present): every rendered page cleaned, leaks of
its related headlines / captions counted, body paragraphs kept.

Benchmark: ``../shared/benchmarks/article-extraction-benchmark`` scored with its own metric
(4-word shingles of ``\\w+`` tokens, precision and recall averaged over pages, F1 of the
averages), for ``clean_document`` and for plain ``trafilatura.extract(html,
include_comments=False)`` in the same run, with the throughput of both (timed page by page,
interleaved, so machine load hits both alike).

Ends with one JSON line of figures. ``--gate`` exits non-zero on any seed or sample leak, seed
line F1 below 0.99, benchmark F1 below plain trafilatura's, or throughput below 0.9x.

    uv run python eval/clean_eval.py [--seeds] [--sample] [--benchmark] [--gate] [--shared PATH]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from union_news.cleaning import CleaningError, clean_document  # noqa: E402
from union_news.cleaning.rules import collapse, norm, similar  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
BENCH = "benchmarks/article-extraction-benchmark"
_WORD = re.compile(r"\w+")


# --- seeds ----------------------------------------------------------------------------------


def line_scores(pred: list[str], gold: list[str]) -> tuple[int, int, int]:
    """(matched, predicted, gold) line counts, lines compared after whitespace collapsing."""
    p = Counter(collapse(x) for x in pred if x.strip())
    g = Counter(collapse(x) for x in gold if x.strip())
    return sum((p & g).values()), sum(p.values()), sum(g.values())


def body_leaks(body: str, meta: dict[str, Any]) -> dict[str, list[str]]:
    """Related titles, captions and image-title lines of ``meta`` found in the body."""
    nbody = norm(body)
    lines = [x for x in body.split("\n") if x.strip()]
    related = set(meta.get("related_titles", [])) | set(meta.get("inline_related_titles", []))
    return {
        "related": sorted(t for t in related if norm(t) and norm(t) in nbody),
        "captions": sorted(c for c in meta.get("captions", []) if norm(c) and norm(c) in nbody),
        "image_titles": sorted(
            {t for t in meta.get("image_title_lines", []) if any(similar(t, x, 0.9) for x in lines)}
        ),
    }


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def eval_seeds(shared: Path, verbose: bool) -> dict[str, Any]:
    seeds = sorted((shared / "seeds").glob("*.txt"))
    meta = json.loads((shared / "seeds-gold" / "meta.json").read_text(encoding="utf-8"))
    matched = predicted = gold_n = 0
    leaks: dict[str, int] = {"related": 0, "captions": 0, "image_titles": 0}
    titles_ok = authors_ok = 0
    for path in seeds:
        sid = path.stem
        gold = (shared / "seeds-gold" / f"{sid}.clean.txt").read_text(encoding="utf-8").splitlines()
        art = clean_document(path.read_text(encoding="utf-8"), url=path.as_uri())
        m, p, g = line_scores(art.clean_text.split("\n"), gold)
        matched, predicted, gold_n = matched + m, predicted + p, gold_n + g
        found = body_leaks(art.text, meta.get(sid, {}))
        for k, v in found.items():
            leaks[k] += len(v)
        titles_ok += collapse(art.title) == collapse(meta.get(sid, {}).get("title") or "")
        authors_ok += (art.author or None) == meta.get(sid, {}).get("author")
        print(
            f"  {sid}: lines P={m / p if p else 0:.3f} R={m / g if g else 0:.3f} "
            f"leaks={sum(len(v) for v in found.values())} author={art.author!r}"
        )
        if verbose:
            for k, v in found.items():
                for item in v:
                    print(f"    leak {k}: {item[:90]}")
            gold_set = {collapse(x) for x in gold}
            pred_set = {collapse(x) for x in art.clean_text.split("\n")}
            for x in sorted(pred_set - gold_set):
                print(f"    extra: {x[:100]}")
            for x in sorted(gold_set - pred_set):
                print(f"    missing: {x[:100]}")
    p = matched / predicted if predicted else 0.0
    r = matched / gold_n if gold_n else 0.0
    res = {
        "seeds": len(seeds),
        "seed_line_precision": round(p, 4),
        "seed_line_recall": round(r, 4),
        "seed_line_f1": round(f1(p, r), 4),
        "seed_related_leaks": leaks["related"],
        "seed_caption_leaks": leaks["captions"],
        "seed_image_title_leaks": leaks["image_titles"],
        "seed_titles_ok": titles_ok,
        "seed_authors_ok": authors_ok,
    }
    print(
        f"seeds: {len(seeds)} pages, line P={p:.4f} R={r:.4f} F1={f1(p, r):.4f}; leaks: "
        f"related={leaks['related']} captions={leaks['captions']} image titles="
        f"{leaks['image_titles']}; titles {titles_ok}/{len(seeds)}, authors {authors_ok}/{len(seeds)}"
    )
    return res


# --- sample site ----------------------------------------------------------------------------


def page_boilerplate(html: str, own_title: str) -> dict[str, list[str]]:
    """Headlines of other articles and image captions printed on a page, read from its HTML.

    Independent of the cleaner: every link text of four words or more (other than the page's
    own title) is a headline that must not reach the body; so is every caption cell.
    """
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(html)
    own = norm(own_title)
    headlines = {
        collapse(a.text_content())
        for a in tree.iter("a")
        if len(collapse(a.text_content()).split()) >= 4 and norm(a.text_content()) != own
    }
    captions = {collapse(c.text_content()) for c in tree.iter("figcaption")}
    for table in tree.xpath("//table[.//img]"):
        for cell in table.xpath(".//td[not(.//img)]"):
            text = collapse(cell.text_content())
            if text:
                captions.add(text)
    return {"related_titles": sorted(h for h in headlines if h), "captions": sorted(captions)}


def _sample_paragraphs(sa: Any) -> list[str]:
    """The body paragraphs a sample article declares, whatever the attribute is called."""
    for name in ("paragraphs", "body_paragraphs", "body"):
        value = getattr(sa, name, None)
        if isinstance(value, str):
            return [x for x in value.split("\n") if x.strip()]
        if value:
            return [x for x in value if isinstance(x, str) and x.strip()]
    return []


def eval_sample(verbose: bool) -> dict[str, Any] | None:
    try:
        from union_news.sample_site import load_sample_articles, render_article_html
    except ImportError:
        print("sample site: union_news.sample_site not available, skipped")
        return None
    from union_news.profiles import load_profile

    base = "http://127.0.0.1:8000"
    profile = load_profile("sample", base_url=base)
    leaks = lost = pages = 0
    for sa in load_sample_articles():
        if getattr(sa, "kind", "article") != "article":
            continue  # special pages (no_article) are refused by clean, not scored
        html = render_article_html(sa)
        url = f"{base}/{str(sa.path).lstrip('/')}"
        art = clean_document(html, url=url, profile=profile, content_type="text/html")
        pages += 1
        found = body_leaks(art.text, page_boilerplate(html, art.title))
        body = {collapse(x) for x in art.paragraphs}
        missing = [x for x in _sample_paragraphs(sa) if collapse(x) not in body]
        n = sum(len(v) for v in found.values())
        leaks, lost = leaks + n, lost + len(missing)
        if verbose and (n or missing):
            print(f"  {sa.path}: leaks={found} lost={[x[:60] for x in missing]}")
    print(f"sample site: {pages} pages, leaks={leaks}, body paragraphs lost={lost}")
    return {"sample_pages": pages, "sample_leaks": leaks, "sample_paragraphs_lost": lost}


# --- benchmark ------------------------------------------------------------------------------


def shingles(text: str | None) -> Counter:
    tokens = _WORD.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < 4:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def bench_scores(preds: dict[str, str], truth: dict[str, str]) -> tuple[float, float, float]:
    precisions, recalls = [], []
    for pid, true_text in truth.items():
        t, p = shingles(true_text), shingles(preds.get(pid))
        overlap = sum((t & p).values())
        if p:
            precisions.append(overlap / sum(p.values()))
        recalls.append(overlap / sum(t.values()) if t else 0.0)
    prec = sum(precisions) / len(precisions) if precisions else 0.0
    rec = sum(recalls) / len(recalls) if recalls else 0.0
    return prec, rec, f1(prec, rec)


def _clean_text(html: str, url: str | None) -> str:
    try:
        return clean_document(html, url=url, content_type="text/html").text
    except CleaningError:
        return ""


def eval_benchmark(shared: Path, limit: int | None, verbose: bool) -> dict[str, Any]:
    import trafilatura

    root = shared / BENCH
    truth_doc = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth_doc)[:limit] if limit else sorted(truth_doc)
    pages = {
        i: gzip.decompress((root / "html" / f"{i}.html.gz").read_bytes()).decode("utf-8")
        for i in ids
    }
    truth = {i: truth_doc[i]["articleBody"] for i in ids}
    plain: dict[str, str] = {}
    ours: dict[str, str] = {}
    t_plain = t_ours = 0.0
    for i in ids:
        t0 = time.perf_counter()
        plain[i] = trafilatura.extract(pages[i], include_comments=False) or ""
        t1 = time.perf_counter()
        ours[i] = _clean_text(pages[i], truth_doc[i].get("url"))
        t2 = time.perf_counter()
        t_plain += t1 - t0
        t_ours += t2 - t1
    pp, pr, pf = bench_scores(plain, truth)
    cp, cr, cf = bench_scores(ours, truth)
    if verbose:
        for i in ids:
            a = bench_scores({i: plain[i]}, {i: truth[i]})[2]
            b = bench_scores({i: ours[i]}, {i: truth[i]})[2]
            if abs(a - b) > 0.02:
                print(f"  {i[:12]}: plain F1={a:.3f} clean F1={b:.3f}")
    n = len(ids)
    print(f"benchmark: {n} pages")
    print(f"  plain trafilatura: P={pp:.4f} R={pr:.4f} F1={pf:.4f}  {n / t_plain:.1f} pages/s")
    print(f"  clean_document:    P={cp:.4f} R={cr:.4f} F1={cf:.4f}  {n / t_ours:.1f} pages/s")
    return {
        "bench_pages": n,
        "bench_clean_precision": round(cp, 4),
        "bench_clean_recall": round(cr, 4),
        "bench_clean_f1": round(cf, 4),
        "bench_plain_precision": round(pp, 4),
        "bench_plain_recall": round(pr, 4),
        "bench_plain_f1": round(pf, 4),
        "bench_clean_pages_per_s": round(n / t_ours, 1),
        "bench_plain_pages_per_s": round(n / t_plain, 1),
        "bench_throughput_ratio": round(t_plain / t_ours, 3),
    }


# --- main -----------------------------------------------------------------------------------


def gate_failures(res: dict[str, Any]) -> list[str]:
    fails = []
    if "seed_line_f1" in res:
        leaks = (
            res["seed_related_leaks"] + res["seed_caption_leaks"] + res["seed_image_title_leaks"]
        )
        if leaks:
            fails.append(f"{leaks} seed leaks")
        if res["seed_line_f1"] < 0.99:
            fails.append(f"seed line F1 {res['seed_line_f1']} < 0.99")
    if res.get("sample_leaks"):
        fails.append(f"{res['sample_leaks']} sample-site leaks")
    if res.get("sample_paragraphs_lost"):
        fails.append(f"{res['sample_paragraphs_lost']} sample-site body paragraphs lost")
    if "bench_clean_f1" in res:
        if res["bench_clean_f1"] < res["bench_plain_f1"]:
            fails.append("benchmark F1 below plain trafilatura's")
        if res["bench_throughput_ratio"] < 0.9:
            fails.append(f"throughput ratio {res['bench_throughput_ratio']} < 0.9")
    return fails


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", action="store_true", help="score the seeds")
    ap.add_argument("--sample", action="store_true", help="score the bundled sample site")
    ap.add_argument("--benchmark", action="store_true", help="score the extraction benchmark")
    ap.add_argument("--limit", type=int, default=None, help="benchmark: first N pages only")
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="path of ../shared")
    ap.add_argument("--gate", action="store_true", help="exit 1 when a bar is missed")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    run_all = not (args.seeds or args.sample or args.benchmark)
    res: dict[str, Any] = {}
    if args.seeds or run_all:
        res.update(eval_seeds(args.shared, args.verbose))
    if args.sample or run_all:
        res.update(eval_sample(args.verbose) or {})
    if args.benchmark or run_all:
        res.update(eval_benchmark(args.shared, args.limit, args.verbose))
    fails = gate_failures(res)
    res["gate_failures"] = fails
    for f in fails:
        print(f"BAR MISSED: {f}")
    print(json.dumps(res, ensure_ascii=False))
    return 1 if args.gate and fails else 0


if __name__ == "__main__":
    sys.exit(main())
