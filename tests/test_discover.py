"""Discovery against listings, feeds and sitemaps served on loopback by tests/faultsite.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tasks.discover import discover_candidates
from tests.faultsite import FaultSite
from union_news.discovery import (
    VN_TZ,
    discover,
    normalize_url,
    parse_date,
    related_candidates,
)
from union_news.fetching import Fetcher
from union_news.models import CleanArticle
from union_news.profiles import SourceProfile

FAST = {
    "fetch": {
        "connect_timeout_s": 1.0,
        "read_timeout_s": 0.5,
        "max_retries": 1,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.02,
    }
}
PATTERN = r"^https?://[^/]+/[a-z0-9-]+-\d+\.html$"
NEWEST = datetime(2024, 3, 31, 9, 15, tzinfo=VN_TZ)


def make_profile(base: str, **discover_spec) -> SourceProfile:
    spec = {"listings": [], "feeds": [], "sitemaps": [], "article_url_pattern": PATTERN}
    spec.update(discover_spec)
    return SourceProfile(
        name="fault",
        hosts=["127.0.0.1"],
        allow_private_addresses=True,
        discover=spec,
        fetch={"min_delay_s": 0.0},
    )


def article_path(n: int) -> str:
    return f"/bai-viet-so-{n}-{2000 + n}.html"


def published(n: int) -> datetime:
    return NEWEST - timedelta(days=n)


def listing_html(base: str, numbers: list[int], page: int, last: int, text_dates: bool) -> str:
    stories = []
    for n in numbers:
        when = published(n)
        stamp = when.strftime("%d/%m/%Y %H:%M")
        date_html = (
            f'<span class="date">Thứ {when.weekday() + 2}, {stamp}</span>'
            if text_dates
            else f'<time datetime="{when.isoformat()}">{stamp}</time>'
        )
        stories.append(
            f'<article class="story"><a class="thumb" href="{article_path(n)}"><img src="/t.jpg"></a>'
            f'<h2><a href="{base}{article_path(n)}?utm_source=home">Bài viết số {n} về công đoàn</a>'
            f"</h2>{date_html}<p>Tóm tắt bài {n}.</p></article>"
        )
    nxt = f'<a rel="next" href="/cong-doan/p{page + 1}">Trang sau</a>' if page < last else ""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Công đoàn</title></head>
<body><header><nav class="main-menu"><a href="/cong-doan">Công đoàn</a>
<a href="/tin-nong-99999.html">Tin nóng</a></nav></header>
<main><div class="list">{"".join(stories)}</div>
<div class="paging"><a href="/cong-doan/hoat-dong">Hoạt động</a>{nxt}</div>
<p><a href="http://evil.example/bai-la-1.html">Trang khác</a>
<a href="http://10.0.0.7/noi-bo-1.html">Nội bộ</a></p></main>
<aside class="sidebar"><div class="box-most-read"><h3>Đọc nhiều</h3>
<a href="/doc-nhieu-nhat-88001.html">Bài đọc nhiều</a></div></aside>
<footer><a href="/lien-he-77001.html">Liên hệ</a></footer></body></html>"""


def serve_listing(
    site: FaultSite, count: int = 35, per_page: int = 10, text_dates: bool = False
) -> int:
    numbers = list(range(count))
    pages = -(-count // per_page)
    for page in range(1, pages + 1):
        chunk = numbers[(page - 1) * per_page : page * per_page]
        path = "/cong-doan" if page == 1 else f"/cong-doan/p{page}"
        site.add(path, listing_html(site.base_url, chunk, page, pages, text_dates))
    return pages


def run(site: FaultSite, profile: SourceProfile, since=None, until=None, settings=None):
    with Fetcher(profile, FAST) as fetcher:
        return discover(profile, fetcher, since, until, settings)


@pytest.fixture
def site():
    with FaultSite() as s:
        yield s


def urls(result) -> list[str]:
    return [c.url for c in result.candidates]


@pytest.mark.parametrize("text_dates", [False, True])
def test_listing_walk_stops_once_a_page_is_older_than_since(site, text_dates):
    serve_listing(site, text_dates=text_dates)
    profile = make_profile(
        site.base_url, listings=[site.url("/cong-doan")], pagination="{listing}/p{page}"
    )
    result = run(site, profile, since=date(2024, 3, 20), until=date(2024, 3, 25))
    # 2024-03-31 minus n days: days 25..20 are n = 6..11
    assert urls(result) == [site.url(article_path(n)) for n in range(6, 12)]
    assert result.pages_walked == 3 and not result.failures
    assert not site.hits_for("/cong-doan/p4")  # page 3 was all older than `since`
    first = result.candidates[0]
    assert first.title == "Bài viết số 6 về công đoàn" and first.source == "fault"
    assert first.published == published(6) and first.found_on == site.url("/cong-doan")


def test_listing_furniture_foreign_and_private_links_are_dropped(site):
    serve_listing(site, count=5)
    profile = make_profile(site.base_url, listings=[site.url("/cong-doan")])
    found = urls(run(site, profile))
    assert found == [site.url(article_path(n)) for n in range(5)]
    for bad in ("tin-nong", "doc-nhieu", "lien-he", "evil.example", "10.0.0.7", "hoat-dong"):
        assert not any(bad in u for u in found)


def test_page_cap_from_settings(site):
    serve_listing(site)
    profile = make_profile(
        site.base_url, listings=[site.url("/cong-doan")], pagination="{listing}/p{page}"
    )
    result = run(site, profile, settings={"discover": {"max_listing_pages": 2}})
    assert len(result.candidates) == 20 and result.pages_walked == 2
    assert not site.hits_for("/cong-doan/p3")


def test_end_of_pagination_is_not_a_failure(site):
    pages = serve_listing(site)
    profile = make_profile(
        site.base_url, listings=[site.url("/cong-doan")], pagination="{listing}/p{page}"
    )
    result = run(site, profile)
    assert len(result.candidates) == 35 and result.pages_walked == pages
    assert not result.failures
    assert site.hits_for(f"/cong-doan/p{pages + 1}")[0].status == 404


def test_rel_next_is_followed_without_a_template(site):
    serve_listing(site, count=25)
    profile = make_profile(site.base_url, listings=[site.url("/cong-doan")], pagination=None)
    result = run(site, profile)
    assert len(result.candidates) == 25 and result.pages_walked == 3


def test_failed_listing_is_reported_and_feeds_still_read(site):
    site.add("/cong-doan", "boom", status=500)
    feed = rss([(1, published(1)), (2, published(2))]).replace("{port}", str(site.port))
    site.add("/rss.xml", feed, "application/rss+xml")
    profile = make_profile(
        site.base_url, listings=[site.url("/cong-doan")], feeds=[site.url("/rss.xml")]
    )
    result = run(site, profile)
    assert [(f.url, f.error) for f in result.failures] == [(site.url("/cong-doan"), "http_500")]
    assert urls(result) == [site.url(article_path(1)), site.url(article_path(2))]


def test_robots_disallowed_listing_is_a_failure(site):
    site.robots = "User-agent: *\nDisallow: /cong-doan\n"
    serve_listing(site, count=3)
    profile = make_profile(site.base_url, listings=[site.url("/cong-doan")])
    result = run(site, profile)
    assert [f.error for f in result.failures] == ["robots"] and not result.candidates
    assert not site.hits_for("/cong-doan")


def rss(items: list[tuple[int, datetime | None]], extra: str = "") -> str:
    body = []
    for n, when in items:
        date_xml = f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S %z')}</pubDate>" if when else ""
        body.append(
            f"<item><title>Tin {n}</title><link>http://127.0.0.1:{{port}}{article_path(n)}</link>"
            f"{date_xml}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Công đoàn</title>'
        + "".join(body)
        + extra
        + "</channel></rss>"
    )


def test_rss_feed_window_and_filters(site):
    feed = rss(
        [(1, published(1)), (5, published(5)), (9, published(9)), (12, None)],
        extra="<item><title>Ngoài</title><link>http://evil.example/x-1.html</link></item>"
        "<item><title>Chuyên mục</title><link>http://127.0.0.1:{port}/cong-doan</link></item>",
    ).replace("{port}", str(site.port))
    site.add("/rss/cong-doan.rss", feed, "application/rss+xml; charset=utf-8")
    profile = make_profile(site.base_url, feeds=[site.url("/rss/cong-doan.rss")])
    result = run(site, profile, since=published(6).date(), until=published(2).date())
    # n=5 in the window, n=12 undated (kept), n=1 too new, n=9 too old
    assert urls(result) == [site.url(article_path(5)), site.url(article_path(12))]
    assert result.candidates[0].published == published(5)
    assert result.candidates[0].title == "Tin 5"
    assert result.candidates[1].published is None


def test_atom_feed(site):
    entries = "".join(
        f'<entry><title>Tin {n}</title><link rel="alternate" href="{site.url(article_path(n))}"/>'
        f"<published>{published(n).isoformat()}</published></entry>"
        for n in (3, 4)
    )
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>T</title><link rel="self" href="{site.url("/atom.xml")}"/>{entries}</feed>'
    )
    site.add("/atom.xml", atom, "application/atom+xml")
    result = run(site, make_profile(site.base_url, feeds=[site.url("/atom.xml")]))
    assert urls(result) == [site.url(article_path(3)), site.url(article_path(4))]
    assert result.candidates[1].published == published(4)


def test_sitemap_index_news_dates_and_lastmod_skip(site):
    old = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{site.url(article_path(30))}</loc><lastmod>2024-03-01</lastmod></url></urlset>"
    )
    news = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url><loc>{site.url(article_path(2))}</loc><lastmod>2024-03-30</lastmod><news:news>"
        f"<news:publication_date>{published(2).isoformat()}</news:publication_date>"
        "<news:title>Tin hai</news:title></news:news></url>"
        f"<url><loc>{site.url(article_path(25))}</loc><lastmod>2024-03-05</lastmod></url>"
        f"<url><loc>{site.url(article_path(3))}</loc></url>"
        f"<url><loc>{site.url('/cong-doan')}</loc></url></urlset>"
    )
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/sitemap-news.xml')}</loc><lastmod>2024-03-30</lastmod></sitemap>"
        f"<sitemap><loc>{site.url('/sitemap-old.xml')}</loc><lastmod>2024-03-01</lastmod></sitemap>"
        "<sitemap><loc>http://evil.example/sitemap.xml</loc></sitemap></sitemapindex>"
    )
    site.add("/sitemap.xml", index, "application/xml")
    site.add("/sitemap-news.xml", news, "text/xml")
    site.add("/sitemap-old.xml", old, "text/xml")
    profile = make_profile(site.base_url, sitemaps=[site.url("/sitemap.xml")])
    result = run(site, profile, since=date(2024, 3, 20), until=date(2024, 3, 31))
    assert urls(result) == [site.url(article_path(2)), site.url(article_path(3))]
    assert result.candidates[0].published == published(2)
    assert result.candidates[0].title == "Tin hai"
    assert not site.hits_for("/sitemap-old.xml")  # its lastmod is before the window
    assert result.pages_walked == 2


def test_listing_and_feed_duplicates_are_merged(site):
    serve_listing(site, count=3, text_dates=True)
    feed = rss([(1, None), (2, published(2))]).replace("{port}", str(site.port))
    feed = feed.replace(".html</link>", ".html?utm_source=rss#top</link>")
    site.add("/rss.xml", feed, "application/rss+xml")
    profile = make_profile(
        site.base_url, listings=[site.url("/cong-doan")], feeds=[site.url("/rss.xml")]
    )
    result = run(site, profile)
    assert urls(result) == [site.url(article_path(n)) for n in range(3)]
    assert result.candidates[1].published == published(1)  # from the listing
    assert result.candidates[1].found_on == site.url("/cong-doan")


def test_discover_task_makes_its_own_fetcher(site):
    serve_listing(site, count=4)
    profile = make_profile(site.base_url, listings=[site.url("/cong-doan")])
    result = discover_candidates.fn(profile, None, None, FAST)
    assert len(result.candidates) == 4 and result.pages_walked == 1


def test_related_candidates():
    profile = make_profile("http://127.0.0.1:1")
    article = CleanArticle(
        url="http://127.0.0.1:1/bai-chinh-1.html",
        title="T",
        text="x",
        related_links=[
            "/bai-lien-quan-2.html?utm_campaign=x",
            "http://127.0.0.1:1/bai-lien-quan-2.html",
            "/bai-chinh-1.html",
            "/da-biet-3.html",
            "http://evil.example/bai-4.html",
            "/chuyen-muc",
            "javascript:void(0)",
        ],
    )
    got = related_candidates(article, profile, exclude=["http://127.0.0.1:1/da-biet-3.html"])
    assert [c.url for c in got] == ["http://127.0.0.1:1/bai-lien-quan-2.html"]
    assert got[0].found_on == article.url and got[0].source == "fault"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thứ hai, 11/03/2024 08:30 (GMT+7)", datetime(2024, 3, 11, 8, 30, tzinfo=VN_TZ)),
        ("08:30 11/03/2024", datetime(2024, 3, 11, 8, 30, tzinfo=VN_TZ)),
        ("11-03-2024", datetime(2024, 3, 11, tzinfo=VN_TZ)),
        ("2024-03-11T01:30:00Z", datetime(2024, 3, 11, 8, 30, tzinfo=VN_TZ)),
        ("Mon, 11 Mar 2024 01:30:00 GMT", datetime(2024, 3, 11, 8, 30, tzinfo=VN_TZ)),
        ("Cập nhật lúc 2024-03-11 08:30", datetime(2024, 3, 11, 8, 30, tzinfo=VN_TZ)),
        ("32/13/2024", None),
        ("không có ngày", None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_normalize_url():
    assert (
        normalize_url("/a-1.html?utm_source=x&b=2#frag", "HTTP://Example.VN/x/")
        == "http://example.vn/a-1.html?b=2"
    )
    assert normalize_url("mailto:a@b.vn") is None and normalize_url("ftp://x/y") is None
    assert normalize_url("http://127.0.0.1:{port}/a-1.html") is None


def test_against_the_sample_site():
    sample_site = pytest.importorskip("union_news.sample_site")
    from union_news.profiles import load_profile

    with sample_site.SampleSite() as s:
        profile = load_profile("sample", base_url=s.base_url)
        with Fetcher(profile) as fetcher:
            result = discover(profile, fetcher, None, None)
            assert not result.failures
            assert set(urls(result)) == set(s.article_urls(include_special=True))
            assert all(c.published is not None for c in result.candidates)
            # listing pages, then the feed and the sitemap
            assert result.pages_walked == len(s.listing_urls()) + 2
            newest = max(c.published for c in result.candidates)
            day = newest.astimezone(VN_TZ).date()
            windowed = discover(profile, fetcher, day, day)
        assert windowed.candidates
        assert all(c.published.astimezone(VN_TZ).date() == day for c in windowed.candidates)
        assert windowed.pages_walked < result.pages_walked  # the walk stopped early
