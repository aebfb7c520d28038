"""HTML, RSS, sitemap and robots.txt of the sample site, built like laodongthudo.vn's pages.

An article page carries everything a real news page does around its text: menu, breadcrumbs,
share bar, run-together related headlines under the lead, images with captions (as ``<figure>``
and as image tables), the byline at the end of the body, tags, trailing related blocks with
teasers and time stamps, a most-read sidebar, a comment box and a footer. Headlines outside the
body carry figures on purpose: a cleaner that lets them through gives wrong metric rows.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape

from union_news.sample_site.model import Image, RelatedItem, SampleArticle, slugify

SITE_NAME = "Lao Động Thủ Đô (bản mẫu)"
CATEGORY_NAMES = {
    "cong-doan": "Công đoàn",
    "viec-lam": "Việc làm",
    "phap-luat": "Pháp luật",
    "xa-hoi": "Xã hội",
    "phong-su-anh": "Phóng sự ảnh",
}
_MENU = [
    ("/", "Trang chủ"),
    ("/thoi-su", "Thời sự"),
    ("/cong-doan", "Công đoàn"),
    ("/viec-lam", "Việc làm"),
    ("/phap-luat", "Pháp luật"),
    ("/xa-hoi", "Xã hội"),
    ("/van-hoa", "Văn hóa"),
    ("/the-thao", "Thể thao"),
    ("/ban-doc", "Bạn đọc"),
    ("/multimedia", "Multimedia"),
]
# Site-wide most-read box: headlines of other pages, with figures (never a metric of the page).
_MOST_READ = [
    "Hơn 3.200 công nhân khu công nghiệp được khám sức khỏe miễn phí",
    "Quận Đống Đa trao 650 suất quà cho người lao động dịp cuối năm",
    "Gần 90% doanh nghiệp ngoài nhà nước đã có tổ chức công đoàn",
    "Hà Nội: 1.200 việc làm mới tại phiên giao dịch việc làm tháng này",
    "Chi 2,4 tỷ đồng hỗ trợ đoàn viên xây, sửa mái ấm Công đoàn",
]
_WEEKDAYS = ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"]


def _url(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}{path}" if base_url else path


def _a(base_url: str, path: str, text: str, cls: str | None = None) -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<a{c} href="{escape(_url(base_url, path))}" title="{escape(text)}">{escape(text)}</a>'


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _stamp(dt: datetime) -> str:
    return dt.strftime("%d/%m/%Y %H:%M")


def _long_date(dt: datetime) -> str:
    return f"{_WEEKDAYS[dt.weekday()]}, {_stamp(dt)} (GMT+7)"


def category_name(category: str) -> str:
    return CATEGORY_NAMES.get(category, category.replace("-", " ").capitalize())


def _item_time(item: RelatedItem, host: SampleArticle) -> datetime:
    if item.published is not None:
        return item.published
    h = zlib.crc32(item.title.encode())
    return host.published - timedelta(days=1 + h % 40, minutes=h % 600)


def _head(title: str, base_url: str, path: str, extra: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} | {escape(SITE_NAME)}</title>
<link rel="canonical" href="{escape(_url(base_url, path))}">
<link rel="alternate" type="application/rss+xml" title="Công đoàn" href="{escape(_url(base_url, "/rss/cong-doan.rss"))}">
<link rel="stylesheet" href="{escape(_url(base_url, "/static/css/main.css"))}">
{extra}<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head>
"""


def _header(base_url: str, now: datetime, active: str | None) -> str:
    items = "".join(
        f"<li{' class=active' if p == '/' + (active or '') else ''}>{_a(base_url, p, t)}</li>"
        for p, t in _MENU
    )
    return f"""<body class="page">
<header class="site-header">
<div class="top-bar"><span class="today">{_WEEKDAYS[now.weekday()]}, {now:%d/%m/%Y}</span>
<span class="hotline">Đường dây nóng: 0243 824 8888</span>
<a class="login" href="{escape(_url(base_url, "/dang-nhap"))}">Đăng nhập</a></div>
<div class="brand"><a class="logo" href="{escape(_url(base_url, "/"))}"><img src="{escape(_url(base_url, "/static/logo.png"))}" alt="Lao Động Thủ Đô"></a>
<form class="search" action="{escape(_url(base_url, "/tim-kiem"))}"><input name="q" placeholder="Tìm kiếm"><button>Tìm</button></form></div>
<nav class="main-menu" aria-label="Chuyên mục"><ul>{items}</ul></nav>
<div class="sub-menu"><a href="{escape(_url(base_url, "/cong-doan/hoat-dong"))}">Hoạt động</a> <a href="{escape(_url(base_url, "/cong-doan/guong-sang"))}">Gương sáng</a> <a href="{escape(_url(base_url, "/cong-doan/chinh-sach"))}">Chính sách</a></div>
</header>
"""


def _sidebar(base_url: str) -> str:
    items = "".join(
        f'<li><span class="num">{i}</span>{_a(base_url, f"/{slugify(t)}-{80100 + i}.html", t)}</li>'
        for i, t in enumerate(_MOST_READ, 1)
    )
    return f"""<aside class="sidebar">
<div class="box-most-read"><h3 class="box-title">Đọc nhiều</h3><ol>{items}</ol></div>
<div class="banner"><a href="{escape(_url(base_url, "/quang-cao"))}"><img src="{escape(_url(base_url, "/static/banner-300x250.jpg"))}" alt="Quảng cáo"></a></div>
</aside>
"""


def _footer(base_url: str) -> str:
    return f"""<footer class="site-footer">
<nav class="footer-menu">{"".join(_a(base_url, p, t) for p, t in _MENU[1:])}</nav>
<div class="copyright"><p>Cơ quan chủ quản: Liên đoàn Lao động thành phố Hà Nội (bản mẫu dùng cho kiểm thử).</p>
<p>Giấy phép số 99/GP-TEST. Tòa soạn: số 10 phố Mẫu, Hà Nội. Điện thoại: 0243 000 0000.</p>
<p>© 2024 {escape(SITE_NAME)}. Ghi rõ nguồn khi phát hành lại thông tin từ website này.</p></div>
<a class="back-top" href="#top">Lên đầu trang</a>
</footer>
<script src="{escape(_url(base_url, "/static/js/main.js"))}"></script>
</body>
</html>
"""


def _image(base_url: str, img: Image, n: int, article: SampleArticle) -> str:
    src = escape(_url(base_url, f"/images/{article.published:%Y/%m}/{img.src}"))
    cap = escape(img.caption)
    if n % 2 == 0:
        return (
            f'<figure class="image align-center"><img src="{src}" alt="{cap}" width="800" '
            f'height="533" loading="lazy"><figcaption>{cap}</figcaption></figure>'
        )
    # the older CMS layout: an image table, the caption in its own row
    return (
        f'<table class="image center" align="center"><tbody><tr><td><img src="{src}" '
        f'alt="{cap}" width="800" height="533"></td></tr><tr><td class="image_desc">{cap}</td>'
        "</tr></tbody></table>"
    )


def _related_top(base_url: str, items: Sequence[RelatedItem]) -> str:
    if not items:
        return ""
    links = " ".join(_a(base_url, i.path, i.title) for i in items)
    return f'<div class="article-relate-top">{links}</div>\n'


def _related_block(
    base_url: str, heading: str, items: Sequence[RelatedItem], host: SampleArticle, n: int
) -> str:
    parts = []
    for item in items:
        when = _item_time(item, host)
        teaser = f'<p class="sapo">{escape(item.teaser)}</p>' if item.teaser else ""
        thumb = (
            f'<a class="thumb" href="{escape(_url(base_url, item.path))}"><img src="'
            f'{escape(_url(base_url, "/images/thumb/" + slugify(item.title)[:40] + ".jpg"))}" alt=""></a>'
        )
        parts.append(
            f'<article class="story">{thumb}<h3 class="story-title">{_a(base_url, item.path, item.title)}'
            f'</h3>{teaser}<div class="story-meta"><span class="cate">Hoạt động</span> '
            f'<time datetime="{_iso(when)}">{_stamp(when)}</time></div></article>'
        )
    cls = ["box-interest", "box-watch", "box-other"][n % 3]
    return (
        f'<section class="related-bottom {cls}"><h2 class="box-title">{escape(heading)}</h2>'
        f'<div class="list">{"".join(parts)}</div></section>\n'
    )


def render_article_html(article: SampleArticle, base_url: str = "") -> str:
    """The full page of ``article``; links are absolute when ``base_url`` is given."""
    a = article
    cat = category_name(a.category)
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.title,
        "datePublished": _iso(a.published),
        "dateModified": _iso(a.published),
        "mainEntityOfPage": _url(base_url, a.path),
        "publisher": {"@type": "Organization", "name": SITE_NAME},
    }
    if a.author:
        ld["author"] = {"@type": "Person", "name": a.author}
    desc = a.lead or a.title
    extra = (
        f'<meta name="description" content="{escape(desc)}">\n'
        f'<meta property="og:type" content="article">\n'
        f'<meta property="og:title" content="{escape(a.title)}">\n'
        f'<meta property="og:description" content="{escape(desc)}">\n'
        f'<meta property="og:url" content="{escape(_url(base_url, a.path))}">\n'
        f'<meta property="article:section" content="{escape(cat)}">\n'
        f'<meta property="article:published_time" content="{_iso(a.published)}">\n'
        + (f'<meta name="author" content="{escape(a.author)}">\n' if a.author else "")
        + f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>\n'
    )
    body: list[str] = []
    n_img = 0
    for block in a.blocks:
        if isinstance(block, Image):
            body.append(_image(base_url, block, n_img, a))
            n_img += 1
        else:
            body.append(f"<p>{escape(block)}</p>")
    if a.author:
        body.append(
            f'<p class="author-name" style="text-align: right;"><strong>{escape(a.author)}</strong></p>'
        )
    lead = (
        f'<div class="article-sapo sapo"><strong>{escape(a.lead)}</strong></div>\n'
        if a.lead
        else ""
    )
    bottom = "".join(
        _related_block(base_url, b.heading, b.items, a, i) for i, b in enumerate(a.related_bottom)
    )
    cat_path = f"/{a.category}"
    return (
        _head(a.title, base_url, a.path, extra)
        + _header(base_url, a.published, a.category)
        + f"""<main class="container">
<div class="breadcrumb">{_a(base_url, "/", "Trang chủ")} <span>›</span> {_a(base_url, cat_path, cat)} <span>›</span> <a href="{escape(_url(base_url, cat_path + "/hoat-dong"))}">Hoạt động</a></div>
<div class="main-col">
<article class="article-detail" id="article-{a.id}">
<h1 class="article-title">{escape(a.title)}</h1>
<div class="article-meta"><span class="cate">{escape(cat)}</span> <time class="publish-date" datetime="{_iso(a.published)}">{_long_date(a.published)}</time>
<div class="share-tools"><a class="fb" href="https://www.facebook.com/sharer/sharer.php">Chia sẻ</a> <a class="zalo" href="#zalo">Zalo</a> <a class="print" href="javascript:window.print()">In bài</a> <span class="font-size">A- A+</span></div></div>
{lead}{_related_top(base_url, a.related_top)}<div class="article-content" id="content">
{chr(10).join(body)}
</div>
<div class="article-tags"><span>Tags:</span> <a href="{escape(_url(base_url, "/tag/cong-doan"))}">công đoàn</a> <a href="{escape(_url(base_url, "/tag/nguoi-lao-dong"))}">người lao động</a></div>
{bottom}<div class="comment-box"><h3 class="box-title">Ý kiến bạn đọc</h3><form action="{escape(_url(base_url, "/binh-luan"))}" method="post"><textarea name="noi_dung" placeholder="Nhập ý kiến của bạn"></textarea><input name="ho_ten" placeholder="Họ tên"><button>Gửi</button></form></div>
</article>
</div>
{_sidebar(base_url)}</main>
"""
        + _footer(base_url)
    )


def listing_pages(articles: Sequence[SampleArticle], per_page: int = 10) -> int:
    return max(1, -(-len(articles) // per_page))


def listing_path(category: str, page: int) -> str:
    return f"/{category}" if page <= 1 else f"/{category}/p{page}"


def render_listing_html(
    articles: Sequence[SampleArticle],
    category: str,
    page: int = 1,
    per_page: int = 10,
    base_url: str = "",
) -> str | None:
    """Page ``page`` of a category listing, newest first; None past the last page."""
    items = sorted(
        (x for x in articles if x.category == category),
        key=lambda x: (x.published, x.id),
        reverse=True,
    )
    pages = listing_pages(items, per_page)
    if page < 1 or page > pages:
        return None
    chunk = items[(page - 1) * per_page : page * per_page]
    cat = category_name(category)
    stories = []
    for x in chunk:
        sapo = f'<p class="story-sapo">{escape(x.lead)}</p>' if x.lead else ""
        stories.append(
            f'<article class="story"><a class="story-thumb" href="{escape(_url(base_url, x.path))}">'
            f'<img src="{escape(_url(base_url, "/images/thumb/" + x.slug[:40] + ".jpg"))}" alt=""></a>'
            f'<h2 class="story-title">{_a(base_url, x.path, x.title)}</h2>'
            f'<time datetime="{_iso(x.published)}">{_stamp(x.published)}</time>{sapo}</article>'
        )
    nav = []
    if page > 1:
        nav.append(
            f'<a rel="prev" href="{escape(_url(base_url, listing_path(category, page - 1)))}">Trang trước</a>'
        )
    for p in range(1, pages + 1):
        if p == page:
            nav.append(f'<span class="active">{p}</span>')
        else:
            nav.append(f'<a href="{escape(_url(base_url, listing_path(category, p)))}">{p}</a>')
    if page < pages:
        nav.append(
            f'<a rel="next" href="{escape(_url(base_url, listing_path(category, page + 1)))}">Trang sau</a>'
        )
    path = listing_path(category, page)
    extra = ""
    if page < pages:
        extra += (
            f'<link rel="next" href="{escape(_url(base_url, listing_path(category, page + 1)))}">\n'
        )
    if page > 1:
        extra += (
            f'<link rel="prev" href="{escape(_url(base_url, listing_path(category, page - 1)))}">\n'
        )
    now = chunk[0].published if chunk else datetime(2024, 6, 30)
    return (
        _head(f"{cat} - Trang {page}" if page > 1 else cat, base_url, path, extra)
        + _header(base_url, now, category)
        + f"""<main class="container">
<div class="breadcrumb">{_a(base_url, "/", "Trang chủ")} <span>›</span> {_a(base_url, f"/{category}", cat)}</div>
<div class="main-col"><h1 class="cate-title">{escape(cat)}</h1>
<div class="list-news">
{chr(10).join(stories)}
</div>
<nav class="pagination">{" ".join(nav)}</nav>
</div>
{_sidebar(base_url)}</main>
"""
        + _footer(base_url)
    )


def render_home_html(articles: Sequence[SampleArticle], base_url: str = "") -> str:
    cats = sorted({a.category for a in articles})
    links = "".join(f"<li>{_a(base_url, f'/{c}', category_name(c))}</li>" for c in cats)
    now = max((a.published for a in articles), default=datetime(2024, 6, 30))
    return (
        _head("Trang chủ", base_url, "/")
        + _header(base_url, now, None)
        + f'<main class="container"><h1>{escape(SITE_NAME)}</h1><ul class="cates">{links}</ul></main>\n'
        + _footer(base_url)
    )


def render_not_found_html(base_url: str = "") -> str:
    return (
        _head("Không tìm thấy trang", base_url, "/404")
        + _header(base_url, datetime(2024, 6, 30), None)
        + '<main class="container"><h1>Không tìm thấy trang</h1><p>Trang bạn tìm không tồn tại '
        "hoặc đã bị gỡ bỏ.</p></main>\n" + _footer(base_url)
    )


def render_rss(articles: Sequence[SampleArticle], category: str, base_url: str = "") -> str:
    """RSS 2.0 feed of a category, newest first, with ``pubDate`` (RFC 822, +0700)."""
    items = sorted(
        (x for x in articles if x.category == category),
        key=lambda x: (x.published, x.id),
        reverse=True,
    )
    cat = category_name(category)
    entries = []
    for x in items:
        entries.append(
            f"<item><title>{escape(x.title)}</title><link>{escape(_url(base_url, x.path))}</link>"
            f"<description>{escape(x.lead or x.title)}</description>"
            f"<pubDate>{format_datetime(x.published)}</pubDate>"
            f'<guid isPermaLink="true">{escape(_url(base_url, x.path))}</guid></item>'
        )
    built = format_datetime(items[0].published) if items else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(cat)} - {escape(SITE_NAME)}</title>"
        f"<link>{escape(_url(base_url, '/' + category))}</link>"
        f"<description>Tin {escape(cat.lower())}</description><language>vi</language>"
        f"<lastBuildDate>{built}</lastBuildDate>\n" + "\n".join(entries) + "\n</channel></rss>\n"
    )


def render_sitemap(articles: Sequence[SampleArticle], base_url: str = "") -> str:
    """XML sitemap: the listings, then every article with its ``lastmod``."""
    urls = [
        f"<url><loc>{escape(_url(base_url, '/' + c))}</loc><changefreq>hourly</changefreq></url>"
        for c in sorted({a.category for a in articles})
    ]
    for x in sorted(articles, key=lambda x: (x.published, x.id), reverse=True):
        urls.append(
            f"<url><loc>{escape(_url(base_url, x.path))}</loc><lastmod>{_iso(x.published)}</lastmod></url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(urls)
        + "\n</urlset>\n"
    )


def render_robots(base_url: str = "") -> str:
    return (
        "User-agent: *\nDisallow: /admin\nDisallow: /tim-kiem\nAllow: /\n\n"
        f"Sitemap: {_url(base_url, '/sitemap.xml')}\n"
    )
