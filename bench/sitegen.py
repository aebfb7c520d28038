"""Generated sample sites for the benchmarks: N article files derived from the bundled ones.

Copy ``k`` of the bundled set (``k = i // len(bundled)``) gets new ids (1001..1000+N, related
links remapped to the same copy, so they stay live), and every year in the file (published date,
related time stamps, text, titles, expected periods) moved ``k % 20`` years back: a copy tells the
same story about other years, so its facts are new facts rather than repeats of the bundled ones,
and the flow has the same work per page as on the bundled site. Special pages (``no_article``)
are copied too, in their proportion.

    from bench.sitegen import generate_articles
    generate_articles(2000, tmp_dir)          # -> list of written paths
    with SampleSite(articles_dir=tmp_dir) as site: ...
"""

from __future__ import annotations

import re
from pathlib import Path

from union_news.sample_site.model import ARTICLES_DIR

_TOP_ID = re.compile(r"^id: *(\d+) *$", re.M)
_REL_ID = re.compile(r"(?<![\w])id: *(\d{4})\b")
_YEAR = re.compile(r"(?<![\d.,])(20[0-3]\d)(?![\d.,]\d)")
_SLUG = re.compile(r"^slug: *(\S+) *$", re.M)
YEAR_CYCLE = 20
MAX_PAGES = 8999  # ids are four digits


def bundled_files() -> list[Path]:
    return sorted(ARTICLES_DIR.glob("*.yaml"))


def generate_articles(n: int, dest: Path, source: Path | None = None) -> list[Path]:
    """Write ``n`` article files into ``dest`` (created); returns their paths in id order."""
    if not 1 <= n <= MAX_PAGES:
        raise ValueError(f"pages must be 1..{MAX_PAGES}")
    files = sorted(source.glob("*.yaml")) if source else bundled_files()
    texts = [f.read_text(encoding="utf-8") for f in files]
    ids = [int(_TOP_ID.search(t).group(1)) for t in texts]
    index = {aid: i for i, aid in enumerate(ids)}
    dest.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    per = len(texts)
    for i in range(n):
        copy, j = divmod(i, per)
        new_id = 1001 + i
        shift = copy % YEAR_CYCLE
        text = texts[j]
        body_start = _TOP_ID.search(text).end()
        head, rest = text[:body_start], text[body_start:]

        def remap(m: re.Match[str], copy: int = copy) -> str:
            old = int(m.group(1))
            if old not in index:
                return m.group(0)  # already a dead link
            return f"id: {1001 + copy * per + index[old]}"

        rest = _REL_ID.sub(remap, rest)
        if shift:
            rest = _YEAR.sub(lambda m, s=shift: str(int(m.group(1)) - s), rest)
        head = _TOP_ID.sub(f"id: {new_id}", head)
        text = head + rest
        slug = _SLUG.search(text).group(1)
        path = dest / f"{new_id:04d}-{slug}.yaml"
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out
