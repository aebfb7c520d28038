"""The clean stage: boilerplate out, above all related-news headlines; metadata kept aside.

``clean_document`` takes an HTML page or already-extracted plain text (detected when the
content type is not given) and returns a :class:`CleanArticle` whose ``text`` is the body only,
one paragraph per line. Captions and related headlines are not thrown away unseen: they land in
``captions`` and ``related_titles`` (and ``related_links`` for HTML).

Site knowledge lives in the ``clean:`` section of the source profiles (XPaths and the list of
related-news headings); everything else is generic.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from union_news.cleaning import rules
from union_news.cleaning.html import clean_html, parse_date
from union_news.cleaning.text import clean_plain_text
from union_news.models import CleanArticle

if TYPE_CHECKING:
    from union_news.profiles import SourceProfile

__all__ = ["CleaningError", "clean_document", "is_html"]

_HTML_SNIFF = re.compile(
    r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|div|p|article)\b", re.I | re.S
)
_MIN_TEXT_CHARS = 40
MAX_PAGE_CHARS = 5_000_000  # the fetch stage's default max_bytes: larger pages are refused
# Control characters (tab and line breaks aside) are never article text, and PostgreSQL refuses
# NUL in text; lone surrogates (JSON-LD "\ud800" escapes) cannot be encoded as UTF-8.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])  # as _CONTROL


class CleaningError(ValueError):
    """The page holds no article; the message says why."""


def is_html(content: str, content_type: str | None = None) -> bool:
    """HTML by content type when given, otherwise by sniffing the first bytes."""
    if content_type:
        ct = content_type.lower()
        if "html" in ct or "xml" in ct:
            return True
        if ct.startswith("text/"):
            return False
    head = content[:2048]
    return bool(_HTML_SNIFF.match(head)) or "</p>" in head.lower() or "<body" in head.lower()


def _settings(profile: SourceProfile | None) -> tuple[dict[str, Any], frozenset[str]]:
    cfg: dict[str, Any] = dict(profile.clean) if profile is not None and profile.clean else {}
    return cfg, rules.heading_keys(cfg.get("related_headings"))


def clean_document(
    content: str,
    url: str | None = None,
    profile: SourceProfile | None = None,
    content_type: str | None = None,
) -> CleanArticle:
    """Clean one page (HTML or plain text) into a :class:`CleanArticle`.

    Raises :class:`CleaningError` when no article body is left.
    """
    if content is None or not content.strip():
        raise CleaningError("empty page")
    if len(content) > MAX_PAGE_CHARS:
        raise CleaningError(
            f"page too large: {len(content):,} characters (limit {MAX_PAGE_CHARS:,})"
        )
    content = _safe(content)
    cfg, keys = _settings(profile)
    published = canonical = None
    related_links: list[str] = []
    if is_html(content, content_type):
        try:
            result = clean_html(content, url, cfg, keys)
        except ValueError as exc:
            raise CleaningError(str(exc)) from exc
        cleaned, published = result.cleaned, result.published
        canonical, related_links = result.canonical_url, result.related_links
    else:
        try:
            cleaned = clean_plain_text(content, keys)
        except ValueError as exc:
            raise CleaningError(str(exc)) from exc
        published = parse_date(cleaned.dateline)
    text = "\n".join(cleaned.body)
    if len(text) < _MIN_TEXT_CHARS:
        raise CleaningError(
            f"no article body found ({len(text)} characters of text left after cleaning)"
        )
    title = cleaned.title or cleaned.body[0][:200]
    return CleanArticle(
        url=url or canonical or "",
        title=_safe(title),
        text=text,
        author=_safe(cleaned.author) if cleaned.author else cleaned.author,
        published=published,
        captions=_unique([_safe(c) for c in cleaned.captions]),
        related_titles=_unique([_safe(t) for t in cleaned.related_titles]),
        related_links=related_links,
        canonical_url=canonical,
        source=profile.name if profile is not None else None,
    )


def _safe(text: str) -> str:
    """Control characters to spaces, lone surrogates to U+FFFD.

    Most pages have neither: strict UTF-8 encoding refuses lone surrogates, and a control
    character is a byte of its own in UTF-8; both tests run in C, several times faster than
    the two substitutions scanning the page."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        pass
    else:
        if len(raw.translate(None, _CONTROL_BYTES)) == len(raw):
            return text
    return _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", text))


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out
