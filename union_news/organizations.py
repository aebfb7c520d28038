"""Union bodies named in a text, in canonical form (``LĐLĐ huyện Thanh Trì``).

Spellings come from the catalog's ``organizations`` section: ``Liên đoàn Lao động (LĐLĐ) huyện
Thanh Trì``, ``LĐLĐ Quận``, ``Công đoàn huyện Thanh Trì`` (the federation's old name), ``Tổng LĐLĐ
Việt Nam``, ``Công đoàn ngành Giáo dục``. A mention without a place name (``LĐLĐ huyện``) is the
article's subject when the level agrees; ``LĐLĐ Thành phố`` is the default city's federation.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter
from typing import Final

from union_news.catalog import OrgConfig, lower_text, may_hold


@dataclass(slots=True)
class OrgMention:
    start: int
    end: int
    canonical: str | None  # None: a level without a name and no subject to resolve it
    level: str | None = None
    national: bool = False


def _trim_name(raw: str | None, cfg: OrgConfig) -> str | None:
    """Leading capitalised words of ``raw`` (at most two), or a known longer name."""
    if not raw:
        return None
    low = raw.lower()
    if cfg.known_lower and low.startswith(cfg.known_lower):  # one test for all, then which
        for known in cfg.known_lower:
            if low.startswith(known):
                return raw[: len(known)]
    words: list[str] = []
    for word in raw.split():
        if not word[:1].isupper() or len(words) == 2:
            break
        words.append(word)
    return " ".join(words) or None


def _sector(raw: str, cfg: OrgConfig) -> str | None:
    low = raw.lower()
    for name, name_low in zip(cfg.sectors, cfg.sectors_lower, strict=True):
        if low.startswith(name_low):
            return name
    return _trim_name(raw, cfg)


def find_organizations(text: str, cfg: OrgConfig, subject: str | None = None,
                       start: int = 0, end: int | None = None,
                       low: str | None = None) -> list[OrgMention]:
    """Mentions of union bodies in ``text[start:end]``, in order, with canonical names.

    ``low`` is ``lower_text(text)`` when the caller has it: patterns match it, names are read
    from ``text`` at the same offsets (a name starts with a capital).
    """
    end = len(text) if end is None else end
    low = lower_text(text) if low is None else low
    found: list[OrgMention] = []
    lits = cfg.literals
    if may_hold(lits.get("national"), low, start, end):
        for m in cfg.national.finditer(low, start, end):
            found.append(OrgMention(m.start(), m.end(), cfg.national_canonical, national=True))
    if not may_hold(lits.get("mention"), low, start, end):
        return _other_bodies(text, low, cfg, subject, start, end, found)
    taken = [(f.start, f.end) for f in found]
    for m in cfg.mention.finditer(low, start, end):
        if taken and any(s <= m.start() < e for s, e in taken):
            continue
        level = m.group("level")
        name = _trim_name(text[m.start("name") : m.end("name")] if m.group("name") else None, cfg)
        name_end = m.start("name") + len(name) if name else m.end("level")
        found.append(OrgMention(m.start(), name_end, _canonical(level, name, cfg, subject), level))
    return _other_bodies(text, low, cfg, subject, start, end, found)


def _other_bodies(text: str, low: str, cfg: OrgConfig, subject: str | None, start: int, end: int,
                  found: list[OrgMention]) -> list[OrgMention]:
    """``found`` with the sector and grassroots unions of ``text[start:end]``, in order."""
    if may_hold(cfg.literals.get("sector"), low, start, end):
        for m in cfg.sector.finditer(low, start, end):
            name = _sector(text[m.start("name") : m.end("name")], cfg)
            if name:
                found.append(OrgMention(m.start(), m.start("name") + len(name),
                                        f"Công đoàn ngành {name}"))
    if cfg.grassroots is not None and may_hold(cfg.literals.get("grassroots"), low, start, end):
        found.extend(_grassroots(text, low, cfg.grassroots, subject, start, end))
    found.sort(key=_START)
    return found


_START: Final = attrgetter("start")


def _grassroots(text: str, low: str, pattern: re.Pattern[str], subject: str | None,
                start: int, end: int) -> list[OrgMention]:
    """``Công đoàn Công ty TNHH Cơ khí Phúc Hưng``; a bare ``Công đoàn Công ty`` is the subject."""
    out: list[OrgMention] = []
    for m in pattern.finditer(low, start, end):
        kind = text[m.start(1) : m.end(1)]
        words = text[m.end(1) : m.end("name")].split()
        keep = 0
        for i, word in enumerate(words):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if word[0].isupper() or word[0].isdigit() or (nxt[:1].isupper() and keep == i):
                keep = i + 1
                continue
            break
        name = " ".join([kind, *words[:keep]])
        if keep:
            canonical: str | None = f"Công đoàn {name}"
        else:
            canonical = subject if subject and subject.startswith(f"Công đoàn {kind} ") else None
        name_end = m.start(1) + len(kind)
        if keep:
            name_end = low.find(words[keep - 1].lower(), name_end) + len(words[keep - 1])
        out.append(OrgMention(m.start(), name_end, canonical))
    return out


def _canonical(level: str, name: str | None, cfg: OrgConfig, subject: str | None) -> str | None:
    if name:
        return f"LĐLĐ {level} {name}"
    if level == "thành phố":
        if subject and subject.startswith("LĐLĐ thành phố "):
            return subject
        return f"LĐLĐ thành phố {cfg.default_city}"
    if subject and subject.startswith(f"LĐLĐ {level} "):
        return subject
    return None


def is_actor(text: str, mention: OrgMention, cfg: OrgConfig) -> bool:
    """False when the words before the mention make it a post, a superior or a partner.

    ``text`` is lowercased (the catalog's patterns are)."""
    start = max(0, mention.start - 40)
    sfx = cfg.not_actor_suffixes  # the cue ends at the mention: a cheap test first
    if sfx is not None and not text[start : mention.start].rstrip().endswith(sfx):
        return True
    return not cfg.not_actor_before.search(text, start, mention.start)


def is_giver(text: str, mention: OrgMention, cfg: OrgConfig) -> bool:
    """True when the mention is followed by a verb of giving or honouring (… tặng, … biểu dương)."""
    return bool(cfg.giver_after.match(text, mention.end))


def article_subject(title: str, paragraphs: list[str], cfg: OrgConfig) -> str | None:
    """The body an article is about: named in the title, else in the lead, else most named."""
    for source in (title, paragraphs[0] if paragraphs else ""):
        low = lower_text(source)
        names = [m.canonical for m in find_organizations(source, cfg, low=low)
                 if m.canonical and not m.national and is_actor(low, m, cfg)]
        local = [n for n in names if not n.startswith("LĐLĐ thành phố ")]
        if local or names:
            return (local or names)[0]
    counts = Counter(
        m.canonical for p in paragraphs for m in find_organizations(p, cfg)
        if m.canonical and not m.national
    )
    return counts.most_common(1)[0][0] if counts else None


_LEVEL_WORD: Final = re.compile(r"^LĐLĐ (\S+(?: xã| phố)?) ")


def level_of(canonical: str | None) -> str | None:
    m = _LEVEL_WORD.match(canonical or "")
    return m.group(1) if m else None
