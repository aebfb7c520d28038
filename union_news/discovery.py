"""Discovery: the article URLs a source offers for a date window.

Three kinds of index are read, all through the profile's :class:`~union_news.fetching.Fetcher`
(so robots.txt, rate limits and host rules hold for them too):

* category listings, walked back page by page until every dated item on a page is older than
  ``since`` (or a page cap, or a page with nothing new);
* RSS/Atom feeds (items with their dates);
* XML sitemaps and sitemap indexes (``news:publication_date`` when given; ``lastmod`` only to skip
  what cannot be in the window).

URLs are normalised with courlan, kept only on the profile's hosts and when they match
``discover.article_url_pattern``; items dated outside [since, until] are dropped, undated ones
kept (the clean stage reads the page's own date); duplicates are merged.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import courlan
from lxml import etree, html

from union_news.fetching import Fetcher
from union_news.models import Candidate, CleanArticle, FetchedPage, FetchFailure
from union_news.profiles import SourceProfile
from union_news.settings import load_settings

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no DST in Vietnam
MAX_SITEMAPS = 50  # documents read from one sitemap index tree

# Listing links inside these are site furniture (menus, most-read boxes, related blocks).
_FURNITURE_TAGS = {"nav", "header", "footer", "aside"}
_FURNITURE_CLASS = re.compile(
    r"(^|[\s_-])(nav|menu|sidebar|side-bar|footer|header|most-read|mostread|doc-nhieu|"
    r"widget|related|banner|breadcrumb|tags?)($|[\s_-])",
    re.I,
)
_DMY = re.compile(
    r"(?:(\d{1,2}):(\d{2})\D{0,6})?\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b(?:\D{0,6}(\d{1,2}):(\d{2}))?"
)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")


@dataclass
class DiscoveryResult:
    """What discovery found: candidates in the window, index pages that failed, pages read."""

    candidates: list[Candidate] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    pages_walked: int = 0


# -- URLs ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def normalize_url(url: str, base: str | None = None) -> str | None:
    """Absolute, courlan-normalised URL without fragment; None for non-http(s) links."""
    url = (url or "").strip()
    if not url or url.startswith(("javascript:", "mailto:", "tel:", "#", "data:")):
        return None
    if base:
        url = urljoin(base, url)
    return _normalize_absolute(url)


@lru_cache(maxsize=65_536)
def _normalize_absolute(url: str) -> str | None:
    """The part of ``normalize_url`` that depends on the absolute URL alone, cached: a site's
    menu, listing and feed links repeat the same URLs on every page."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    try:
        norm = courlan.normalize_url(url, strict=False)
    except Exception:  # noqa: BLE001 - courlan raises on odd ports and hosts
        norm = url
    return norm.split("#")[0]


class _Filter:
    def __init__(self, profile: SourceProfile):
        self.profile = profile
        pattern = (profile.discover or {}).get("article_url_pattern")
        self.pattern = re.compile(pattern) if pattern else None

    def article(self, url: str | None) -> bool:
        if not url or not self.profile.allows_host(urlsplit(url).hostname):
            return False
        return self.pattern is None or self.pattern.match(url) is not None


# -- dates ---------------------------------------------------------------------------------------


def parse_date(text: str | None) -> datetime | None:
    """A datetime from ISO 8601, RFC 822 or Vietnamese ``dd/mm/yyyy [hh:mm]`` text (naive = +07)."""
    if not text:
        return None
    text = text.strip()
    dt: datetime | None = None
    with contextlib.suppress(ValueError):
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt is None and re.match(r"^[A-Za-z]{3},|^\d{1,2} [A-Za-z]{3} \d{4}", text):
        try:
            dt = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            dt = None
    if dt is None and (m := _ISO.search(text)):
        y, mo, d, hh, mm, ss = m.groups()
        dt = _safe_dt(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    if dt is None and (m := _DMY.search(text)):
        h1, m1, d, mo, y, h2, m2 = m.groups()
        hh, mm = (h1, m1) if h1 else (h2, m2)
        dt = _safe_dt(int(y), int(mo), int(d), int(hh or 0), int(mm or 0))
    if dt is None:
        return None
    return dt.replace(tzinfo=VN_TZ) if dt.tzinfo is None else dt


def _safe_dt(*parts: int) -> datetime | None:
    try:
        return datetime(*parts)
    except ValueError:
        return None


def local_day(dt: datetime) -> date:
    return (dt.astimezone(VN_TZ) if dt.tzinfo else dt).date()


def in_window(dt: datetime | None, since: date | None, until: date | None) -> bool:
    if dt is None:
        return True
    day = local_day(dt)
    return (since is None or day >= since) and (until is None or day <= until)


# -- parsing index documents ---------------------------------------------------------------------


@dataclass
class _Item:
    url: str
    title: str | None = None
    published: datetime | None = None


def _is_furniture(el: Any) -> bool:
    for anc in el.iterancestors():
        if not isinstance(anc.tag, str):
            continue
        if anc.tag in _FURNITURE_TAGS:
            return True
        marks = f"{anc.get('class', '')} {anc.get('id', '')}"
        if marks.strip() and _FURNITURE_CLASS.search(marks):
            return True
    return False


def _item_date(el: Any) -> datetime | None:
    for t in el.iter("time"):
        if dt := parse_date(t.get("datetime")) or parse_date(t.text_content()):
            return dt
    for attr in ("data-time", "data-date", "datetime"):
        for node in el.xpath(f".//*[@{attr}]"):
            if dt := parse_date(node.get(attr)):
                return dt
    return parse_date(" ".join(el.xpath(".//text()[not(ancestor::a)]"))[:2000])


def parse_listing(
    text: str, page_url: str, profile: SourceProfile
) -> tuple[list[_Item], str | None]:
    """Article items of a listing page (URL, title, date from the item box) and its next page."""
    try:
        tree = html.fromstring(text, base_url=page_url)
    except (etree.ParserError, ValueError):
        return [], None
    keep = _Filter(profile)
    xpath = (profile.discover or {}).get("article_link_xpath")
    anchors = tree.xpath(xpath) if xpath else tree.xpath("//a[@href]")
    by_url: dict[str, list[Any]] = {}
    for a in anchors:
        if not isinstance(getattr(a, "tag", None), str) or a.get("href") is None:
            continue
        url = normalize_url(a.get("href"), page_url)
        if not keep.article(url) or (not xpath and _is_furniture(a)):
            continue
        by_url.setdefault(url, []).append(a)
    items = []
    for url, links in by_url.items():
        box = _item_box(links[0], url, page_url, keep)
        titles = [" ".join(a.text_content().split()) or (a.get("title") or "") for a in links]
        title = max(titles, key=len) or None
        items.append(_Item(url, title, _item_date(box) if box is not None else None))
    return items, _next_link(tree, page_url)


def _item_box(a: Any, url: str, page_url: str, keep: _Filter) -> Any:
    """The largest ancestor of a link that holds no other article link: the listing item."""
    box = None
    node = a.getparent()
    while node is not None and node.tag not in ("body", "html"):
        hrefs = {normalize_url(h, page_url) for h in node.xpath(".//a/@href")}
        if any(h != url and keep.article(h) for h in hrefs if h):
            break
        box = node
        node = node.getparent()
    return box


def _next_link(tree: Any, page_url: str) -> str | None:
    for href in tree.xpath("//link[@rel='next']/@href | //a[@rel='next']/@href"):
        if url := normalize_url(href, page_url):
            return url
    return None


def _xml_root(text: str) -> Any:
    data = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1).encode("utf-8")
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child_text(el: Any, *names: str) -> str | None:
    for name in names:
        for child in el:
            if _local(child) == name and (child.text or "").strip():
                return child.text.strip()
    return None


def parse_feed(text: str, feed_url: str) -> list[_Item]:
    """Items of an RSS 2.0, RSS 1.0 (RDF) or Atom feed."""
    root = _xml_root(text)
    if root is None:
        return []
    items: list[_Item] = []
    for el in root.iter():
        name = _local(el)
        if name == "item":
            link = _child_text(el, "link") or _guid_link(el)
            date_text = _child_text(el, "pubDate", "date", "published", "updated")
        elif name == "entry":
            link = _atom_link(el)
            date_text = _child_text(el, "published", "updated", "issued", "modified")
        else:
            continue
        url = normalize_url(link or "", feed_url)
        if url:
            title = _child_text(el, "title")
            items.append(
                _Item(url, " ".join(title.split()) if title else None, parse_date(date_text))
            )
    return items


def _guid_link(el: Any) -> str | None:
    for child in el:
        if _local(child) == "guid" and child.get("isPermaLink", "true") != "false":
            return (child.text or "").strip() or None
    return None


def _atom_link(el: Any) -> str | None:
    for child in el:
        if _local(child) == "link" and child.get("rel", "alternate") == "alternate":
            return child.get("href")
    return None


def parse_sitemap(
    text: str, sitemap_url: str
) -> tuple[list[tuple[_Item, datetime | None]], list[tuple[str, datetime | None]]]:
    """(article items with their lastmod, child sitemaps with their lastmod) of a sitemap."""
    root = _xml_root(text)
    if root is None:
        return [], []
    items, children = [], []
    for el in root:
        kind = _local(el)
        if kind not in ("url", "sitemap"):
            continue
        url = normalize_url(_child_text(el, "loc") or "", sitemap_url)
        if not url:
            continue
        lastmod = parse_date(_child_text(el, "lastmod"))
        if kind == "sitemap":
            children.append((url, lastmod))
            continue
        published = title = None
        for news in el.iter():
            if _local(news) == "publication_date":
                published = parse_date(news.text)
            elif _local(news) == "title" and news is not el:
                title = " ".join((news.text or "").split()) or None
        items.append((_Item(url, title, published), lastmod))
    return items, children


# -- the walk ------------------------------------------------------------------------------------


class _Collector:
    def __init__(self, profile: SourceProfile, since: date | None, until: date | None):
        self.profile, self.since, self.until = profile, since, until
        self.keep = _Filter(profile)
        self.found: dict[str, Candidate] = {}
        self.result = DiscoveryResult()

    def add(self, item: _Item, found_on: str) -> None:
        if not self.keep.article(item.url) or not in_window(item.published, self.since, self.until):
            return
        have = self.found.get(item.url)
        if have is None:
            self.found[item.url] = Candidate(
                url=item.url,
                source=self.profile.name,
                title=item.title,
                published=item.published,
                found_on=found_on,
            )
            return
        have.title = have.title or item.title
        have.published = have.published or item.published

    def get(self, fetcher: Fetcher, url: str, *, quiet_404: bool = False) -> FetchedPage | None:
        got = fetcher.fetch(url)
        if isinstance(got, FetchFailure):
            if not (quiet_404 and got.error in ("http_404", "http_410")):
                self.result.failures.append(got)
            return None
        self.result.pages_walked += 1
        return got


def _page_url(template: str | None, listing: str, page: int) -> str | None:
    if page == 1:
        return listing
    if not template:
        return None
    return template.format(listing=listing.rstrip("/"), page=page)


def _walk_listing(col: _Collector, fetcher: Fetcher, listing: str, cap: int) -> None:
    template = (col.profile.discover or {}).get("pagination")
    seen_pages: set[str] = set()
    seen_items: set[str] = set()
    next_url: str | None = listing
    for page in range(1, cap + 1):
        url = _page_url(template, listing, page) if template else next_url
        if not url or url in seen_pages:
            return
        seen_pages.add(url)
        got = col.get(fetcher, url, quiet_404=page > 1)
        if got is None or got.text is None:
            return
        items, next_url = parse_listing(got.text, got.final_url or url, col.profile)
        fresh = [it for it in items if it.url not in seen_items]
        if not fresh:
            return  # past the last page, or a site that serves page 1 for any page number
        for it in fresh:
            seen_items.add(it.url)
            col.add(it, url)
        dated = [it.published for it in fresh if it.published is not None]
        if col.since is not None and dated and all(local_day(d) < col.since for d in dated):
            return


def _read_feed(col: _Collector, fetcher: Fetcher, feed: str) -> None:
    got = col.get(fetcher, feed)
    if got is not None and got.text:
        for item in parse_feed(got.text, got.final_url or feed):
            col.add(item, feed)


def _read_sitemaps(col: _Collector, fetcher: Fetcher, roots: Iterable[str]) -> None:
    queue = list(roots)
    done: set[str] = set()
    while queue and len(done) < MAX_SITEMAPS:
        url = queue.pop(0)
        if url in done:
            continue
        done.add(url)
        got = col.get(fetcher, url)
        if got is None or not got.text:
            continue
        items, children = parse_sitemap(got.text, got.final_url or url)
        for item, lastmod in items:
            if lastmod is not None and col.since is not None and local_day(lastmod) < col.since:
                continue  # last changed before the window opened: published before it too
            col.add(item, url)
        for child, lastmod in children:
            if lastmod is not None and col.since is not None and local_day(lastmod) < col.since:
                continue
            if col.profile.allows_host(urlsplit(child).hostname):
                queue.append(child)


def discover(
    profile: SourceProfile,
    fetcher: Fetcher,
    since: date | None,
    until: date | None,
    settings: dict[str, Any] | None = None,
) -> DiscoveryResult:
    """Candidates of ``profile`` dated in [since, until] (undated ones kept), newest sources first:
    listings, then feeds, then sitemaps; each URL once."""
    conf = dict(load_settings().get("discover", {}))
    if settings and "discover" in settings:
        conf.update(settings["discover"] or {})
    spec = profile.discover or {}
    cap = int(spec.get("max_pages") or conf.get("max_listing_pages", 50))
    col = _Collector(profile, since, until)
    for listing in spec.get("listings") or []:
        _walk_listing(col, fetcher, listing, cap)
    for feed in spec.get("feeds") or []:
        _read_feed(col, fetcher, feed)
    if spec.get("sitemaps"):
        _read_sitemaps(col, fetcher, spec["sitemaps"])
    col.result.candidates = list(col.found.values())
    return col.result


def related_candidates(
    article: CleanArticle, profile: SourceProfile, exclude: Iterable[str] = ()
) -> list[Candidate]:
    """Candidates from an article's related-headline links (for ``discover.follow_related``):
    normalised, on the profile's hosts, matching its article pattern, without the article itself
    and without ``exclude`` (URLs already known)."""
    keep = _Filter(profile)
    skip = {normalize_url(u) for u in exclude}
    skip.add(normalize_url(article.url))
    if article.canonical_url:
        skip.add(normalize_url(article.canonical_url))
    out: dict[str, Candidate] = {}
    for link in article.related_links:
        url = normalize_url(link, article.url)
        if url and url not in skip and url not in out and keep.article(url):
            out[url] = Candidate(url=url, source=profile.name, found_on=article.url)
    return list(out.values())
