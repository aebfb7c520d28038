"""The bundled sample site: article files, rendering and serving over real loopback HTTP."""

from __future__ import annotations

import shutil
import urllib.robotparser
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
import requests
from lxml import html as lxml_html

from union_news.catalog import default_catalog
from union_news.cleaning import CleaningError, clean_document
from union_news.cleaning.rules import norm
from union_news.profiles import load_profile
from union_news.sample_site import (
    ARTICLES_DIR,
    SampleFormatError,
    SampleSite,
    load_sample_articles,
    render_article_html,
)

DETAIL_METRICS = {"awards", "gifts", "money_vnd"}


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=5)


# --- article files --------------------------------------------------------------------------


def test_every_article_file_loads_and_validates(sample_articles):
    files = sorted(ARTICLES_DIR.glob("*.yaml"))
    assert len(sample_articles) == len(files) >= 3
    ids = [a.id for a in sample_articles]
    assert len(set(ids)) == len(ids)
    metrics = set(default_catalog().metrics)
    for a in sample_articles:
        assert a.path == f"/{a.slug}-{a.id}.html"
        assert str(a.published.tzinfo) == "Asia/Ho_Chi_Minh"
        assert datetime(2024, 1, 1) <= a.published.replace(tzinfo=None) < datetime(2025, 1, 1)
        assert a.related_titles, f"{a.id}: no related headlines on the page"
        for row in a.expected:
            assert row.metric in metrics
            assert row.article_url is None and row.organization
            if row.metric in DETAIL_METRICS:
                assert row.detail, f"{a.id}: {row.metric} {row.value} without detail"
        if a.kind == "article":
            assert a.paragraphs[0] == a.lead and len(a.paragraphs) >= 3
    paths = {a.id: a.path for a in sample_articles}
    for a in sample_articles:
        for item in [*a.related_top, *(i for b in a.related_bottom for i in b.items)]:
            if item.id is not None:
                assert item.id in paths, f"{a.id}: related item names unknown id {item.id}"
                assert item.path == paths[item.id]
    assert "no_article" in {a.kind for a in sample_articles}
    assert [a.id for a in load_sample_articles(kinds=("article",))] == [
        a.id for a in sample_articles if a.kind == "article"
    ]


def _copy(tmp_path: Path, n: int = 2) -> Path:
    d = tmp_path / "articles"
    d.mkdir()
    for f in sorted(ARTICLES_DIR.glob("*.yaml"))[:n]:
        shutil.copy(f, d / f.name)
    return d


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("metric: unions_total", "metric: unions_sum", "not in the catalog"),
        ("qualifier: exact", "qualifier: roughly", "qualifier"),
        ('published: "2024-01-05 08:30"', 'published: "5/1/2024"', "published"),
        ("id: 1001", "id: 1002", "does not match the file name"),
    ],
)
def test_a_broken_article_file_is_rejected_with_its_name(tmp_path, old, new, message):
    d = _copy(tmp_path)
    f = next(d.glob("1001-*.yaml"))
    text = f.read_text(encoding="utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SampleFormatError, match=message) as err:
        load_sample_articles(d)
    assert "1001-" in str(err.value)


def test_duplicate_ids_are_rejected(tmp_path):
    d = _copy(tmp_path, 1)
    src = next(d.glob("1001-*.yaml"))
    shutil.copy(src, d / src.name.replace(".yaml", "-ban-sao.yaml"))
    text = (d / src.name.replace(".yaml", "-ban-sao.yaml")).read_text(encoding="utf-8")
    (d / src.name.replace(".yaml", "-ban-sao.yaml")).write_text(
        text.replace(
            "slug: ldld-quan-long-bien-ket-nap-1126-doan-vien-nam-2023",
            "slug: ldld-quan-long-bien-ket-nap-1126-doan-vien-nam-2023-ban-sao",
        ),
        encoding="utf-8",
    )
    with pytest.raises(SampleFormatError, match="also used by"):
        load_sample_articles(d)


# --- cleaning the rendered pages ------------------------------------------------------------


def test_cleaned_pages_keep_the_body_and_leak_no_related_headline(sample_articles):
    base = "http://127.0.0.1:8000"
    profile = load_profile("sample", base_url=base)
    for a in sample_articles:
        if a.kind != "article":
            continue
        page = render_article_html(a, base)
        art = clean_document(page, url=base + a.path, profile=profile, content_type="text/html")
        body = norm(art.text)
        leaked = [t for t in a.related_titles if norm(t) in body]
        assert not leaked, f"{a.path}: related headlines in the body: {leaked}"
        assert not [c for c in a.captions if norm(c) in body], a.path
        assert art.paragraphs == a.paragraphs, a.path
        assert art.title == a.title and art.author == a.author
        assert art.published == a.published.replace(tzinfo=None)


def test_a_page_without_article_text_is_refused_by_the_cleaner(sample_articles):
    base = "http://127.0.0.1:8000"
    profile = load_profile("sample", base_url=base)
    special = [a for a in sample_articles if a.kind == "no_article"]
    assert special
    for a in special:
        page = render_article_html(a, base)
        assert a.captions and not a.paragraphs
        with pytest.raises(CleaningError):
            clean_document(page, url=base + a.path, profile=profile, content_type="text/html")


# --- serving --------------------------------------------------------------------------------


def _listing_items(page: str) -> list[tuple[str, str, datetime]]:
    tree = lxml_html.fromstring(page)
    out = []
    for story in tree.xpath("//div[@class='list-news']/article"):
        (a,) = story.xpath(".//h2/a")
        (t,) = story.xpath(".//time/@datetime")
        out.append((a.get("href"), a.text_content().strip(), datetime.fromisoformat(t)))
    return out


def test_listing_is_paginated_newest_first_and_lists_every_page(sample_site):
    arts = [a for a in sample_site.articles if a.category == "cong-doan"]
    url, seen, pages = sample_site.base_url + "/cong-doan", [], 0
    while url:
        r = get(url)
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
        items = _listing_items(r.text)
        assert 0 < len(items) <= sample_site.per_page
        seen += items
        pages += 1
        nxt = lxml_html.fromstring(r.text).xpath("//nav[@class='pagination']/a[@rel='next']/@href")
        url = nxt[0] if nxt else None
        if url:
            assert url == f"{sample_site.base_url}/cong-doan/p{pages + 1}"
    assert pages == -(-len(arts) // sample_site.per_page) == len(sample_site.listing_urls())
    assert sorted(h for h, _, _ in seen) == sorted(sample_site.url(a.path) for a in arts)
    dates = [d for _, _, d in seen]
    assert dates == sorted(dates, reverse=True)
    by_url = {sample_site.url(a.path): a for a in arts}
    assert all(by_url[h].title == t and by_url[h].published == d for h, t, d in seen)
    assert get(f"{sample_site.base_url}/cong-doan/p{pages + 1}").status_code == 404
    assert (
        get(f"{sample_site.base_url}/cong-doan/p1").text
        == get(sample_site.base_url + "/cong-doan").text
    )


def test_page_size_and_articles_dir_can_be_overridden(tmp_path):
    d = _copy(tmp_path, 3)
    with SampleSite(articles_dir=d, per_page=2) as site:
        base = site.base_url
        assert len(site.articles) == 3
        assert site.listing_urls() == [
            site.base_url + "/cong-doan",
            site.base_url + "/cong-doan/p2",
        ]
        assert len(_listing_items(get(site.base_url + "/cong-doan/p2").text)) == 1
    assert not site.running
    with pytest.raises(requests.ConnectionError):
        get(base + "/cong-doan")


def test_rss_feed_lists_every_article_with_its_pubdate(sample_site):
    r = get(sample_site.base_url + "/rss/cong-doan.rss")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(r.content).find("channel")
    items = channel.findall("item")
    by_url = {sample_site.url(a.path): a for a in sample_site.articles}
    assert sorted(i.findtext("link") for i in items) == sorted(by_url)
    for item in items:
        a = by_url[item.findtext("link")]
        assert item.findtext("title") == a.title
        assert parsedate_to_datetime(item.findtext("pubDate")) == a.published


def test_sitemap_and_robots(sample_site):
    r = get(sample_site.base_url + "/sitemap.xml")
    assert r.status_code == 200
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = {
        u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
        for u in ET.fromstring(r.content).findall("s:url", ns)
    }
    for a in sample_site.articles:
        assert datetime.fromisoformat(locs[sample_site.url(a.path)]) == a.published
    robots = get(sample_site.base_url + "/robots.txt")
    assert robots.headers["Content-Type"].startswith("text/plain")
    rp = urllib.robotparser.RobotFileParser()
    rp.parse(robots.text.splitlines())
    assert rp.can_fetch("union-news", sample_site.url(sample_site.articles[0].path))
    assert rp.can_fetch("union-news", sample_site.base_url + "/cong-doan/p2")
    assert not rp.can_fetch("union-news", sample_site.base_url + "/admin/login")
    assert rp.site_maps() == [sample_site.base_url + "/sitemap.xml"]


def test_article_pages_support_conditional_get(sample_site):
    a = sample_site.articles[0]
    url = sample_site.url(a.path)
    r = get(url)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.text == render_article_html(a, sample_site.base_url)
    etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert parsedate_to_datetime(modified) == a.published
    again = get(url, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert get(url, **{"If-None-Match": '"other"'}).status_code == 200
    assert get(url, **{"If-Modified-Since": modified}).status_code == 304
    older = format_datetime(a.published - timedelta(days=1), usegmt=False)
    assert get(url, **{"If-Modified-Since": older}).status_code == 200
    seen = [rec for rec in sample_site.requests if rec.path == a.path]
    assert [rec.status for rec in seen[-5:]] == [200, 304, 200, 304, 200]


def test_unknown_paths_are_404(sample_site):
    for path in ("/khong-co-bai-nay-9999.html", "/admin", "/cong-doan/p99", "/rss/xyz.rss"):
        r = get(sample_site.base_url + path)
        assert r.status_code == 404, path
        assert "Không tìm thấy trang" in r.text
    head = requests.head(sample_site.url(sample_site.articles[0].path), timeout=5)
    assert head.status_code == 200 and head.content == b""
