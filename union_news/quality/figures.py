"""Is a figure written in a sentence? Candidate Vietnamese spellings of a number.

Independent of the extractor's parser on purpose: it renders a value the ways a Vietnamese
newspaper writes it (``13.855``, ``13855``, ``01``, ``91,66``, ``82,5 triệu``, ``1,8 tỷ``,
``1 tỷ 200 triệu``) and looks for any of them, so a misread figure cannot vouch for itself.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_WORDS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("tỷ", "tỉ"), 10**9),
    (("triệu",), 10**6),
    (("nghìn", "ngàn"), 10**3),
)


_LARGEST = Decimal(10**15)  # a million tỷ: beyond any figure the news reports


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value))).normalize()


def _plain(d: Decimal) -> list[str]:
    """``13855`` -> 13.855, 13855, 13 855; ``91.66`` -> 91,66, 91.66."""
    sign = "-" if d < 0 else ""
    d = abs(d)
    whole = int(d)
    frac = format(d - whole, "f").split(".")[1].rstrip("0") if d != whole else ""
    grouped = f"{whole:,}".replace(",", ".")
    out = [grouped, str(whole), f"{whole:,}".replace(",", " ")]
    if frac:
        out = [f"{w},{frac}" for w in out] + [f"{whole}.{frac}"]
    return [sign + s for s in dict.fromkeys(out)]


def _three_decimals(d: Decimal) -> bool:
    try:
        return d == d.quantize(Decimal("0.001"))
    except InvalidOperation:  # beyond the context's precision: no such figure in a newspaper
        return False


def figure_spellings(value: float) -> list[str]:
    """Ways ``value`` may be written (sign dropped: ``giảm 1.446`` carries -1446 as a word)."""
    d = abs(_decimal(value))
    out = _plain(d)
    if d >= _LARGEST:
        return out
    for words, factor in _WORDS:
        if d < factor:
            continue
        scaled = d / factor
        if _three_decimals(scaled):  # 82,5 triệu, 1,25 tỷ
            out += [f"{s} {w}" for s in _plain(scaled.normalize()) for w in words]
        whole, rest = divmod(d, factor)
        if rest and factor > 1000 and rest % (factor // 1000) == 0:  # 1 tỷ 200 triệu
            lower_words = next(ws for ws, f in _WORDS if f == factor // 1000)
            out += [f"{int(whole)} {w} {int(rest / (factor // 1000))} {lw}"
                    for w in words for lw in lower_words]
    return list(dict.fromkeys(out))


@lru_cache(maxsize=4096)
def _figure_pattern(value: float) -> re.Pattern[str]:
    alternatives = sorted(figure_spellings(value), key=len, reverse=True)
    body = "|".join(re.escape(s).replace(r"\ ", r"\s+") for s in alternatives)
    # Leading zeros are common (01 tập thể); the figure must not be part of a longer number.
    return re.compile(rf"(?<![\d.,])0*(?:{body})(?!\d|[.,]\d)")


def figure_in_text(value: float | None, text: str | None) -> bool:
    """True when ``text`` writes ``value`` in one of its Vietnamese spellings."""
    if value is None or not text or value != value:  # NaN
        return False
    return _figure_pattern(float(value)).search(text.lower()) is not None
