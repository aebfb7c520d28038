"""The batch as pandas DataFrames, with the derived columns the suites check.

Derived columns turn checks that need Python (figure spellings, catalog units, related headlines)
into plain columns a stock Great Expectations expectation can test; each suite file's ``meta``
documents them. Imported lazily by ``union_news.quality`` (pandas is not free to import).
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pandas as pd

from union_news.catalog import default_catalog, lower_text, normalize
from union_news.models import CleanArticle, MetricRow
from union_news.quality.figures import figure_in_text

_VI_LOWER = set("àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ")
_VI_LETTERS = frozenset(_VI_LOWER | {c.upper() for c in _VI_LOWER})
_VI_CLASS = "".join(sorted(_VI_LETTERS))
_VI_LETTER = re.compile(f"[{_VI_CLASS}]")
_OTHER_NON_ASCII = re.compile(f"[^\\x00-\\x7f{_VI_CLASS}]")
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MIN_RELATED_TITLE = 30  # shorter headlines may legitimately recur in a body


def _blank_to_none(value: str | None) -> str | None:
    return value if value and value.strip() else None


def vietnamese_share(text: str | None, sample: int = 4000) -> float | None:
    """Share of letters that carry a Vietnamese diacritic or are đ (prose: about 0.3).

    The first ``sample`` characters decide: a language check needs no more. Counted in C rather
    than character by character: ASCII letters from the ASCII bytes, Vietnamese letters by one
    regex pass, and only the other non-ASCII characters (dashes, quotes, other scripts) are
    tested with ``str.isalpha`` (the letters ``str.isalpha`` counts, as before).
    """
    if not text:
        return None
    norm = unicodedata.normalize("NFC", text[:sample])
    ascii_part = norm.encode("ascii", "ignore")
    letters = len(ascii_part) - len(ascii_part.translate(None, _ASCII_LETTERS))
    vietnamese = 0
    if len(ascii_part) != len(norm):
        vietnamese = _VI_LETTER.subn("", norm)[1]
        letters += vietnamese + sum(c.isalpha() for c in _OTHER_NON_ASCII.findall(norm))
    if not letters:
        return 0.0
    return round(vietnamese / letters, 3)


def _published_date(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def _leaked_related_title(article: CleanArticle) -> str | None:
    body = None  # normalised only when a headline is long enough to be looked for
    for title in article.related_titles:
        norm = " ".join(title.split())
        if len(norm) >= MIN_RELATED_TITLE:
            if body is None:
                body = " ".join(article.text.split()).lower()
            if norm.lower() in body:
                return norm
    return None


def _duplicates(keys: list[Any]) -> list[int | None]:
    """For each key, the position of its first occurrence when it is a repeat, else None."""
    first: dict[Any, int] = {}
    out: list[int | None] = []
    for i, key in enumerate(keys):
        if key in first:
            out.append(first[key])
        else:
            first[key] = i
            out.append(None)
    return out


def articles_frame(articles: list[CleanArticle]) -> pd.DataFrame:
    urls = [_blank_to_none(a.url) for a in articles]
    frame = pd.DataFrame(
        {
            "url": urls,
            "title": [_blank_to_none(a.title) for a in articles],
            "text": [a.text or "" for a in articles],
            "text_length": [len(a.text or "") for a in articles],
            "published": pd.Series([_published_date(a.published) for a in articles], dtype=object),
            "duplicate_of": pd.Series(_duplicates([u if u else object() for u in urls]),
                                      dtype=object),
            "leaked_related_title": [_leaked_related_title(a) for a in articles],
            "vi_share": [vietnamese_share(f"{a.title}\n{a.text}") for a in articles],
        }
    )
    return frame


@lru_cache(maxsize=1)
def _units_by_metric() -> dict[str, tuple[list[Any], frozenset[str]]]:
    """Per metric: its rules' compiled unit patterns and the figure kinds its rules allow."""
    out: dict[str, tuple[list[Any], set[str]]] = {}
    for rule in default_catalog().rules:
        units, kinds = out.setdefault(rule.metric, ([], set()))
        if rule.unit is not None and rule.unit not in units:
            units.append(rule.unit)
        kinds.update(rule.kinds)
    return {m: (u, frozenset(k)) for m, (u, k) in out.items()}


def unit_known(metric: str, unit: str | None) -> bool | None:
    """Whether ``unit`` is one of the catalog's units for ``metric`` (None: no unit to check)."""
    if unit is None or not unit.strip():
        return None
    entry = _units_by_metric().get(metric)
    if entry is None:
        return None  # not a catalog metric: metric_in_catalog quarantines the row
    patterns, kinds = entry
    if unit == "VND":
        return "vnd" in kinds
    if unit.strip() == "%":
        return "percent" in kinds
    norm = normalize(lower_text(unit.strip()))
    return any(p.fullmatch(norm) for p in patterns)


def _pct_gap(row: MetricRow) -> float | None:
    value, target, pct = _number(row.value), _number(row.target), _number(row.achievement_pct)
    if value is None or target is None or pct is None or not target:
        return None
    gap = abs(value / target * 100 - pct)
    return round(gap, 3) if math.isfinite(gap) else None


def _offsets_ok(row: MetricRow, texts: dict[str, str]) -> bool | None:
    text = texts.get(row.article_url or "")
    if text is None or not row.evidence:
        return None
    return text[row.evidence_start : row.evidence_end] == row.evidence


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan  # inf is no figure: value_present


def rows_frame(rows: list[MetricRow], articles: list[CleanArticle]) -> pd.DataFrame:
    texts = {a.url: a.clean_text for a in articles}
    columns = list(MetricRow.__slots__)
    records = [{c: getattr(r, c) for c in columns} for r in rows]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("value", "target", "achievement_pct"):
        frame[column] = pd.to_numeric(pd.Series([_number(r[column]) for r in records], dtype=object),
                                      errors="coerce").astype("float64")
    frame["organization"] = [_blank_to_none(r.organization) for r in rows]
    frame["qualifier"] = [r.qualifier or "" for r in rows]
    frame["period"] = [_blank_to_none(r.period) for r in rows]
    frame["detail"] = [_blank_to_none(r.detail) for r in rows]
    frame["pct_gap"] = pd.Series([_pct_gap(r) for r in rows], dtype="float64")
    frame["figure_in_evidence"] = pd.Series(
        [None if _number(r.value) is None or math.isnan(_number(r.value)) else
         figure_in_text(r.value, r.evidence) for r in rows], dtype=object)
    frame["unit_known"] = pd.Series([unit_known(r.metric, r.unit) for r in rows], dtype=object)
    frame["duplicate_of"] = pd.Series(_duplicates([_key(r) for r in rows]), dtype=object)
    frame["evidence_offsets_ok"] = pd.Series([_offsets_ok(r, texts) for r in rows], dtype=object)
    return frame


def _key(row: MetricRow) -> tuple[Any, ...]:
    try:
        return row.natural_key()
    except (TypeError, ValueError):
        return (id(row),)
