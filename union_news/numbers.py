"""Vietnamese number writing: parse ``13.855``, ``82,5 triệu đồng``, ``676/650``, ``110 %`` ...

Conventions (metrics-catalog.md): ``.`` groups thousands, ``,`` is the decimal mark, leading
zeros are common (``01 tập thể``), a space may stand before ``%``, ``triệu``/``tỷ``/``nghìn``
multiply, ``N/M`` after a verb of achievement is achieved/target. Qualifier words before the
number (``trên``, ``hơn``, ``gần``, ``khoảng``, ``xấp xỉ``) or ``trở lên`` after it say how exact
the figure is. No I/O, no third-party imports: the extractor calls ``scan`` on every sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # native 64-bit integers for mypyc; plain ints when run as Python
    from mypy_extensions import i64

MULTIPLIERS: dict[str, int] = {
    "nghìn": 1_000,
    "ngàn": 1_000,
    "triệu": 1_000_000,
    "tỷ": 1_000_000_000,
    "tỉ": 1_000_000_000,
}

# Words written before a figure, longest first so "gần như" wins over "gần".
QUALIFIERS_BEFORE: dict[str, str] = {
    "xấp xỉ": "about",
    "khoảng": "about",
    "chừng": "about",
    "ước tính": "about",
    "gần": "nearly",
    "trên": "over",
    "hơn": "over",
    "ngoài": "over",
}
QUALIFIER_AFTER = {"trở lên": "at_least"}

_NUM: Final = r"[0-9]+(?:[.,][0-9]+)*"  # figures are written with 0-9 (not other scripts' digits)
_MULT: Final = r"(?:nghìn|ngàn|triệu|tỷ|tỉ)"
_QUAL: Final = "|".join(sorted(map(re.escape, QUALIFIERS_BEFORE), key=len, reverse=True))
_VALID: Final = re.compile(r"(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?\Z")

_MAX_NUMBER_CHARS: Final = 40
_GLUE: Final = frozenset("_.,/:-")
_CODE_NEXT: Final = frozenset("/-:")
_QUAL_BEFORE: Final = re.compile(rf"(?<![\w])(?:{_QUAL})\s+\Z")
# Where a figure can start: a digit not inside a digit chain (no quadratic rescans of
# 1.2.3.4...x: the lookbehinds look past the first digit).
_FIGURE_HEAD: Final = r"[0-9](?<![0-9][0-9])(?<![0-9][.,][0-9])"
_FIGURE: Final = rf"(?P<num>{_FIGURE_HEAD}[0-9]*(?:[.,][0-9]+)*)(?![^\WđĐ]|[.,][0-9])"
# What may follow a number: a target, a range, a multiplier, %, a currency, "trở lên".
_FOLLOWERS: Final = rf"""
    (?:\s*/\s*(?P<den>{_NUM})(?![\w/]))?
    (?:\s*(?:-|–|đến)\s*(?P<hi>{_NUM})(?![\w/]))?
    (?P<mult>(?:\s+{_MULT}(?:\s+{_NUM}\s+{_MULT})*(?![\w]))?)
    (?P<pct>\s*%)?
    (?P<cur>\s*(?:đồng(?!\s+(?:chí|bào|đội|nghiệp|hương|hồ|ruộng|lúa|thời|phục|ca|tâm|hành))|vnđ|vnd|đ)(?![\w]))?
    (?P<after>\s+trở\s+lên)?
"""
# A figure: a number, then its followers, tried only when the next word starts as one of them
# can (most figures are bare numbers before a unit noun: one lookahead instead of six groups;
# the tests compare with ``_FIGURE + _FOLLOWERS``, the same without that glance).
_MENTION: Final = re.compile(
    rf"{_FIGURE}(?:(?=\s*(?:[/%\-–]|đến|đồng|đ(?![\w])|{_MULT}|trở|vn)){_FOLLOWERS})?", re.VERBOSE
)
_CHAIN: Final = re.compile(rf"({_NUM})\s+{_MULT}|{_MULT}")


@dataclass(slots=True)
class Quantity:
    """One figure in a text: where it is, what it is worth, how it was written."""

    start: int  # offset of the qualifier or the first digit
    end: int  # offset after the unit (%, đồng) or the last digit
    num_start: int  # offset of the first digit
    num_end: int  # offset after the number proper (digits, fraction, range, multiplier)
    value: int | float  # an int when the figure is whole (mypyc keeps it so: not plain float)
    raw: str
    qualifier: str = "exact"
    target: int | float | None = None  # M of N/M
    high: int | float | None = None  # upper end of a range
    kind: str = "count"  # count, percent, vnd, year, invalid
    multiplier: int = 1


def parse_number(text: str) -> int | float | None:
    """``13.855`` -> 13855, ``91,66`` -> 91.66, ``01`` -> 1; ``4.0`` (not Vietnamese) -> None."""
    text = text.strip()
    if len(text) > _MAX_NUMBER_CHARS:
        return None  # no count or amount is written with this many digits (and int() refuses)
    if text.isascii() and text.isdigit():  # 0-9 only: "²" is a digit that int() refuses
        return int(text)
    if not _VALID.match(text):
        return None
    whole, _, frac = text.partition(",")
    if not frac:
        return int(whole.replace(".", ""))
    value = Decimal(whole.replace(".", "") + ("." + frac if frac else ""))
    return int(value) if value == value.to_integral_value() else float(value)


def parse_amount(text: str) -> int | float | None:
    """``82,5 triệu đồng`` -> 82500000, ``1 tỷ 200 triệu`` -> 1200000000, ``110 %`` -> 110."""
    found = scan(text)
    return found[0].value if len(found) == 1 else None


def _chain_value(num: str, mult: str) -> tuple[int | float | None, int]:
    """Value of ``num`` followed by a multiplier chain such as `` tỷ 200 triệu``."""
    base = parse_number(num)
    if base is None:
        return None, 1
    if not mult.strip():
        return base, 1
    total = Decimal(0)
    pending: Decimal | None = Decimal(str(base))
    first_mult = 1
    for m in _CHAIN.finditer(mult):
        if m.group(1) is not None:
            parsed = parse_number(m.group(1))
            if parsed is None:
                return None, 1
            pending = Decimal(str(parsed))
        word = m.group(0).split()[-1].lower()
        factor = MULTIPLIERS[word]
        first_mult = first_mult if first_mult > 1 else factor
        total += (pending if pending is not None else Decimal(1)) * factor
        pending = None
    return _clean_number(total), first_mult


def _clean_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _is_year(raw: str, value: int | float) -> bool:
    return raw.isdigit() and len(raw) == 4 and 1900 <= value <= 2100


def scan(text: str, start: int = 0, end: int | None = None, *, lowered: bool = False,
         kinds: frozenset[str] | None = None) -> list[Quantity]:
    """Every figure in ``text[start:end]`` with offsets into ``text`` (``lowered``: already lowercase).

    ``kinds``: only the figures of these kinds (the others are not built)."""
    out: list[Quantity] = []
    low = text if lowered else text.lower()
    if len(low) == len(text):  # match lowercased: IGNORECASE is slow on Vietnamese
        text = low
    for at, stop, m in mentions(text, start, len(text) if end is None else end):
        if at > 0:
            before = text[at - 1]
            if before in _GLUE or before.isalnum():
                continue  # part of a word, code or longer number: Covid-19, H5N1, 1.2.3
        if m is None:
            raw = text[at:stop]
        else:
            raw, den, hi, mult, pct, cur, after = m.groups()
            if den or hi or mult or pct or cur or after:
                q = _quantity(m)
                if kinds is None or q.kind in kinds:
                    out.append(q)
                continue
        # the common case, a bare number: as ``_quantity`` builds it, inline
        if raw.isdigit() and len(raw) <= _MAX_NUMBER_CHARS:
            whole = int(raw)
            if len(raw) == 4 and 1900 <= whole <= 2100:
                if kinds is None or "year" in kinds:
                    out.append(Quantity(at, stop, at, stop, whole, raw, "exact", None, None, "year"))
                continue
            value: int | float = whole
        else:
            parsed = parse_number(raw)
            if parsed is None:
                if kinds is None or "invalid" in kinds:
                    out.append(Quantity(at, stop, at, stop, 0, raw, "exact", None, None, "invalid"))
                continue
            value = parsed
        if text[stop : stop + 1] in _CODE_NEXT:
            if kinds is None or "code" in kinds:
                out.append(Quantity(at, stop, at, stop, value, raw, "exact", None, None, "code"))
            continue
        if kinds is not None and "count" not in kinds:
            continue
        qualifier, first = _qualifier_before(text, at)
        out.append(Quantity(first, stop, at, stop, value, text[first:stop] if first != at else raw,
                        qualifier, None, None, "count"))
    return out


# ``scan`` is ``_MENTION.finditer`` tried only where a match can start: at a digit that the
# pattern's lookbehinds admit (no digit, and no digit then ``.``/``,``, just before it). Finding
# those is most of the regex engine's time (a class test at each character of Vietnamese text):
# compiled with mypyc, a loop over the characters is several times faster; as plain Python the
# regex below finds the same offsets.
_COMPILED: Final = not __file__.endswith(".py")
_FIGURE_START: Final = re.compile(_FIGURE_HEAD)


def _figure_starts(text: str, start: int, end: int) -> list[int]:
    """Offsets in ``text[start:end]`` of the digits ``_FIGURE_START`` matches (a character loop)."""
    out: list[int] = []
    prev: i64 = ord(text[start - 1]) if start > 0 else 0
    prev2: i64 = ord(text[start - 2]) if start > 1 else 0
    i: i64 = start
    stop: i64 = end
    while i < stop:
        c: i64 = ord(text[i])
        if 48 <= c <= 57 and not 48 <= prev <= 57 and not (
            (prev == 46 or prev == 44) and 48 <= prev2 <= 57
        ):
            out.append(i)
        prev2 = prev
        prev = c
        i += 1
    return out


def _figure_starts_re(text: str, start: int, end: int) -> list[int]:
    return [m.start() for m in _FIGURE_START.finditer(text, start, end)]


def mentions(text: str, start: int, end: int) -> list[tuple[int, int, re.Match[str] | None]]:
    """The matches of ``_MENTION.finditer(text, start, end)`` as (start, end, match), the
    pattern tried only at figure starts. Compiled, a number that no follower can come after is
    read by ``_bare_number`` instead, and its match is None (its followers are all None)."""
    out: list[tuple[int, int, re.Match[str] | None]] = []
    match = _MENTION.match
    pos = start
    for at in (_figure_starts if _COMPILED else _figure_starts_re)(text, start, end):
        if at < pos:
            continue
        stop = _bare_number(text, at, end) if _COMPILED else _UNSURE
        if stop == _NO_MATCH:
            continue
        if stop >= 0:
            out.append((at, stop, None))
            pos = stop
            continue
        m = match(text, at, end)
        if m is not None:
            out.append((at, m.end(), m))
            pos = m.end()
    return out


_NO_MATCH: Final = -1
_UNSURE: Final = -2


def _bare_number(text: str, at: int, end: int) -> int:
    """Where ``_MENTION``'s match at ``at`` (a figure start) ends if it is a number with no
    follower; ``_NO_MATCH`` if the pattern cannot match there; ``_UNSURE`` if a follower may
    come after it (the pattern then decides: this test may say so more often than needed, never
    less). Character codes only: compiled, this costs a small part of one regex call."""
    i: i64 = at
    stop: i64 = end
    while i < stop and 48 <= ord(text[i]) <= 57:
        i += 1
    while i + 1 < stop and (ord(text[i]) == 46 or ord(text[i]) == 44) and \
            48 <= ord(text[i + 1]) <= 57:  # [.,][0-9]+
        i += 2
        while i < stop and 48 <= ord(text[i]) <= 57:
            i += 1
    # (?![^\WđĐ]|[.,][0-9]) holds at the greedy end or nowhere: a shorter end is followed by a
    # digit, or by a separator and a digit
    if i < stop:
        c: i64 = ord(text[i])
        if c != 0x111 and c != 0x110 and _is_word(c, text, i):
            return _NO_MATCH
    j: i64 = i
    while j < stop and _is_space(ord(text[j]), text, j):
        j += 1
    if j >= stop:
        return i
    c = ord(text[j])
    n1: i64 = ord(text[j + 1]) if j + 1 < stop else -1
    if c == 47 or c == 37 or c == 45 or c == 0x2013:  # / % - –
        return _UNSURE
    if c == 0x111:  # đ: đến, đồng, or a lone đ (not before a word character)
        if n1 < 0 or n1 == 0x1EBF or n1 == 0x1ED3 or not _is_word(n1, text, j + 1):
            return _UNSURE
    elif c == 110:  # n: nghìn, ngàn (not người)
        n2: i64 = ord(text[j + 2]) if j + 2 < stop else -1
        if n1 == 103 and (n2 == 104 or n2 == 0xE0):
            return _UNSURE
    elif c == 116:  # t: triệu, trở, tỷ, tỉ
        if n1 == 114 or n1 == 0x1EF7 or n1 == 0x1EC9:
            return _UNSURE
    elif c == 118 and n1 == 110:  # vn: vnđ, vnd
        return _UNSURE
    return i


def _is_word(c: i64, text: str, at: i64) -> bool:
    """``text[at]`` (code ``c``) is a ``\\w`` character."""
    if c < 128:
        return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c == 95
    return text[at].isalnum()


def _is_space(c: i64, text: str, at: i64) -> bool:
    """``text[at]`` (code ``c``) is a ``\\s`` character."""
    if c < 128:
        return c == 32 or 9 <= c <= 13 or 28 <= c <= 31
    return text[at].isspace()


_QUAL_WORDS: Final = tuple(QUALIFIERS_BEFORE)


def _qualifier_before(text: str, pos: int) -> tuple[str, int]:
    """The qualifier word written just before ``pos`` (``trên``, ``gần`` ...) and where it starts."""
    window = text[max(0, pos - 12) : pos]
    word = window.rstrip()  # cheap test first: spaces, then a qualifier's letters
    if len(word) == len(window) or not word.endswith(_QUAL_WORDS):
        return "exact", pos
    m = _QUAL_BEFORE.search(text, max(0, pos - 12), pos)
    if not m:
        return "exact", pos
    return QUALIFIERS_BEFORE[m.group(0).strip()], m.start()


def _quantity(m: re.Match[str]) -> Quantity:
    raw, den, hi, mult, pct, cur, after = m.groups()  # num den hi mult pct cur after
    text = m.string
    if not (den or hi or mult or pct or cur or after):  # a bare number (``scan`` has it inline)
        at, end = m.span()
        if raw.isdigit() and len(raw) <= _MAX_NUMBER_CHARS:
            whole = int(raw)
            if len(raw) == 4 and 1900 <= whole <= 2100:
                return Quantity(at, end, at, end, whole, raw, "exact", None, None, "year")
            bare: int | float = whole
        else:
            parsed = parse_number(raw)
            if parsed is None:
                return Quantity(at, end, at, end, 0, raw, "exact", None, None, "invalid")
            bare = parsed
        if text[end : end + 1] in _CODE_NEXT:
            return Quantity(at, end, at, end, bare, raw, "exact", None, None, "code")
        qualifier, start = _qualifier_before(text, at)
        return Quantity(start, end, at, end, bare, text[start:end] if start != at else raw,
                        qualifier, None, None, "count")
    # group spans by number (``m.end(name)`` looks each name up): 1 num, 2 den, 3 hi, 4 mult,
    # 5 pct, 6 cur
    regs = m.regs
    value, factor = _chain_value(raw, mult) if mult else (parse_number(raw), 1)
    kind = "count"
    if value is None:
        kind, value = "invalid", 0.0
    elif pct:
        kind = "percent"
    elif cur:
        kind = "vnd"
    elif not mult and not den and _is_year(raw, value):
        kind = "year"
    num_digits_end = regs[1][1]
    if kind == "count" and text[num_digits_end : num_digits_end + 1] in _CODE_NEXT and not (den or hi):
        kind = "code"
    at = regs[0][0]
    qualifier, start = "exact", at
    if kind in ("count", "vnd", "percent"):
        qualifier, start = _qualifier_before(text, at)
    if after:
        qualifier = "at_least"
    target = parse_number(den) if den else None
    high = parse_number(hi) if hi else None
    if high is not None and kind == "count" and _is_year(hi, high):
        kind = "year"
    num_end = regs[4][1] if mult else max(num_digits_end, regs[2][1], regs[3][1])
    end = regs[6][1] if cur else (regs[5][1] if pct else num_end)
    return Quantity(start, end, at, num_end, value, text[start:end], qualifier, target, high,
                    kind, factor)


def format_number(value: int | float | Decimal, decimals: int | None = None) -> str:
    """Write ``value`` the Vietnamese way: 13855 -> ``13.855``, 91.66 -> ``91,66``."""
    d = Decimal(str(value))
    if decimals is not None:
        d = round(d, decimals)
    sign = "-" if d < 0 else ""
    d = abs(d)
    whole = int(d)
    frac = d - whole
    text = f"{whole:,}".replace(",", ".")
    if frac:
        text += "," + format(frac, "f").split(".")[1].rstrip("0")
    return sign + text


def format_amount(value: int) -> str:
    """Write a đồng amount as a newspaper would: 82500000 -> ``82,5 triệu đồng``."""
    for word, factor in (("tỷ", 10**9), ("triệu", 10**6)):
        if value >= factor and (value * 1000) % factor == 0:
            return f"{format_number(Decimal(value) / factor)} {word} đồng"
    return f"{format_number(value)} đồng"
