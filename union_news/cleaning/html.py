"""Cleaning of HTML pages: one parse, profile pruning, trafilatura, then the line rules.

The page is parsed once with lxml; site profile XPaths and the generic rules prune that tree
(captions and related-headline blocks are taken out and kept in their own fields), then
trafilatura extracts the body from it and the shared line rules finish the job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from copy import copy, deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from union_news.cleaning import rules
from union_news.cleaning.text import Cleaned, clean_body_lines

# elements that never hold article text
_STRIP_TAGS = ("script", "style", "noscript", "template", "svg")
# inline wrappers looked through when grouping links into the block that holds them
_INLINE = frozenset(
    [
        "a",
        "span",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "small",
        "font",
        "li",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "article",
        "header",
        "time",
        "picture",
        "figure",
    ]
)
_INLINE_TEXT = frozenset(["a", "span", "strong", "b", "em", "i", "u", "small", "font"])
_MIN_BODY_CHARS = 200
# Hostile-input limits (real news pages: under 2,000 elements, a 20-level deep tree, class
# names of a few dozen characters). Above MAX_ELEMENTS the page is refused with a reason:
# extraction time grows with the element count (100,000 empty <p> took 14 s, 19,000 small
# <div> 5 s of CPU).
MAX_ELEMENTS = 10_000
MAX_ATTRIBUTE_CHARS = 2_000  # longer values are cut (readability regexes scan class/id)
_MAX_JSONLD_CHARS = 100_000
_MAX_HEADING_CHECKS = 30  # related-heading candidates whose preceding text is measured
_BOX_TAGS = frozenset(["div", "section", "aside", "ul", "ol", "nav"])


@dataclass
class PageParts:
    """What the tree pruning set aside before extraction."""

    captions: list[str] = field(default_factory=list)
    related_titles: list[str] = field(default_factory=list)
    related_links: list[str] = field(default_factory=list)
    lead: str | None = None
    _seen_titles: set[str] = field(default_factory=set, repr=False)


def parse_html(content: str) -> HtmlElement:
    """Parse with trafilatura's own loader (same parser options, so extraction is unchanged)."""
    tree = load_html(content)
    if tree is None:
        raise ValueError("not parseable as HTML")
    if tree.tag != "html":
        # a fragment parsed into a bare root (<svg>, <p> ...): date finding and extraction
        # expect a document and drop elements from their parent, which a root has not got
        root, body = tree.makeelement("html", {}), tree.makeelement("body", {})
        root.append(body)
        body.append(tree)
        tree = root
    return tree


_NODES = etree.XPath(
    "count(descendant-or-self::*) + count(descendant::comment())"
    " + count(descendant::processing-instruction())"
)
_LONG_ATTRIBUTES = etree.XPath(
    f"descendant-or-self::*[@*[string-length(.) > {MAX_ATTRIBUTE_CHARS}]]"
)


def defuse(tree: HtmlElement) -> None:
    """Refuse pages with more than ``MAX_ELEMENTS`` elements; cut overlong attribute values.

    Counted and searched with XPath (in C): walking the tree from Python made an object per
    node and cost as much as a tenth of the clean time."""
    count = int(_NODES(tree))
    if count > MAX_ELEMENTS:
        raise ValueError(f"page too complex: more than {MAX_ELEMENTS:,} HTML elements")
    for el in _LONG_ATTRIBUTES(tree):
        for name, value in el.attrib.items():
            if len(value) > MAX_ATTRIBUTE_CHARS:
                el.set(name, value[:MAX_ATTRIBUTE_CHARS])


def _text(el: HtmlElement) -> str:
    return rules.collapse(el.text_content())


@lru_cache(maxsize=256)
def _compiled(expr: str) -> etree.XPath | None:
    """A profile's XPath compiled once (``tree.xpath(expr)`` compiles it on every call); None
    when it does not compile, so that ``tree.xpath`` raises what it always raised."""
    try:
        return etree.XPath(expr)
    except etree.XPathSyntaxError:
        return None


def _xpath(tree: HtmlElement, expr: str) -> Any:
    compiled = _compiled(expr)
    return tree.xpath(expr) if compiled is None else compiled(tree)


def _xpath_all(tree: HtmlElement, exprs: list[str] | str | None) -> list[HtmlElement]:
    if not exprs:
        return []
    found: list[HtmlElement] = []
    for expr in [exprs] if isinstance(exprs, str) else exprs:
        found += [e for e in _xpath(tree, expr) if isinstance(e, HtmlElement)]
    return found


def _first_text(tree: HtmlElement, expr: str | None) -> str | None:
    if not expr:
        return None
    for hit in _xpath(tree, expr):
        text = rules.collapse(hit if isinstance(hit, str) else hit.text_content())
        if text:
            return text
    return None


def _remove(el: HtmlElement) -> None:
    parent = el.getparent()
    if parent is not None:
        el.drop_tree()


# --- metadata -------------------------------------------------------------------------------

_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\D{1,5}(\d{1,2}):(\d{2}))?")
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]+)"')
_DATE_KEYS = (
    "article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "dc.date.issued",
    "dc.date",
    "date",
    "og:published_time",
)


@dataclass
class HeadMeta:
    """``<meta>``, canonical ``<link>``, JSON-LD and ``<h1>`` elements of a page, gathered in one
    pass (each ``tree.iter(tag)`` walks the whole tree)."""

    meta: dict[str, str] = field(default_factory=dict)
    canonical: str | None = None
    jsonld: list[str] = field(default_factory=list)
    h1s: list[HtmlElement] = field(default_factory=list)

    @classmethod
    def read(cls, tree: HtmlElement) -> HeadMeta:
        out = cls()
        canonical = None
        for el in tree.iter("meta", "link", "script", "h1"):
            tag = el.tag
            if tag == "meta":
                key = el.get("property") or el.get("name") or el.get("itemprop")
                value = el.get("content")
                if key and value and value.strip():
                    out.meta.setdefault(key.strip().lower(), value.strip())
            elif tag == "link":
                # the first canonical link with an address
                if (
                    canonical is None
                    and (el.get("rel") or "").lower() == "canonical"
                    and el.get("href")
                ):
                    canonical = el.get("href").strip()
            elif tag == "script":
                text = el.text
                if (
                    el.get("type") == "application/ld+json"
                    and text
                    and len(text) <= _MAX_JSONLD_CHARS
                ):
                    out.jsonld.append(text)
            else:
                out.h1s.append(el)
        out.canonical = canonical or out.meta.get("og:url")
        return out


def parse_date(value: str | None) -> datetime | None:
    """ISO 8601 or Vietnamese ``dd/mm/yyyy [hh:mm]``; wall-clock time, tz dropped."""
    if not value:
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        pass
    m = _DMY.search(value)
    if m:
        d, mo, y, hh, mm = m.groups()
        try:
            return datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0))
        except ValueError:
            return None
    return None


def _published(
    tree: HtmlElement, head: HeadMeta, cfg: dict[str, Any], url: str | None
) -> datetime | None:
    if cfg.get("date_xpath") and (found := parse_date(_first_text(tree, cfg["date_xpath"]))):
        return found
    for key in _DATE_KEYS:
        if (found := parse_date(head.meta.get(key))) is not None:
            return found
    for script in head.jsonld:
        m = _JSONLD_DATE.search(script)
        if m and (found := parse_date(m.group(1))):
            return found
    from htmldate import find_date

    found_str = find_date(tree, url=url, extensive_search=False, outputformat="%Y-%m-%d %H:%M:%S")
    return parse_date(found_str) if found_str else None


def _heading_text(el: HtmlElement) -> str:
    """Text of a heading with ``<br>`` read as a space (``Org:<br>rest`` -> ``Org: rest``)."""
    if el.find(".//br") is None:
        return _text(el)
    el = deepcopy(el)
    for br in el.iter("br"):
        br.tail = " " + (br.tail or "")
    return _text(el)


def _with_kicker(h1: HtmlElement, title: str) -> str:
    """Prefix a title with its kicker: a short line ending in ':' printed just before it."""
    prev = h1.getprevious()
    if prev is not None and prev.tag not in ("script", "style"):
        kicker = _text(prev)
        if kicker.endswith(":") and 3 <= len(kicker) <= 100 and not title.startswith(kicker):
            return f"{kicker} {title}"
    return title


def _title(tree: HtmlElement, head: HeadMeta, cfg: dict[str, Any]) -> str | None:
    title = _first_text(tree, cfg.get("title_xpath"))
    if title:
        return title
    h1s = head.h1s
    if len(h1s) == 1:
        title = _heading_text(h1s[0])
        if len(title) >= 10:
            return _with_kicker(h1s[0], title)
    for key in ("og:title", "twitter:title"):
        if head.meta.get(key):
            return rules.collapse(head.meta[key])
    head_title = _first_text(tree, "//title")
    if head_title:
        return re.split(r"\s+[|\-–—]\s+[^|\-–—]{2,40}$", head_title)[0]
    return None


def _author(tree: HtmlElement, head: HeadMeta, cfg: dict[str, Any]) -> str | None:
    author = _first_text(tree, cfg.get("author_xpath"))
    if author:
        return author
    for key in ("author", "article:author"):
        value = head.meta.get(key)
        if value and not value.startswith("http"):
            return rules.collapse(value)
    for script in head.jsonld:
        if '"author"' not in script:
            continue
        try:
            name = _jsonld_author(json.loads(script))
        except (ValueError, RecursionError):  # broken or absurdly nested JSON-LD
            continue
        if name:
            return name
    return None


def _jsonld_author(data: Any) -> str | None:
    if isinstance(data, list):
        for item in data:
            if name := _jsonld_author(item):
                return name
        return None
    if not isinstance(data, dict):
        return None
    author = data.get("author")
    if isinstance(author, list) and author:
        author = author[0]
    if isinstance(author, dict):
        author = author.get("name")
    if isinstance(author, str) and author.strip():
        return rules.collapse(author)
    graph = data.get("@graph")
    return _jsonld_author(graph) if graph else None


# --- pruning --------------------------------------------------------------------------------


_CAPTION_CLASSES = (
    "caption",
    "image_desc",
    "img_desc",
    "image-desc",
    "img-desc",
    "imgdesc",
    "photo-desc",
)
_MAX_CAPTION_CHARS = 400


_INNER_TABLE = etree.XPath(".//table")
# //figcaption and //table[.//img] in one walk, in document order
_FIGCAPTIONS_AND_IMAGE_TABLES = etree.XPath("//*[self::figcaption or self::table[.//img]]")


@lru_cache(maxsize=256)
def _class_xpath(words: tuple[str, ...]) -> etree.XPath:
    """Elements under ``<body>`` with one of ``words`` in their class attribute (the test
    written on the attribute node, ``@class[...]``, is skipped for the many elements without a
    class; ``contains(@class, ...)`` turned the absent attribute into a string on each)."""
    test = " or ".join(f"contains(., '{w}')" for w in words)
    return etree.XPath(f"//body//*[@class[{test}]]")


def _take_captions(
    tree: HtmlElement, cfg: dict[str, Any], parts: PageParts, source: _Source
) -> None:
    """Image captions out of the tree into ``parts.captions``."""
    hits = _xpath_all(tree, cfg.get("caption_xpaths"))
    tables = []
    for el in _FIGCAPTIONS_AND_IMAGE_TABLES(tree):
        if el.tag == "figcaption":
            hits.append(el)
        else:
            tables.append(el)
    classes = tuple(c for c in _CAPTION_CLASSES if source.has(c))
    if classes:
        hits += [
            e
            for e in _class_xpath(classes)(tree)
            if e.tag not in ("body", "html") and len(_text(e)) <= _MAX_CAPTION_CHARS
        ]
    for table in tables:
        # an image table: the image in one row, its caption in another, little else
        text = _text(table)
        if text and len(text) <= _MAX_CAPTION_CHARS and not _INNER_TABLE(table):
            hits.append(table)
    for el in hits:
        text = _text(el)
        if text:
            parts.captions.append(text)
        _remove(el)


def _block_of(a: HtmlElement) -> HtmlElement | None:
    el = a.getparent()
    while el is not None and el.tag in _INLINE:
        el = el.getparent()
    return el


def _headline(a: HtmlElement) -> str | None:
    """The text of a link to another page that reads like a headline (20 characters, 4 words
    or more), else None. The cheap test of the link target comes first; the text is collapsed
    (single spaces, no spaces at the ends), so its words are its spaces plus one."""
    href = a.get("href") or ""
    if not href or href.startswith(("#", "javascript")):
        return None
    text = _text(a)
    if len(text) < 20 or text.count(" ") < 3:
        return None
    return text


def _take_related_blocks(tree: HtmlElement, cfg: dict[str, Any], parts: PageParts) -> None:
    """Profile related blocks and any block that is mostly headline links to other pages."""
    for el in _xpath_all(tree, cfg.get("related_xpaths")):
        _collect_links(el, parts)
        _remove(el)
    # the headline of every link, read once: valid until a removed block sits inside a link
    # (removing a block changes the text of its ancestors only)
    headlines: dict[HtmlElement, str | None] | None = {}
    groups: dict[HtmlElement, list[HtmlElement]] = {}
    for a in tree.iter("a"):
        title = headlines[a] = _headline(a)
        if title is None:
            continue
        block = _block_of(a)
        if block is not None and block.tag not in ("body", "html"):
            groups.setdefault(block, []).append(a)
    for block, anchors in groups.items():
        if block.getparent() is None:
            continue
        if headlines is None:
            link_chars = sum(len(_text(a)) for a in anchors)
        else:
            link_chars = sum(len(headlines[a] or "") for a in anchors)
        total = len(_text(block))
        if not total:
            continue
        several = len(anchors) >= 2 and link_chars / total >= 0.8
        # one headline alone in its own box (not a paragraph): a single related link
        alone = len(anchors) == 1 and block.tag in _BOX_TAGS and link_chars / total >= 0.95
        if several or alone:
            _collect_links(block, parts, headlines)
            if headlines is not None and any(anc.tag == "a" for anc in block.iterancestors()):
                headlines = None
            _remove(block)


def _collect_links(
    el: HtmlElement, parts: PageParts, headlines: dict[HtmlElement, str | None] | None = None
) -> None:
    for a in el.iter("a"):
        title = headlines[a] if headlines is not None and a in headlines else _headline(a)
        if title and title not in parts._seen_titles:
            parts._seen_titles.add(title)
            parts.related_titles.append(title)
            parts.related_links.append(a.get("href"))


_NON_CONTENT = re.compile(r"nav|menu|header|breadcrumb|sidebar", re.I)
# article text that must come before a related heading for everything after it to be cut
_MIN_TEXT_BEFORE_CUT = 300
# sentence-sized text nodes before an element (scripts and styles aside): the reference for
# _text_before (the XPath reads every text node before the element, even once the sum is met)
_SENTENCES_BEFORE = etree.XPath(
    "preceding::text()[string-length(normalize-space(.)) >= 60]"
    "[not(parent::script or parent::style or parent::noscript)]"
)
_MIN_SENTENCE_CHARS = 60
_XML_SPACE = re.compile(r"[ \t\n\r]+")  # the whitespace of XPath's normalize-space
_NOT_TEXT = frozenset(["script", "style", "noscript"])


def _sentence_chars(text: str | None, owner: Any) -> int:
    """``len(text)`` if ``_SENTENCES_BEFORE`` counts a text node of element tag ``owner``."""
    if (
        not text
        or len(text) < _MIN_SENTENCE_CHARS  # normalising never lengthens
        or owner in _NOT_TEXT
        or len(_XML_SPACE.sub(" ", text).strip(" ")) < _MIN_SENTENCE_CHARS
    ):
        return 0
    return len(text)


def _texts_backwards(el: HtmlElement) -> Iterator[tuple[str | None, Any]]:
    """(text, tag of the element holding it) of the text nodes inside ``el`` (its tail
    excluded), last first; iterative, so a deep tree does not exhaust the stack."""
    stack = [(el, reversed(el))]
    while stack:
        parent, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            yield parent.text, parent.tag
            continue
        yield child.tail, parent.tag
        if isinstance(child.tag, str):  # a comment's text is no text node
            stack.append((child, reversed(child)))


def _text_before(el: HtmlElement, enough: int) -> bool:
    """Whether the text nodes ``_SENTENCES_BEFORE`` selects for ``el`` add up to ``enough``
    characters: the same nodes, read from ``el`` backwards and only until the sum is met (the
    article's last paragraphs, usually, instead of the whole page before it)."""
    total = 0
    node, parent = el, el.getparent()
    while parent is not None:
        for sib in node.itersiblings(preceding=True):
            total += _sentence_chars(sib.tail, parent.tag)
            if total >= enough:
                return True
            if isinstance(sib.tag, str):
                for text, owner in _texts_backwards(sib):
                    total += _sentence_chars(text, owner)
                    if total >= enough:
                        return True
        total += _sentence_chars(parent.text, parent.tag)
        if total >= enough:
            return True
        node, parent = parent, parent.getparent()
    return False


class _Source:
    """The page source, lower-cased on first use: ``has`` tells whether a word occurs in it at
    all (a cheap filter before a tree search), and the page is lower-cased only when a search
    found something to confirm."""

    __slots__ = ("_html", "_low")

    def __init__(self, html: str) -> None:
        self._html = html
        self._low: str | None = None

    def has(self, word: str) -> bool:
        if self._low is None:
            self._low = self._html.lower()
        return word in self._low


@dataclass(frozen=True)
class _HeadingIndex:
    """What ``_heading_elements`` needs of a list of headings, worked out once per list."""

    # normalised first text -> the headings it is a variant of (as written or upper-cased,
    # with or without a colon)
    variants: dict[str, tuple[str, ...]]
    # the first characters of the variants: a first text that starts (spaces aside) with none
    # of them is no heading (None when a heading is empty: then there is no such filter)
    initials: frozenset[str] | None


@lru_cache(maxsize=32)
def _heading_index(headings: tuple[str, ...]) -> _HeadingIndex:
    variants: dict[str, tuple[str, ...]] = {}
    for h in headings:
        for v in (h, h + ":", h.upper(), h.upper() + ":"):
            if h not in variants.get(v, ()):
                variants[v] = (*variants.get(v, ()), h)
    initials = frozenset(v[0] for v in variants) if all(h.split() for h in headings) else None
    return _HeadingIndex(variants, initials)


def _heading_elements(
    tree: HtmlElement, source: _Source, headings: tuple[str, ...]
) -> list[HtmlElement]:
    """Elements under ``<body>`` whose own first text node is one of the headings (as written,
    upper-cased, with a colon), whitespace normalised: what the XPath
    ``//body//*[normalize-space(text())=...]`` selects; only headings that occur in the
    lower-cased page source count.

    The tree is walked once; a first text is normalised and compared only when its first
    character (spaces aside) starts a variant, and the page source is searched only for the
    headings of the elements found (the XPath form compared every element with every variant:
    a quarter of the clean time; testing each heading against the source first, a few percent).
    """
    index = _heading_index(headings)
    initials = index.initials
    out: list[HtmlElement] = []
    for body in tree.iter("body"):
        for el in body.iterdescendants("*"):  # elements only (no comments or PIs)
            text = el.text
            if text is None:  # the first text node is the tail of a child, if any
                for child in el:
                    if child.tail is not None:
                        text = child.tail
                        break
            if not text:
                continue
            if initials is not None:
                first = text[0]
                if first.isspace():
                    first = text.lstrip()[:1]
                if first not in initials:
                    continue
            of = index.variants.get(" ".join(text.split()))
            if of and any(source.has(h.lower()) for h in of):
                out.append(el)
    return out


def _in_non_content(el: HtmlElement) -> bool:
    for anc in el.iterancestors():
        if anc.tag in ("nav", "header") or _NON_CONTENT.search(
            f"{anc.get('class', '')} {anc.get('id', '')}"
        ):
            return True
    return False


def _cut_from_related_headings(
    tree: HtmlElement, source: _Source, headings: tuple[str, ...], parts: PageParts
) -> None:
    """Everything from the first related-news heading after the article text on is cut.

    A heading qualifies when its block holds nothing else, it is not in a menu or page header,
    and enough paragraph text precedes it (so a sidebar box printed before the article is not
    taken for the end of the article).
    """
    checks = 0
    for heading in _heading_elements(tree, source, headings):
        block = heading
        while block.tag in _INLINE_TEXT and block.getparent() is not None:
            block = block.getparent()
        if block.tag in ("body", "html") or len(_text(block)) > 40 or _in_non_content(heading):
            continue
        checks += 1
        if checks > _MAX_HEADING_CHECKS:  # each check walks the page: a flood of headings
            return
        if not _text_before(heading, _MIN_TEXT_BEFORE_CUT):
            continue
        el = block
        while el is not None and el.tag not in ("body", "html"):
            for sib in list(el.itersiblings()):
                _collect_links(sib, parts)
                el.getparent().remove(sib)
            el = el.getparent()
        _remove(block)
        return


def prune(tree: HtmlElement, cfg: dict[str, Any], html: str = "") -> PageParts:
    source = _Source(html)
    parts = PageParts()
    for el in _xpath_all(tree, cfg.get("drop_xpaths")):
        _remove(el)
    headings = tuple(cfg.get("related_headings") or rules.DEFAULT_RELATED_HEADINGS)
    _cut_from_related_headings(tree, source, headings, parts)
    _take_captions(tree, cfg, parts, source)
    _take_related_blocks(tree, cfg, parts)
    parts.lead = _lead(tree, cfg, source)
    return parts


_LEAD_WORDS = ("sapo", "chapo", "lead", "standfirst", "summary")
_LEAD_CLASS = re.compile(r"(^|[\s_-])(sapo|chapo|lead|standfirst|summary)([\s_-]|$)", re.I)
_MIN_LEAD_CHARS = 60


_LEAD_IN_SOURCE = re.compile(
    r"""class\s*=\s*["'][^"']*(?:sapo|chapo|lead|standfirst|summary)""", re.I
)


_LEAD_TAGS = frozenset(["div", "p", "h2", "section", "span"])
_IN_ASIDE_OR_FOOTER = etree.XPath("ancestor::*[self::aside or self::footer]")


def _lead(tree: HtmlElement, cfg: dict[str, Any], source: _Source) -> str | None:
    """The article's lead (sapo), which extractors tend to leave out when it sits outside the
    body container; from the profile's ``lead_xpath`` or a lead/sapo class name."""
    if cfg.get("lead_xpath"):
        hits = _xpath_all(tree, cfg["lead_xpath"])
    else:
        words = tuple(w for w in _LEAD_WORDS if source.has(w))
        if not words:
            return None
        hits = [
            e
            for e in _class_xpath(words)(tree)
            if e.tag in _LEAD_TAGS and _LEAD_CLASS.search(e.get("class", ""))
        ]
    for el in hits:
        if _in_non_content(el) or _IN_ASIDE_OR_FOOTER(el):
            continue
        text = _text(el)
        links = sum(len(_text(a)) for a in el.iter("a"))
        if len(text) >= _MIN_LEAD_CHARS and links < 0.5 * len(text):
            return text
    return None


# --- extraction -----------------------------------------------------------------------------


def _trafilatura_config():
    """trafilatura's defaults, except that a short article (a few short paragraphs) is kept as
    extracted: with the default 250-character minimum trafilatura falls back to a baseline that
    returns the whole page (menu, share tools, tags, related headlines) as one run-together line."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "60")
    return config


_TRAFILATURA_CONFIG = _trafilatura_config()


def _extractor_options(fast: bool) -> Extractor:
    """The ``Extractor`` that ``trafilatura.extract(..., include_comments=False, fast=fast,
    config=_TRAFILATURA_CONFIG)`` builds on every call, built once (its constructor reads the
    config through configparser: a tenth of trafilatura's time on a short page)."""
    return Extractor(config=_TRAFILATURA_CONFIG, fast=fast, comments=False)


_OPTIONS = {fast: _extractor_options(fast) for fast in (True, False)}


def _extract(scope: HtmlElement, url: str | None, fast: bool) -> str | None:
    """``trafilatura.extract(scope, url=url, include_comments=False, fast=fast,
    config=_TRAFILATURA_CONFIG)`` with the prebuilt options; only the URL differs per call
    (set as ``Extractor.__init__`` sets it)."""
    options = copy(_OPTIONS[fast])
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return trafilatura.extract(scope, options=options)


def _looks_like_page_dump(text: str, title: str) -> bool:
    """A result that is the page's text run together: a long line that starts with the title
    (trafilatura's baseline when it finds no article structure)."""
    ntitle = rules.norm(title)
    if not ntitle:
        return False
    return any(
        len(line) > len(title) + 80 and rules.norm(line).startswith(ntitle)
        for line in text.split("\n")
    )


def _extract_lines(
    tree: HtmlElement, cfg: dict[str, Any], url: str | None, title: str = ""
) -> list[str]:
    scope = tree
    if cfg.get("body_xpath"):
        hits = _xpath_all(tree, cfg["body_xpath"])
        if hits:
            scope = hits[0]
    text = _extract(scope, url, fast=True) or ""
    if len(text) < _MIN_BODY_CHARS:
        # a short result: let trafilatura compare with its fallback extractors, unless what
        # comes back is the whole page run together
        fallback = _extract(scope, url, fast=False)
        if fallback and not _looks_like_page_dump(fallback, title):
            text = fallback
    if _looks_like_page_dump(text, title):
        text = ""  # no article structure found: the page is refused below, with the reason
    return [rules.collapse(x) for x in text.split("\n")]


def _drop_title_lines(lines: list[str], title: str) -> list[str]:
    """Leading lines that repeat the title or a part of it (kicker, heading)."""
    ntitle = rules.norm(title)
    while lines and ntitle:
        first = rules.norm(lines[0])
        if (
            first
            and (first == ntitle or (len(first) >= 3 and first in ntitle and len(lines[0]) <= 120))
            or not first
        ):
            lines = lines[1:]
        else:
            break
    return lines


@dataclass
class HtmlResult:
    cleaned: Cleaned
    published: datetime | None
    canonical_url: str | None
    related_links: list[str]


def clean_html(
    content: str, url: str | None, cfg: dict[str, Any], keys: frozenset[str]
) -> HtmlResult:
    tree = parse_html(content)
    defuse(tree)
    head = HeadMeta.read(tree)
    title = _title(tree, head, cfg) or ""
    author = _author(tree, head, cfg)
    published = _published(tree, head, cfg, url)
    canonical = head.canonical
    parts = prune(tree, cfg, content)
    lead = parts.lead
    lines = _extract_lines(tree, cfg, url, title)
    rules.check_text_size(sum(len(x) for x in lines), title)
    lines = _drop_title_lines(lines, title)
    if lead and rules.norm(lead)[:80] not in rules.norm(" ".join(lines[:5])):
        lines.insert(0, lead)
    cleaned = clean_body_lines(
        lines,
        title,
        keys,
        known_related=parts.related_titles,
        known_captions=parts.captions,
        glued_by_shape=False,
        image_titles=False,
    )
    cleaned.author = author or cleaned.author
    return HtmlResult(cleaned, published, canonical, parts.related_links)
