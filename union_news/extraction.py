"""Metric rows from a clean article: every reported figure, its key, body, period and evidence.

For each sentence of ``CleanArticle.clean_text`` (the title counts as one) every figure found by
``numbers.scan`` is checked against the catalog's not-a-metric rules, then given the key of the
catalog rule whose unit follows it and whose cue stands nearest. The organization is the body
named in the figure's own sentence (awards: not the giver), else the article's subject; the period
is the one written in the figure's clause or sentence, else the article's. Repeats are merged.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Final

from union_news.catalog import (
    Catalog,
    Rule,
    RulePlan,
    VetoPlan,
    default_catalog,
    iter_prefixed,
    lower_pattern,
    lower_text,
    may_hold,
    normalize,
    probe_match,
)
from union_news.models import CleanArticle, MetricRow
from union_news.numbers import Quantity, format_number, scan
from union_news.organizations import (
    OrgMention,
    article_subject,
    find_organizations,
    is_actor,
    is_giver,
)

EXTRACTOR_VERSION = "1.2.0"

_SENTENCE_END: Final = re.compile(r"[.!?…]+[”\"’)]*[ \t]+(?=[\"“(]?[^\W_a-zđàáảãạăâèéẻẽẹêìíỉĩịòóỏõọôơùúủũụưỳýỷỹỵ])")
_CLAUSE_END: Final = re.compile(r"[,;:]|\.\s|\.$|…")
_DOT_END: Final = re.compile(r"\.(?:\s|$)")
_AWARD_NAME: Final = re.compile(
    r"danh hiệu\s*[“\"][^”\"]+[”\"]|[“\"][^”\"]{2,80}[”\"](?:\s+(?:cấp\s+\S+(?:\s+[A-ZĐ]\S*)?|Thủ đô))?"
    r"|Cờ thi đua|Bằng khen|Giấy khen|Huân chương[^,;.]{0,30}?(?=\s+(?:cho|và|,)|[,;.]|$)|Kỷ niệm chương"
    r"|giải\s+(?:Nhất|Nhì|Ba|Khuyến khích|Đặc biệt|A|B|C)(?:\s+[^\s,;.]+){0,6}",
    re.IGNORECASE,
)
# The same on lowercased text (``ctx.norm``), without IGNORECASE, which is slow on Vietnamese.
_AWARD_NAME_LOW: Final = re.compile(lower_pattern(_AWARD_NAME.pattern), _AWARD_NAME.flags & ~re.IGNORECASE)
_LEVEL_SUFFIX: Final = re.compile(
    r"^\s*(?:cấp\s+(?:cơ sở|thành phố|Trung ương|toàn quốc|[^\s,;.]+)|Thủ đô)", re.IGNORECASE
)
_RECIPIENT: Final = re.compile(r"tập thể|cá nhân|các nhân", re.IGNORECASE)
_WORDS: Final = re.compile(r"[^\s,;.()]+")
_OWNER_BEFORE: Final = re.compile(r"(?:của|do|thuộc)\s*$")
_FILLER: Final = frozenset({"là", "với", "số", "tiền", "trị", "giá", "tổng", "khoảng", "gần", "hơn", "trên"})
_AT_LEAST: Final = re.compile(r"\s*trở lên")
_CLAUSE_SPLIT: Final = re.compile(r"[,;:]")
_VALUE_OF: Final = re.compile(r"trị giá\s*$")
_GOOD_END: Final = re.compile(r"giỏi$")
_TITLE_WORD: Final = re.compile(r"^danh hiệu\s*")
_GIVEN_BY: Final = re.compile(r"(?:được|của)\s*$")
_STOP_GIFT: Final = re.compile(r"\s(?:trị giá|cho|với|tới|đến|tại|nhân dịp|và)\b|[,;.(\d]", re.IGNORECASE)


@dataclass(slots=True)
class _Sentence:
    start: int
    end: int
    title: bool = False
    marks: list[int] | None = None  # where a clause may end (see ``_clause_end``), when needed


@dataclass(slots=True)
class _Hit:
    rule: Rule
    unit_end: int
    distance: int
    sign: int = 1


@dataclass(slots=True)
class _Found:
    row: MetricRow
    rule: Rule
    end: int
    in_title: bool


@dataclass(slots=True)
class _Context:
    cat: Catalog
    text: str
    cased: str  # text normalised (tone marks, quoted punctuation), case kept
    norm: str  # cased, lowercased: what the catalog's patterns match
    subject: str | None
    period: str | None
    url: str
    orgs: dict[int, list[OrgMention]] = field(default_factory=dict)
    actor: dict[int, bool] = field(default_factory=dict)  # is_actor per mention start
    periods: dict[tuple[int, int, int], str | None] = field(default_factory=dict)


def extract_metrics(article: CleanArticle, catalog: Catalog | None = None) -> list[MetricRow]:
    """Every reported figure of ``article`` as a metric row (see metrics-catalog.md)."""
    cat = catalog or default_catalog()
    text = article.clean_text
    cased = normalize(text)
    quotes = quoted_spans(cased)
    cased = _mask(cased, quotes)
    norm = lower_text(cased)
    paragraphs = cased.split("\n")
    subject = article_subject(paragraphs[0], paragraphs[1:], cat.orgs)
    ctx = _Context(cat, text, cased, norm, subject, article_period(norm, article, cat), article.url)
    found: list[_Found] = []
    quantities = scan(norm, lowered=True, kinds=_USABLE)
    if not quantities:
        return []
    title_end = cased.find("\n")
    qi = 0
    while qi < len(quantities):  # only paragraphs holding a figure are cut into sentences
        para_start = cased.rfind("\n", 0, quantities[qi].start) + 1
        para_end = cased.find("\n", quantities[qi].start)
        para_end = len(cased) if para_end < 0 else para_end
        for sentence in split_sentences(cased, para_start, para_end):
            sentence.title = para_start == 0 and title_end != 0
            mine: list[Quantity] = []
            while qi < len(quantities) and quantities[qi].start < sentence.end:
                if quantities[qi].start >= sentence.start:
                    mine.append(quantities[qi])
                qi += 1
            if mine:
                found.extend(_sentence_rows(ctx, sentence, mine, quotes))
        while qi < len(quantities) and quantities[qi].start < para_end:
            qi += 1
    return _dedupe(found)


_USABLE: Final = frozenset({"count", "vnd", "percent"})
_QUOTED: Final = re.compile(r"“[^”\n]{1,200}”|\"[^\"\n]{1,200}\"")
_PUNCT: Final = re.compile(r"[,;:.!?…]")


def mask_quoted_punctuation(text: str) -> str:
    """Punctuation inside quotes (titles, programme names) hidden so it cuts no clause."""
    return _mask(text, quoted_spans(text))


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Spans of ``_QUOTED`` in ``text``: the regex is tried only where a quote mark stands."""
    out: list[tuple[int, int]] = []
    if "“" not in text and '"' not in text:
        return out
    match, find = _QUOTED.match, text.find
    pos, n = 0, len(text)
    a = b = -2  # next “ and next " at or after pos (-1: none left; -2: to look up)
    while pos < n:
        if -1 < a < pos or a == -2:
            a = find("“", pos)
        if -1 < b < pos or b == -2:
            b = find('"', pos)
        at = a if b < 0 or 0 <= a < b else b
        if at < 0:
            break
        m = match(text, at)
        if m is None:
            pos = at + 1
        else:
            out.append(m.span())
            pos = m.end()
    return out


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    parts, pos = [], 0
    for start, end in spans:
        parts.append(text[pos:start])
        parts.append(_PUNCT.sub("\u2063", text[start:end]))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[_Sentence]:
    """Sentences of ``text[start:end]`` with offsets: each line cut at sentence ends.

    ``title`` is set on the sentences of the first line (the title of ``clean_text``)."""
    end = len(text) if end is None else end
    out: list[_Sentence] = []
    line_start = start
    while line_start <= end:
        line_end = text.find("\n", line_start, end)
        line_end = end if line_end < 0 else line_end
        pos = line_start
        for cut in _sentence_ends(text, line_start, line_end):
            _add_sentence(out, text, pos, cut)
            pos = cut
        _add_sentence(out, text, pos, line_end)
        line_start = line_end + 1
    title_end = text.find("\n")
    for s in out:
        s.title = title_end < 0 or s.start < title_end
    return out


_END_MARKS: Final = ".!?…"
_AFTER_END_MARK: Final = frozenset(".!?…”\"’) \t")  # what ``_SENTENCE_END`` can take after its first mark


def _sentence_ends(text: str, start: int, end: int) -> list[int]:
    """Ends of ``_SENTENCE_END.finditer(text, start, end)`` matches, tried only at the marks.

    Every match starts at a mark (``str.find`` finds them much faster than the regex engine's
    scan of Vietnamese text) followed by another mark, a closing quote or a space. (String
    methods are called directly, not through a bound method: compiled, they are C calls.)"""
    marks: list[int] = []
    for mark in _END_MARKS:
        i = text.find(mark, start, end)
        while i >= 0:
            marks.append(i)
            i = text.find(mark, i + 1, end)
    if not marks:
        return marks
    marks.sort()
    out: list[int] = []
    match, after, pos, last = _SENTENCE_END.match, _AFTER_END_MARK, start, end - 1
    for i in marks:
        if i < pos or i >= last or text[i + 1] not in after:
            continue
        m = match(text, i, end)
        if m is not None:
            pos = m.end()
            out.append(pos)
    return out


# A run this long without a sentence end is not prose (real sentences: under 1,000 characters);
# it is cut at a space so the per-figure work, which scans its sentence, stays linear.
_MAX_SENTENCE_CHARS: Final = 1_500


def _add_sentence(out: list[_Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > _MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + 1, start + _MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + _MAX_SENTENCE_CHARS
        out.append(_Sentence(start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append(_Sentence(start, end))


# ---------------------------------------------------------------- periods


def article_period(norm: str, article: CleanArticle, cat: Catalog) -> str | None:
    """The article's period: title's year or term, a term in the lead, the year most named."""
    cut = norm.find("\n")
    title = norm if cut < 0 else norm[:cut]
    lead = "" if cut < 0 else norm[cut + 1 : (norm.find("\n", cut + 1) + 1 or len(norm) + 1) - 1]
    published = article.published.year if article.published else None
    for kind in ("term", "year"):
        found = _period_in(title, cat, kind)
        if found:
            return found
    # A congress article names the new term and the one it reports on: the earlier is the period.
    terms = sorted((int(m.group(2)), int(m.group(1)))
                   for m in iter_prefixed(cat.period["term"], cat.period_prefixes.get("term"), lead)
                   if published is None or int(m.group(2)) <= published + 1)
    if terms:
        return f"{terms[0][1]}-{terms[0][0]}"
    # The one year the lead names (`Năm 2023, ...`) is the article's; else the year most named.
    lead_years = {y for y in _years(lead, cat) if published is None or y <= published}
    if len(lead_years) == 1:
        return str(lead_years.pop())
    years = Counter(y for y in _years(norm, cat, len(title)) if published is None or y <= published)
    if years:
        best = max(years.items(), key=lambda kv: (kv[1], kv[0]))[0]
        return str(best)
    return str(published) if published else None


def _years(text: str, cat: Catalog, start: int = 0) -> list[int]:
    """Years named as periods in ``text[start:]`` (not those of a document's name)."""
    skip, lits = cat.period_not.get("year"), cat.period_not_lits.get("year")
    years = iter_prefixed(cat.period["year"], cat.period_prefixes.get("year"), text, start)
    return [int(m.group(1)) for m in years
            if skip is None or not _skipped(skip, lits, text, m.start())]


def _skipped(skip: re.Pattern[str], lits: tuple[str, ...] | None, text: str, at: int) -> bool:
    """``period_not`` found in the 60 characters before a period cue at ``at``."""
    start = max(0, at - 60)
    if not may_hold(lits, text, start, at):
        return False
    return skip.search(text, start, at) is not None


def _period_in(text: str, cat: Catalog, kind: str, start: int = 0, end: int | None = None) -> str | None:
    end = len(text) if end is None else end
    lits = cat.period_lits.get(kind)
    if not may_hold(lits, text, start, end):
        return None
    skip, skip_lits = cat.period_not.get(kind), cat.period_not_lits.get(kind)
    m = cat.period[kind].search(text, start, end)
    while m and skip is not None and _skipped(skip, skip_lits, text, m.start()):
        m = cat.period[kind].search(text, m.end(), end)
    return _period_text(kind, m) if m else None


def _period_text(kind: str, m: re.Match[str]) -> str:
    if kind == "as_of":
        day, month, year = (int(g) for g in m.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    if kind == "term":
        return f"{m.group(1)}-{m.group(2)}"
    return m.group(1)


def _figure_period(ctx: _Context, seg: tuple[int, int], sent: _Sentence) -> str | None:
    key = (sent.start, *seg)
    if key not in ctx.periods:
        ctx.periods[key] = _find_period(ctx, seg, sent)
    return ctx.periods[key]


def _find_period(ctx: _Context, seg: tuple[int, int], sent: _Sentence) -> str | None:
    norm = ctx.norm
    for start, end in (seg, (sent.start, seg[0])):
        if end <= start:
            continue
        for kind, pattern, lits, skip, skip_lits in ctx.cat.period_plan:  # as _period_in
            if not may_hold(lits, norm, start, end):
                continue
            m = pattern.search(norm, start, end)
            while m and skip is not None and _skipped(skip, skip_lits, norm, m.start()):
                m = pattern.search(norm, m.end(), end)
            if m:
                return _period_text(kind, m)
    return ctx.period


# ---------------------------------------------------------------- sentences


def _inside(spans: list[tuple[int, int]], pos: int) -> bool:
    k = bisect_left(spans, (pos, pos)) - 1
    return k >= 0 and spans[k][0] < pos < spans[k][1]


def _segment(norm: str, sent: _Sentence, pos: int) -> tuple[int, int]:
    left = norm.rfind(";", sent.start, pos)
    right = norm.find(";", pos, sent.end)
    return (left + 1 if left >= 0 else sent.start, right if right >= 0 else sent.end)


def _clause_end(norm: str, pos: int, limit: int) -> int:
    """Where ``_CLAUSE_END`` first matches in ``norm[pos:limit]`` (else ``limit``).

    Found with ``str.find`` per mark (25 times faster than the regex on Vietnamese text); only a
    full stop needs the regex (before a space or the end). The per-figure calls use
    ``_clause_end_in``, which gives the same from the sentence's marks found once.
    """
    end = limit
    for mark in (",", ";", ":", "…"):
        i = norm.find(mark, pos, end)
        if i >= 0:
            end = i
    m = _DOT_END.search(norm, pos, end if end == limit else end + 1)
    return m.start() if m and m.start() < end else end


_CLAUSE_MARKS: Final = ",;:…"


def _clause_marks(norm: str, start: int, end: int) -> list[int]:
    """Offsets in ``norm[start:end]``, in order, of ``,;:…`` and of a full stop before a space
    (the matches of ``[,;:…]|\\.(?=\\s)`` with ``end`` as endpos), found with ``str.find``."""
    out: list[int] = []
    for mark in _CLAUSE_MARKS:
        i = norm.find(mark, start, end)
        while i >= 0:
            out.append(i)
            i = norm.find(mark, i + 1, end)
    i = norm.find(".", start, end)
    while i >= 0:
        if i + 1 < end and norm[i + 1].isspace():
            out.append(i)
        i = norm.find(".", i + 1, end)
    out.sort()
    return out


def _clause_end_in(norm: str, sent: _Sentence, pos: int, limit: int) -> int:
    """``_clause_end(norm, pos, limit)`` for ``sent.start <= pos`` and ``limit <= sent.end``.

    The sentence's marks (``,;:…``, a full stop before a space) are found once, in order; the
    first at or after ``pos`` ends the clause if before ``limit``, else a full stop right before
    ``limit`` does (the regex's ``\\.$``), else ``limit``."""
    marks = sent.marks
    if marks is None:
        marks = sent.marks = _clause_marks(norm, sent.start, sent.end)
    k = bisect_left(marks, pos)
    if k < len(marks) and marks[k] < limit:
        return marks[k]
    return limit - 1 if limit > pos and norm[limit - 1] == "." else limit


def _sentence_rows(ctx: _Context, sent: _Sentence, quantities: list[Quantity],
                   quotes: list[tuple[int, int]]) -> list[_Found]:
    norm, cat = ctx.norm, ctx.cat
    dispatch2, dispatch, variants = cat.probe_dispatch2, cat.probe_dispatch, cat.probe_variants
    window = cat.window
    s_start, s_end = sent.start, sent.end
    goals: dict[int, int] | None = None
    out: list[_Found] = []
    for i, q in enumerate(quantities):
        kind = q.kind
        if (kind != "count" and kind != "vnd") or (quotes and _inside(quotes, q.num_start)):
            continue
        j = q.end  # the units that can follow: by the first two characters after the spaces
        while norm[j : j + 1].isspace():
            j += 1
        key = norm[j : j + 2]
        v = dispatch2.get(key)
        if v is None:
            v = dispatch.get(key[:1], cat.probe_default)
        pv = variants[v]
        if kind == "count" and not pv.counts:
            continue  # no rule's unit can follow: nothing to classify
        m = (pv.match or probe_match(cat, v))(norm, q.end)
        regs = m.regs if m is not None else ()  # the probe always matches (its groups are optional)
        if kind == "count" and _none_matched(regs, pv.counts):
            continue  # no rule's unit follows: nothing to classify
        at = q.start
        cut = norm.rfind(";", s_start, at)
        seg_end = norm.find(";", at, s_end)
        seg = (cut + 1 if cut >= 0 else s_start, seg_end if seg_end >= 0 else s_end)
        left = norm[max(seg[0], at - window) : at]
        if goals is None:
            goals = _goal_starts(ctx, sent)
        tail = left.rstrip()  # what the cues anchored at the figure (``\s*$``) must end
        if _vetoed(ctx, sent, q, left, tail, goals, seg, regs, pv.vetoes[kind]):
            continue
        hit = (_inherited(ctx, q, out, seg) if out else None) or \
            _classify(ctx, sent, q, left, tail, seg, regs, pv.plans[kind])
        if hit is None:
            continue
        following = quantities[i + 1] if i + 1 < len(quantities) else None
        ach = _achievement(ctx, hit, following, seg) if following is not None else None
        row = _row(ctx, q, hit, sent, seg, left, out, ach)
        out.append(_Found(row, hit.rule, hit.unit_end, sent.title))
    return out


def _none_matched(regs: tuple[tuple[int, int], ...], groups: tuple[int, ...]) -> bool:
    for g in groups:  # noqa: SIM110  (a loop: compiled, faster than all() over a generator)
        if regs[g][1] >= 0:
            return False
    return True


def _goal_starts(ctx: _Context, sent: _Sentence) -> dict[int, int]:
    """Per sentence-wide veto: where its cue first appears in the sentence (a figure after it is out).

    Searched only in sentences that hold a candidate figure, not over the whole article."""
    out: dict[int, int] = {}
    norm, start, end = ctx.norm, sent.start, sent.end
    for i, pattern, lits in ctx.cat.goal_plan:
        out[i] = end
        if may_hold(lits, norm, start, end):
            m = pattern.search(norm, start, end)
            if m:
                out[i] = m.start()
    return out


def _has(lits: tuple[str, ...], text: str) -> bool:
    """A literal prefilter: is one of ``lits`` in ``text`` (see ``catalog.required_literals``)."""
    for lit in lits:  # noqa: SIM110  (a loop: any() over a generator is slower here)
        if lit in text:
            return True
    return False


def _vetoed(ctx: _Context, sent: _Sentence, q: Quantity, left: str, tail: str, goals: dict[int, int],
            seg: tuple[int, int], regs: tuple[tuple[int, int], ...],
            plan: list[VetoPlan]) -> bool:
    """Whether a not-a-metric rule applies; ``plan``: the vetoes of the figure's kind whose unit
    can follow it (``Catalog.probe_variants``)."""
    norm = ctx.norm
    right: str | None = None
    for i, _kinds, goal, unit_g, unit_not_g, after, a_lits, before, b_sfx, b_lits, b_tail in \
            plan:  # cheapest checks first
        if goal and goals[i] >= q.start:
            continue
        if unit_g > 0 and regs[unit_g][1] < 0:
            continue
        if unit_not_g > 0 and regs[unit_not_g][1] >= 0:
            continue
        if after is not None:
            if right is None:
                right = norm[q.num_end : _clause_end_in(norm, sent, q.num_end, seg[1])]
            if (a_lits is not None and not _has(a_lits, right)) or not after.search(right):
                continue
        if before is not None:
            if b_sfx is not None and not tail.endswith(b_sfx):
                continue
            scope = left[-b_tail:] if b_tail else left
            if (b_lits is not None and not _has(b_lits, scope)) or not before.search(scope):
                continue
        return True
    return False


def _last_match(pattern: re.Pattern[str], text: str, start: int = 0,
                end: int | None = None) -> re.Match[str] | None:
    last = None
    for m in pattern.finditer(text, start, len(text) if end is None else end):
        last = m
    return last


def _classify(ctx: _Context, sent: _Sentence, q: Quantity, left: str, tail: str, seg: tuple[int, int],
              regs: tuple[tuple[int, int], ...],
              plan: list[tuple[int, list[RulePlan]]]) -> _Hit | None:
    """The rule whose unit follows the figure and whose cue stands nearest (ties: rule order).

    A rule with cues (before, after, unit_cue) applies when one is found; one without applies on
    its unit alone at distance 1000. Patterns anchored at the figure read the last 64 characters.
    ``plan``: the rules of the figure's kind by unit, for the units that may follow it.
    """
    best: _Hit | None = None
    norm, q_end = ctx.norm, q.end
    clause_from = clause_to = -1  # most units end before the same comma
    for g, rules in plan:
        unit_end = q_end if g < 0 else regs[g][1]
        if unit_end < 0:
            continue
        if not clause_from <= unit_end <= clause_to:
            clause_from, clause_to = unit_end, _clause_end_in(norm, sent, unit_end, seg[1])
        right = norm[unit_end:clause_to]
        for (order, rule, _kinds, nb, nb_sfx, nb_lits, nb_tail, na, na_lits, b, b_sfx, b_lits,
             b_tail, a, a_lits, uc, uc_lits, sb, sb_sfx, sb_tail, weight) in rules:
            if best is not None and weight * 100 + order >= best.distance:
                continue  # not even a cue at the figure would make it nearer than the best
            dist = -1
            if b is not None and (b_sfx is None or tail.endswith(b_sfx)):
                scope = left[-b_tail:] if b_tail else left
                if b_lits is None or _has(b_lits, scope):
                    # anchored: its one match ends at the figure; else the nearest match
                    m = b.search(scope) if b_tail else _last_match(b, scope)
                    if m:
                        dist = len(scope) - m.end()
            if a is not None and (a_lits is None or _has(a_lits, right)):
                m = a.search(right)
                if m and (dist < 0 or m.start() < dist):
                    dist = m.start()
            if uc is not None and (dist < 0 or dist > 300) and \
                    (uc_lits is None or _has(uc_lits, norm[q_end:unit_end])) and \
                    uc.search(norm, q_end, unit_end):
                dist = 300
            if dist < 0:
                if b is not None or a is not None or uc is not None:
                    continue
                dist = 1000
            # the rule's exclusions, tested only for a rule that applies
            if nb is not None and (nb_sfx is None or tail.endswith(nb_sfx)):
                scope = left[-nb_tail:] if nb_tail else left
                if (nb_lits is None or _has(nb_lits, scope)) and nb.search(scope):
                    continue
            if na is not None and (na_lits is None or _has(na_lits, right)) and na.search(right):
                continue
            distance = (dist + weight) * 100 + order
            if best is None or distance < best.distance:
                sign = -1 if sb is not None and (sb_sfx is None or tail.endswith(sb_sfx)) and \
                    sb.search(left[-sb_tail:] if sb_tail else left) else 1
                best = _Hit(rule, unit_end, distance, sign)
    return best


def _inherited(ctx: _Context, q: Quantity, out: list[_Found], seg: tuple[int, int]) -> _Hit | None:
    """``..., trong đó có 3 CĐCS ...``: a subset takes the key of the figure it belongs to."""
    if not out or not _subset_before(ctx, out[-1].end, q.start):
        return None
    for parent in reversed(out):  # `196 CĐCS với 11.250 đoàn viên, trong đó 64 CĐCS ...`
        unit = parent.rule.unit
        m = unit.match(ctx.norm, q.end) if parent.rule.inherit and unit is not None else None
        if m is not None:
            return _Hit(parent.rule, m.end(), 0)
    return None


def _subset_before(ctx: _Context, start: int, end: int) -> bool:
    """``subset.search(norm, start, end)`` (`trong đó`, anchored at ``end``), its endings first."""
    norm, sfx = ctx.norm, ctx.cat.subset_suffixes
    if sfx is not None:
        stop = end
        while stop > start and norm[stop - 1].isspace():
            stop -= 1
        if not norm.endswith(sfx, start, stop):
            return False
    return ctx.cat.subset.search(norm, start, end) is not None


def _achievement(ctx: _Context, hit: _Hit, following: Quantity | None,
                 seg: tuple[int, int]) -> float | None:
    if following is None or following.kind != "percent" or following.start >= seg[1]:
        return None
    between = ctx.norm[hit.unit_end : following.start]
    if len(between) > 60 or not ctx.cat.achievement.search(between):
        return None
    veto = ctx.cat.achievement_not_after
    if veto is not None and veto.match(ctx.norm[following.end : following.end + 40]):
        return None
    return float(following.value)


# ---------------------------------------------------------------- rows


def _row(ctx: _Context, q: Quantity, hit: _Hit, sent: _Sentence, seg: tuple[int, int],
         left: str, out: list[_Found], ach: float | None) -> MetricRow:
    norm = ctx.norm
    qualifier = q.qualifier
    unit_end = hit.unit_end
    if (norm.find("trở lên", unit_end, unit_end + 12) >= 0  # what _AT_LEAST needs, found first
            and _AT_LEAST.match(norm, unit_end, unit_end + 12)) or (
        q.high is not None and qualifier == "exact"  # a range "200 - 300": its floor
    ):
        qualifier = "at_least"
    target = float(q.target) if q.target is not None else None
    value = float(q.value) * hit.sign
    # A percentage that does not fit N/M is about something else (value and target are written).
    if target and ach is not None and abs(value / target * 100 - ach) > 1.5:
        ach = None
    return MetricRow(  # positional (keywords cost more than the rest of this function): _ROW_FIELDS
        hit.rule.metric,
        value,
        qualifier,
        target,
        ach,
        _organization(ctx, q, hit, sent),
        _detail(ctx, q, hit, sent, seg, left, out),
        _figure_period(ctx, seg, sent),
        "VND" if q.kind == "vnd" else (ctx.text[q.end : hit.unit_end].strip() or None),
        ctx.text[sent.start : sent.end],
        sent.start,
        sent.end,
        ctx.url,
    )


# The order ``_row`` passes a row's fields in; checked against MetricRow once, at import.
_ROW_FIELDS: Final = ("metric", "value", "qualifier", "target", "achievement_pct", "organization", "detail",
               "period", "unit", "evidence", "evidence_start", "evidence_end", "article_url")
if tuple(f.name for f in fields(MetricRow)) != _ROW_FIELDS:
    raise RuntimeError("MetricRow's fields changed: update extraction._row and _ROW_FIELDS")


def _sentence_orgs(ctx: _Context, sent: _Sentence) -> list[OrgMention]:
    cached = ctx.orgs.get(sent.start)
    if cached is None:
        cached = find_organizations(ctx.cased, ctx.cat.orgs, ctx.subject, sent.start, sent.end,
                                    low=ctx.norm)
        ctx.orgs[sent.start] = cached
    return cached


def _organization(ctx: _Context, q: Quantity, hit: _Hit, sent: _Sentence) -> str | None:
    orgs = _sentence_orgs(ctx, sent)
    if not orgs:
        return ctx.subject
    norm = ctx.norm
    award = hit.rule.metric == "awards"
    if not award:  # "500 suất quà của LĐLĐ quận X": the owner named right after the figure
        unit_end = hit.unit_end
        clause_end = -1
        for m in orgs:
            if m.start < unit_end:
                continue
            if clause_end < 0:
                clause_end = _clause_end_in(norm, sent, unit_end, sent.end)
            if m.start >= clause_end:
                break  # sorted by start
            if m.canonical and not m.national and \
                    _OWNER_BEFORE.search(norm, max(0, m.start - 8), m.start):
                return m.canonical
    cfg = ctx.cat.orgs
    actor = ctx.actor
    for m in reversed(orgs):
        if m.end > q.start or m.national or m.canonical is None:
            continue
        ok = actor.get(m.start)
        if ok is None:
            ok = actor[m.start] = is_actor(norm, m, cfg)
        if not ok:
            continue
        # A superior body honouring others is the giver; a district honouring its own people
        # is the recipients' body too.
        superior = m.level in ("thành phố", "tỉnh") and m.canonical != ctx.subject
        if award and superior and is_giver(norm, m, cfg):
            continue
        return m.canonical
    return ctx.subject


def _words(text: str, limit: int) -> str:
    return " ".join(_WORDS.findall(text)[:limit])


def _detail(ctx: _Context, q: Quantity, hit: _Hit, sent: _Sentence, seg: tuple[int, int],
            left: str, out: list[_Found]) -> str | None:
    norm, text = ctx.norm, ctx.text
    clause_end = _clause_end_in(norm, sent, hit.unit_end, seg[1])
    unit_text = text[q.end : hit.unit_end].strip()
    rest = text[hit.unit_end : clause_end]
    cat = ctx.cat
    after = norm[hit.unit_end : hit.unit_end + 20]
    first = cat.rate_first  # a rate is written right after the unit: `/năm`, `mỗi tháng`
    rate = cat.period["rate"].match(after) if first is None or after.lstrip()[:1] in first else None
    if _subset_before(ctx, out[-1].end if out else seg[0], q.start):
        return f"trong đó: {unit_text} {_words(rest, 8)}".strip()
    kind = hit.rule.detail
    if kind == "award":
        return _award_detail(ctx, q, hit, sent, seg, unit_text, rest)
    if kind == "gift":
        stop = _STOP_GIFT.search(rest)
        return " ".join((unit_text + " " + (rest[: stop.start()] if stop else rest)).split())
    if kind == "money":
        label = _money_label(text[q.start - len(left) : q.start], out)
        if rate:
            label = f"{label}, mỗi {rate.group(1) or rate.group(2)}"
        elif per_item := ctx.cat.period["per_item"].search(left[-40:]):
            label = f"mỗi {per_item.group(1)}"
        return label or None
    if kind == "clause":
        return f"{unit_text} {_words(rest, 8)}".strip()
    if rate:
        return f"mỗi {rate.group(1) or rate.group(2)}"
    return None


def _money_label(left: str, out: list[_Found]) -> str:
    tail = _CLAUSE_SPLIT.split(left)[-1]
    if _VALUE_OF.search(tail) and out and out[-1].row.metric == "gifts":
        prev = out[-1].row
        return f"trị giá {format_number(prev.value)} {prev.detail or prev.unit or ''}".strip()
    if _VALUE_OF.search(tail):
        gift = next((f.row for f in reversed(out) if f.row.metric == "gifts"), None)
        if gift is not None:
            return f"trị giá {format_number(gift.value)} {gift.detail or gift.unit or ''}".strip()
    for scope in (tail, left):
        words = [w for w in _WORDS.findall(scope) if not w[0].isdigit()]
        while words and words[-1].lower() in _FILLER:
            words.pop()
        if words:
            return " ".join(words[-8:])
    return "tiền"


def _award_detail(ctx: _Context, q: Quantity, hit: _Hit, sent: _Sentence, seg: tuple[int, int],
                  unit_text: str, rest: str) -> str:
    text = ctx.text
    name: str | None = None
    if unit_text.strip("lượt ").startswith(("“", '"')):
        quoted = unit_text[unit_text.find(unit_text.strip("lượt ")[0]) :]
        suffix = _LEVEL_SUFFIX.match(rest)
        name = quoted.strip("“”\" ") + (suffix.group(0).rstrip() if suffix else "")
    elif _GOOD_END.search(unit_text) or hit.rule.unit and _AWARD_NAME.fullmatch(unit_text):
        suffix = _LEVEL_SUFFIX.match(rest)
        name = unit_text + (suffix.group(0).rstrip() if suffix else "")
    else:  # the name after the unit, else the last one before the figure (found in ``norm``)
        norm, rest_at = ctx.norm, hit.unit_end
        m = _AWARD_NAME_LOW.search(norm, rest_at, rest_at + len(rest)) or \
            _last_match(_AWARD_NAME_LOW, norm, seg[0], q.start)
        name = text[m.start() : m.end()].strip() if m else None
    giver = _giver(ctx, sent, seg, q)
    kind = _RECIPIENT.search(unit_text) or _RECIPIENT.match(rest.strip().removeprefix("cho "))
    if name:
        name = _TITLE_WORD.sub("", name).replace("“", "").replace("”", "").strip('" ')
    parts = [p for p in (name or f"{unit_text} {_words(rest, 6)}".strip(), giver) if p]
    label = " ".join(parts)
    if kind:
        label += f" ({'cá nhân' if 'nhân' in kind.group(0) else 'tập thể'})"
    return label


def _giver(ctx: _Context, sent: _Sentence, seg: tuple[int, int], q: Quantity) -> str | None:
    cfg = ctx.cat.orgs
    end = _clause_end_in(ctx.norm, sent, q.end, seg[1])
    for m in _sentence_orgs(ctx, sent):
        if m.start < seg[0] or m.end > end:
            continue
        preceded = _GIVEN_BY.search(ctx.norm, max(0, m.start - 12), m.start)
        if m.canonical and (is_giver(ctx.norm, m, cfg) or preceded):
            return m.canonical
    return None


# ---------------------------------------------------------------- repeats


def _dedupe(found: list[_Found]) -> list[MetricRow]:
    """A figure repeated in title, lead and body is one row; a rounded repeat keeps the precise one."""
    kept: list[_Found] = []
    by_key: dict[tuple[str, str | None], list[int]] = {}  # only rows of one key can be the same
    for f in found:
        slots = by_key.setdefault((f.row.metric, f.row.organization), [])
        dup = next((i for i in slots if _same(kept[i], f)), None)
        if dup is None:
            slots.append(len(kept))
            kept.append(f)
        elif _prefer(f, kept[dup]):
            kept[dup] = f
    return [k.row for k in kept]


def _same(a: _Found, b: _Found) -> bool:
    ra, rb = a.row, b.row
    if ra.metric != rb.metric or ra.organization != rb.organization:
        return False
    if ra.value == rb.value:
        if a.in_title or b.in_title:
            return True
        # Equal awards of different titles or givers are different honours (01 Cờ, 01 Bằng khen).
        distinct = ra.metric == "awards" and ra.detail and rb.detail and ra.detail != rb.detail
        return not distinct and ra.period == rb.period
    # A title's rounded figure (`hơn 1.300 đoàn viên`) repeats the body's precise one whatever
    # words surround it.
    loose = a.in_title or b.in_title
    return _rounded_repeat(ra, rb, loose) or _rounded_repeat(rb, ra, loose)


def _rounded_repeat(rough: MetricRow, precise: MetricRow, loose: bool = False) -> bool:
    if rough.qualifier == "exact" or precise.qualifier != "exact" or not rough.value:
        return False
    if not loose and rough.detail and precise.detail and rough.detail != precise.detail:
        return False
    gap = (precise.value - rough.value) / rough.value
    ok = {"over": 0 <= gap <= 0.2, "at_least": 0 <= gap <= 0.2, "nearly": -0.2 <= gap <= 0,
          "about": abs(gap) <= 0.2}
    return ok.get(rough.qualifier, False)


def _prefer(new: _Found, old: _Found) -> bool:
    if old.in_title and not new.in_title:
        return True
    return old.row.qualifier != "exact" and new.row.qualifier == "exact"
