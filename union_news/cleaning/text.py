"""Cleaning of already-extracted plain text (one paragraph per line, boilerplate included).

The same rules run on the lines trafilatura extracts from HTML (``clean_body_lines``); the
plain-text path adds what only plain text needs: finding the title in the first lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from union_news.cleaning import rules

# how many body lines after the title may hold the run-together related headlines
_GLUED_WINDOW = 3
_MIN_TEXT_BEFORE_CUT = 200


@dataclass
class Cleaned:
    title: str
    body: list[str]
    author: str | None = None
    captions: list[str] = field(default_factory=list)
    related_titles: list[str] = field(default_factory=list)
    dateline: str | None = None  # a time stamp printed near the top (publication date)


def _lines(content: str) -> tuple[list[str], bool]:
    """Non-empty lines, and whether paragraphs are separated by blank lines."""
    raw = content.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [rules.collapse(x) for x in raw]
    non_empty = [x for x in lines if x]
    blank_separated = len(non_empty) > 2 and sum(1 for x in lines if not x) >= len(non_empty) // 2
    return lines, blank_separated


def split_title(lines: list[str]) -> tuple[str, int]:
    """The title and the index of the first line after it.

    A title broken after a colon (``Organisation:`` then the rest) is joined with a space.
    """
    idx = [i for i, x in enumerate(lines) if x]
    if not idx:
        return "", len(lines)
    first = idx[0]
    title = lines[first]
    if title.endswith(":") and len(title) <= 100 and len(idx) > 1:
        nxt = lines[idx[1]]
        if (
            len(nxt) <= 200
            and not rules.has_inner_sentence_break(nxt)
            and not rules.ends_sentence(nxt)
        ):
            return f"{title} {nxt}", idx[1] + 1
    return title, first + 1


def related_titles_from_tail(tail: list[str], keys: frozenset[str]) -> list[str]:
    """Headlines listed in trailing related blocks (teasers and time stamps skipped)."""
    titles: list[str] = []
    seen: set[str] = set()
    prev: str | None = None
    after_pair = False
    for line in tail:
        if not line or rules.is_related_heading(line, keys) or rules.is_timestamp(line):
            continue
        if prev is not None and rules.norm(line) == rules.norm(prev):
            after_pair = True  # "title, title, teaser" cards
            continue
        if after_pair or _is_teaser(line):
            after_pair = False
            prev = line
            continue
        prev = line
        key = rules.norm(line)
        if key and key not in seen:
            seen.add(key)
            titles.append(line)
    return titles


def _is_teaser(line: str) -> bool:
    return len(line) > 250 or (len(line) > 120 and line.rstrip().endswith("."))


def _title_variants(title: str) -> list[str]:
    parts = [title]
    if ":" in title:
        head, _, rest = title.partition(":")
        parts += [head.strip(), rest.strip()]
    return [p for p in parts if len(p) >= 15]


def _is_title_repeat(line: str, title_variants: list[str]) -> bool:
    return len(line) <= 250 and any(rules.similar(line, t) for t in title_variants)


def find_cut(lines: list[str], start: int, keys: frozenset[str]) -> int:
    """Index of the first related-news heading after some article text (len(lines) if none).

    A heading met before ``_MIN_TEXT_BEFORE_CUT`` characters of text and followed by article
    text is a menu or sidebar label, not the end of the article: it is skipped (and dropped as
    a line later).
    """
    seen = 0
    for i in range(start, len(lines)):
        line = lines[i]
        if line and rules.is_related_heading(line, keys):
            if seen >= _MIN_TEXT_BEFORE_CUT or not _article_text_follows(lines, i + 1, keys):
                return i
        else:
            seen += len(line)
    return len(lines)


def _article_text_follows(lines: list[str], start: int, keys: frozenset[str]) -> bool:
    """Whether a paragraph of article text comes before the next related heading."""
    for line in lines[start:]:
        if line and rules.is_related_heading(line, keys):
            return False
        if len(line) >= 100 and rules.ends_sentence(line) and not rules.is_timestamp(line):
            return True
    return False


def _inline_related(line: str, keys: frozenset[str]) -> str | None:
    """``Xem thêm: <headline>`` on its own line: the headline, else None."""
    head, sep, rest = line.partition(":")
    if sep and rest.strip() and len(line) <= 250 and rules.norm(head) in keys:
        return rest.strip().rstrip("|").strip()
    return None


def clean_body_lines(
    lines: list[str],
    title: str,
    keys: frozenset[str],
    *,
    blank_separated: bool = False,
    known_related: list[str] | None = None,
    known_captions: list[str] | None = None,
    glued_by_shape: bool = True,
    image_titles: bool = True,
) -> Cleaned:
    """Drop boilerplate lines from a body (``lines`` may contain '' for blank lines).

    ``glued_by_shape``: recognise run-together headlines by their shape alone (plain text);
    when False (HTML, where links mark headlines) only lines made of known related titles go.
    ``image_titles``: a line repeating the title is an image's title, followed by its caption
    (plain text; in HTML captions come from the markup).
    """
    cut = find_cut(lines, 0, keys)
    related = list(known_related or [])
    related += related_titles_from_tail(lines[cut:], keys)
    related_keys = {rules.norm(t) for t in related}
    caption_keys = {rules.norm(c) for c in known_captions or []}
    variants = _title_variants(title)
    out = Cleaned(title=title, body=[], captions=list(known_captions or []), related_titles=related)
    i, seen_body = 0, 0
    while i < cut:
        line = lines[i]
        i += 1
        if not line:
            continue
        key = rules.norm(line)
        if key in caption_keys:
            continue
        if rules.is_timestamp(line) or rules.is_dateline(line):
            if seen_body == 0 and out.dateline is None:
                out.dateline = line
            continue
        if rules.is_image_marker(line):
            if i < cut and lines[i].endswith("|"):
                out.captions.append(lines[i].rstrip("|").strip())
                i += 1
            continue
        if key in related_keys or rules.is_related_heading(line, keys):
            continue
        inline = _inline_related(line, keys)
        if inline is not None:
            _add_related(out, [inline], related_keys)
            continue
        if image_titles and _is_title_repeat(line, variants):
            # an image's title line; the caption follows it directly
            if (
                i < cut
                and lines[i]
                and not _is_title_repeat(lines[i], variants)
                and len(lines[i]) <= 400
            ):
                out.captions.append(lines[i].rstrip("|").strip())
                i += 1
            continue
        if seen_body < _GLUED_WINDOW and rules.looks_like_glued_headlines(
            line, related, by_shape=glued_by_shape
        ):
            _add_related(out, rules.split_glued_headlines(line), related_keys)
            continue
        if line.endswith("|") and not line.startswith("|"):
            # a caption cell left by a text extractor ("<caption> |"); table rows start with "|"
            out.captions.append(line.rstrip("|").strip())
            continue
        out.body.append(line)
        seen_body += 1
    if out.body and rules.is_name_like(out.body[-1]):
        out.author = out.body.pop()
    return out


def _add_related(out: Cleaned, titles: list[str], keys: set[str]) -> None:
    for t in titles:
        k = rules.norm(t)
        if k and k not in keys:
            keys.add(k)
            out.related_titles.append(t)


def clean_plain_text(content: str, keys: frozenset[str]) -> Cleaned:
    """Title, body, byline, captions and related headlines of an extracted text page.

    Raises ``ValueError`` for a text too long to be an article (``rules.MAX_TEXT_CHARS``).
    """
    rules.check_text_size(len(content))
    lines, blank_separated = _lines(content)
    title, start = split_title(lines)
    return clean_body_lines(lines[start:], title, keys, blank_separated=blank_separated)
