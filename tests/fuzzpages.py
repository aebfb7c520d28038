"""Hostile pages for the clean and extract stages: generators and the per-page check.

Used by ``tests/test_fuzz.py`` (hypothesis drives the ``random.Random`` the generators take, so
failures replay and shrink) and ``bench/fuzz.py`` (a longer seeded run).
The contract checked on every page: ``clean_document`` either returns an article or raises
``CleaningError`` with a reason (the page is quarantined and logged); nothing else is raised;
clean plus extract stay within a bounded CPU time; the rows go through the quality suite, where
each ends kept or quarantined with a reason.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from union_news.cleaning import CleaningError, clean_document
from union_news.extraction import extract_metrics
from union_news.models import CleanArticle, MetricRow

BASE_URL = "http://127.0.0.1:8765"
PAGE_CPU_SECONDS = 5.0  # clean + extract of one page of up to a few megabytes

# Original Vietnamese, written for these tests (trade-union news register).
WORDS = [
    "Công",
    "đoàn",
    "LĐLĐ",
    "huyện",
    "quận",
    "Gia",
    "Lâm",
    "Ba",
    "Đình",
    "Thanh",
    "Trì",
    "Tổng",
    "Liên",
    "đoàn",
    "Lao",
    "động",
    "Việt",
    "Nam",
    "đoàn",
    "viên",
    "kết",
    "nạp",
    "mới",
    "thành",
    "lập",
    "công",
    "đoàn",
    "cơ",
    "sở",
    "trao",
    "tặng",
    "suất",
    "quà",
    "trị",
    "giá",
    "triệu",
    "tỷ",
    "nghìn",
    "đồng",
    "năm",
    "nhiệm",
    "kỳ",
    "đạt",
    "kế",
    "hoạch",
    "hơn",
    "gần",
    "khoảng",
    "trên",
    "trở",
    "lên",
    "người",
    "lao",
    "động",
    "Bằng",
    "khen",
    "Giấy",
    "khen",
    "Cờ",
    "thi",
    "đua",
    "tập",
    "thể",
    "cá",
    "nhân",
    "Tết",
    "Sum",
    "vầy",
    "Mái",
    "ấm",
    "công",
    "đoàn",
    "hỗ",
    "trợ",
    "doanh",
    "nghiệp",
    "tổ",
    "chức",
    "hội",
    "nghị",
    "tổng",
    "kết",
    "phong",
    "trào",
    "thi",
    "đua",
    "Tin",
    "khác",
    "Xem",
    "thêm",
    "Có",
    "thể",
    "bạn",
    "quan",
    "tâm",
]
PUNCT = list(".,;:!?…“”\"'()-–/%|") + [" ", " ", " ", "\n", "\t", "\u00a0"]
ODD_CHARS = list("\x00\x01\x07\x08\x0b\x0c\x1b\x1f\x7f\u200b\u200e\u202e\ufeff\ufffd") + [
    "😀", "ا", "中", "Ж", "é", "é", "१", "٣", "۷", "１", "²",
]  # fmt: skip
TAGS = [
    "div",
    "p",
    "span",
    "a",
    "b",
    "strong",
    "em",
    "i",
    "h1",
    "h2",
    "h3",
    "ul",
    "ol",
    "li",
    "table",
    "tr",
    "td",
    "figure",
    "figcaption",
    "img",
    "br",
    "section",
    "article",
    "aside",
    "nav",
    "header",
    "footer",
    "main",
    "script",
    "style",
    "noscript",
    "iframe",
    "svg",
    "form",
    "time",
    "font",
    "center",
    "blockquote",
    "pre",
    "code",
    "meta",
    "link",
    "title",
    "head",
    "body",
    "html",
]
CLASSES = [
    "sapo",
    "article-sapo",
    "caption",
    "image_desc",
    "related",
    "tin-lien-quan",
    "article-content",
    "content",
    "breadcrumb",
    "sidebar",
    "menu",
    "author-name",
    "article-title",
    "lead",
    "summary",
    "box-title",
]

SAMPLE_ARTICLE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>Công đoàn quận Ba Đình trao 420 suất quà cho công nhân - Tin công đoàn</title>
<meta property="article:published_time" content="2024-01-28T09:15:00+07:00">
<script type="application/ld+json">{"@type": "NewsArticle", "author": {"name": "Thu Trang"}}</script>
</head><body>
<div class="menu"><a href="/">Trang chủ</a> <a href="/cong-doan">Công đoàn</a></div>
<article class="detail">
<h1>Công đoàn quận Ba Đình trao 420 suất quà cho công nhân</h1>
<div class="sapo">Chiều 27/1, LĐLĐ quận Ba Đình tổ chức chương trình Tết Sum vầy, trao 420 suất quà
cho đoàn viên, người lao động có hoàn cảnh khó khăn trên địa bàn quận.</div>
<div class="content">
<p>Mỗi suất quà gồm tiền mặt và nhu yếu phẩm trị giá 1 triệu đồng. Tổng kinh phí của chương trình
hơn 420 triệu đồng, do công đoàn cơ sở và các doanh nghiệp cùng đóng góp.</p>
<table class="image"><tr><td><img src="/anh/qua-tet.jpg"></td></tr>
<tr><td class="caption">Đại diện LĐLĐ quận trao quà cho công nhân.</td></tr></table>
<p>Trong năm 2023, LĐLĐ quận Ba Đình đã kết nạp 1.316 đoàn viên mới, đạt 109% kế hoạch, thành
lập 12 công đoàn cơ sở tại các doanh nghiệp ngoài nhà nước.</p>
<p>Dịp này, 15 tập thể và 27 cá nhân được tặng Giấy khen vì thành tích xuất sắc trong phong
trào thi đua năm 2023.</p>
<p class="author"><strong>Thu Trang</strong></p>
</div>
<div class="related"><h3>Tin liên quan</h3>
<ul><li><a href="/tin-1.html">Công nhân khu công nghiệp phấn khởi nhận quà Tết công đoàn</a></li>
<li><a href="/tin-2.html">Hơn 2.000 đoàn viên được hỗ trợ vé xe về quê đón Tết năm nay</a></li></ul>
</div>
</article>
<div class="footer">Cơ quan chủ quản: một tờ báo giả định dùng cho kiểm thử.</div>
</body></html>
"""


@dataclass
class PageOutcome:
    """What one page gave: an article and its rows, or the reason it was quarantined."""

    url: str
    article: CleanArticle | None = None
    rows: list[MetricRow] = field(default_factory=list)
    reason: str | None = None
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    chars: int = 0


def check_page(
    content: str, url: str, *, profile: Any = None, content_type: str | None = None
) -> PageOutcome:
    """Clean and extract one page; any exception but ``CleaningError`` propagates (a crash)."""
    out = PageOutcome(url=url, chars=len(content))
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        out.article = clean_document(content, url=url, profile=profile, content_type=content_type)
    except CleaningError as exc:
        out.reason = str(exc)
    if out.article is not None:
        out.rows = extract_metrics(out.article)
    out.cpu_seconds = time.process_time() - cpu
    out.wall_seconds = time.perf_counter() - wall
    return out


def page_problems(out: PageOutcome, limit: float = PAGE_CPU_SECONDS) -> list[str]:
    """Breaches of the per-page contract (empty when the page was handled correctly)."""
    problems = []
    if out.article is None and not (out.reason and out.reason.strip()):
        problems.append("quarantined without a reason")
    if out.cpu_seconds > limit:
        problems.append(
            f"{out.cpu_seconds:.2f} s CPU for {out.chars:,} characters (limit {limit} s)"
        )
    if out.article is not None:
        text = out.article.clean_text
        for row in out.rows:
            if row.article_url != out.url:
                problems.append(f"row for {row.article_url!r}, not {out.url!r}")
            if text[row.evidence_start : row.evidence_end] != row.evidence:
                problems.append(f"evidence offsets do not match: {row.evidence[:60]!r}")
    return problems


def quality_problems(outcomes: list[PageOutcome]) -> tuple[list[str], dict[str, int]]:
    """Validate every article and row produced; nothing may vanish or be held back silently."""
    from union_news.quality import validate_batch

    articles = [o.article for o in outcomes if o.article is not None]
    rows = [r for o in outcomes for r in o.rows]
    report = validate_batch(articles, rows, data_docs_dir="")
    held_rows = [q for q in report.quarantined if q.kind == "metric"]
    held_articles = [q for q in report.quarantined if q.kind == "article"]
    problems = [f"expectation error: {e}" for e in report.errors]
    if len(report.rows_ok) + len(held_rows) != len(rows):
        problems.append(f"{len(rows)} rows in, {len(report.rows_ok)} kept + {len(held_rows)} held")
    if len(report.articles_ok) + len(held_articles) != len(articles):
        problems.append(
            f"{len(articles)} articles in, {len(report.articles_ok)} kept "
            f"+ {len(held_articles)} held"
        )
    problems += [
        f"quarantined without a reason: {q.row}"
        for q in report.quarantined
        if not (q.reason and q.expectation and q.suite)
    ]
    counts = {
        "articles": len(articles),
        "rows": len(rows),
        "rows_ok": len(report.rows_ok),
        "rows_quarantined": len(held_rows),
        "articles_quarantined": len(held_articles),
    }
    return problems, counts


# ---------------------------------------------------------------- plain generators (no hypothesis)


def number_spellings(rnd: random.Random) -> str:
    """A figure as a page might (mis)write it."""
    digits = "0123456789"
    kind = rnd.randrange(10)
    if kind == 0:  # hundreds of dots
        return ".".join(rnd.choice(digits) * rnd.randint(1, 3) for _ in range(rnd.randint(2, 400)))
    if kind == 1:  # giant digit strings
        return "".join(rnd.choice(digits) for _ in range(rnd.randint(20, 6000)))
    if kind == 2:  # 1,8 tỷ and friends
        mult = rnd.choice(["tỷ", "tỉ", "triệu", "nghìn", "ngàn", "tỷ 200 triệu", "TỶ"])
        sep = rnd.choice([",", ".", ", ", " ,", ""])
        return f"{rnd.randint(0, 999)}{sep}{rnd.randint(0, 99)}{rnd.choice([' ', '', '  '])}{mult}"
    if kind == 3:
        return f"{rnd.randint(0, 10**6)}/{rnd.randint(0, 10**6)}"
    if kind == 4:
        return f"{rnd.randint(0, 999)}{rnd.choice([' ', ''])}%"
    if kind == 5:
        return f"{rnd.randint(0, 999)} {rnd.choice(['-', '–', 'đến'])} {rnd.randint(0, 999)}"
    if kind == 6:  # other scripts' digits
        return "".join(rnd.choice("٠١٢٣٤٥٦٧٨٩１２３४५۷²") for _ in range(rnd.randint(1, 8)))
    if kind == 7:
        return f"{rnd.choice(['-', '+', '−'])}{rnd.randint(0, 10**9):,}".replace(",", ".")
    if kind == 8:
        return ",".join(str(rnd.randint(0, 999)) for _ in range(rnd.randint(2, 300)))
    return f"{rnd.randint(0, 10**4):,}".replace(",", ".")


def random_text(rnd: random.Random, tokens: int) -> str:
    parts = []
    for _ in range(tokens):
        r = rnd.random()
        if r < 0.6:
            parts.append(rnd.choice(WORDS))
        elif r < 0.75:
            parts.append(number_spellings(rnd))
        elif r < 0.93:
            parts.append(rnd.choice(PUNCT))
        else:
            parts.append(rnd.choice(ODD_CHARS))
        parts.append(rnd.choice([" ", " ", " ", "", "\n"]))
    return "".join(parts)


def random_html(rnd: random.Random, tokens: int) -> str:
    out = ["<html><body>"] if rnd.random() < 0.7 else []
    for _ in range(tokens):
        r = rnd.random()
        tag = rnd.choice(TAGS)
        if r < 0.3:
            attrs = ""
            if rnd.random() < 0.4:
                attrs += f' class="{" ".join(rnd.sample(CLASSES, rnd.randint(1, 3)))}"'
            if rnd.random() < 0.2:
                attrs += f' href="/{rnd.choice(WORDS)}-{rnd.randint(1, 9999)}.html"'
            if rnd.random() < 0.03:
                attrs += f' title="{"x" * rnd.randint(1000, 200_000)}"'
            out.append(f"<{tag}{attrs}>")
        elif r < 0.5:
            out.append(f"</{tag}>")
        elif r < 0.9:
            out.append(random_text(rnd, rnd.randint(1, 40)))
        else:
            out.append(
                rnd.choice(
                    [
                        "<!-- bình luận -->",
                        "<![CDATA[x]]>",
                        "&amp;",
                        "&#0;",
                        "&#xD800;",
                        "&#99999999;",
                        "&nbsp;",
                        "<script>var s = '<p>Tin khác</p>';</script>",
                        "<style>p{}</style>",
                        "<br/>",
                        "<img src=x onerror=alert(1)>",
                        "<!doctype html>",
                        "</html>",
                        "<",
                        '<script type="application/ld+json">{"author": "\\ud800\\u0000"}</script>',
                        '<meta property="article:published_time" content="9999-99-99">',
                    ]
                )
            )
    return "".join(out)


def mutate(page: str, rnd: random.Random, count: int) -> str:
    """Byte and tag mutations of a page; the bytes decoded as UTF-8 with errors='replace'."""
    data = bytearray(page.encode("utf-8"))
    for _ in range(count):
        op = rnd.randrange(9)
        pos = rnd.randrange(len(data) + 1)
        if op == 0:  # random bytes (broken UTF-8 included)
            data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 40)))
        elif op == 1:
            del data[pos : pos + rnd.randint(1, 400)]
        elif op == 2 and data:  # a slice repeated
            end = min(len(data), pos + rnd.randint(1, 300))
            data[pos:pos] = data[pos:end] * rnd.randint(2, 50)
        elif op == 3:  # deep nesting
            data[pos:pos] = f"<{rnd.choice(TAGS)}>".encode() * rnd.randint(10, 3000)
        elif op == 4:  # closing tags dropped
            data = bytearray(bytes(data).replace(f"</{rnd.choice(TAGS)}>".encode(), b""))
        elif op == 5:
            data = data[:pos]  # truncated download
        elif op == 6:  # control characters and NUL
            data[pos:pos] = bytes(rnd.choice([0, 1, 8, 11, 12, 27, 31, 127]) for _ in range(20))
        elif op == 7:  # a hostile figure spliced in
            data[pos:pos] = f" {number_spellings(rnd)} ".encode()
        else:  # a whole tag swapped for another
            data = bytearray(
                bytes(data).replace(
                    f"<{rnd.choice(TAGS)}".encode(), f"<{rnd.choice(TAGS)}".encode()
                )
            )
    return bytes(data).decode("utf-8", errors="replace")


def sample_pages() -> list[tuple[str, str]]:
    """(url, html) of the bundled sample site's article pages, and this module's own page."""
    pages = [(f"{BASE_URL}/bai-mau-1.html", SAMPLE_ARTICLE)]
    try:
        from union_news.sample_site import load_sample_articles, render_article_html
    except ImportError:  # pragma: no cover - the sample site is part of the package
        return pages
    for article in load_sample_articles():
        pages.append((BASE_URL + article.path, render_article_html(article, BASE_URL)))
    return pages


def sample_profile() -> Any:
    from union_news.profiles import load_profile

    return load_profile("sample", base_url=BASE_URL)


def giant_pages() -> dict[str, tuple[str, str | None]]:
    """Named pages of about a megabyte built to hit each known slow or fragile path."""
    para = (
        "<p>Năm 2023, LĐLĐ huyện Gia Lâm đã kết nạp 1.250 đoàn viên mới, đạt 110% kế hoạch, "
        "trao 300 suất quà trị giá 150 triệu đồng.</p>"
    )
    body = para * 3
    mb = 1_000_000
    text_head = "Công đoàn huyện Gia Lâm kết nạp đoàn viên\n"
    return {
        "deep nesting 5,000": ("<html><body>" + "<div>" * 5000 + body + "</div>" * 5000, None),
        "deep nesting unclosed": ("<html><body>" + "<span><div>" * 5000 + body, None),
        "megabyte line": ("<html><body><p>" + "chữ " * (mb // 4) + "</p>" + body, None),
        "megabyte line no spaces": ("<html><body><p>" + "a" * mb + "</p>" + body, None),
        "megabyte of tags": ("<p>" * (mb // 3), None),
        "script flood": (
            "<html><body>" + "<script>var a='<p>x</p>';</script>" * 25_000 + body,
            None,
        ),
        "style flood": (
            "<html><head>" + "<style>p{color:red}</style>" * 30_000 + "</head><body>" + body,
            None,
        ),
        "huge class attribute": (
            "<html><body><div class='" + "sapo " * (mb // 5) + "'>" + body,
            None,
        ),
        "huge href": (
            "<html><body>"
            + body
            + "<div><a href='"
            + "x" * mb
            + "'>Tin công đoàn về việc trao quà cho đoàn viên</a></div>",
            None,
        ),
        "NUL flood": ("<html><body>" + para.replace(" ", "\x00 ") * 2000, None),
        "control characters": ("<html><body>" + "".join(ODD_CHARS) * 20_000 + body, None),
        "broken UTF-8": (
            (b"<html><body>" + bytes(range(128, 256)) * 4000 + para.encode() * 3).decode(
                "utf-8", errors="replace"
            ),
            None,
        ),
        "related heading flood": ("<html><body>" + "<div>Tin khác</div>" * 9_900 + body, None),
        "link flood": (
            "<html><body>"
            + body
            + "<div>"
            + "".join(
                f"<a href='/t{i}'>Tin công đoàn số {i} về việc trao quà cho đoàn viên</a>"
                for i in range(9_900)
            )
            + "</div>",
            None,
        ),
        "JSON-LD nested 100,000": (
            "<html><head><script type='application/ld+json'>{\"author\": "
            + "[" * 50_000
            + "]" * 50_000
            + "}</script></head><body>"
            + body,
            None,
        ),
        "dotted number 5,000 dots": (
            text_head + "LĐLĐ huyện Gia Lâm kết nạp " + ".".join("1" * 5001) + "x đoàn viên.\n",
            "text/plain",
        ),
        "dotted numbers megabyte": (
            text_head + ("Kết nạp " + ".".join("12" * 40) + "x đoàn viên. ") * 7000,
            "text/plain",
        ),
        "giant digit string": (
            text_head + "LĐLĐ huyện Gia Lâm kết nạp " + "9" * 100_000 + " đoàn viên mới.\n",
            "text/plain",
        ),
        "1,8 tỷ variants": (
            text_head
            + " ".join(
                f"LĐLĐ huyện Gia Lâm hỗ trợ 1{s}8 {m} đồng cho đoàn viên."
                for s in (",", ".", ", ", "")
                for m in ("tỷ", "tỉ", "triệu", "nghìn", "tỷ 200 triệu")
            )
            * 200,
            "text/plain",
        ),
        "figures without sentence end": (text_head + "3 suất quà " * 18_000, "text/plain"),
        "megabyte text": (
            text_head + "LĐLĐ huyện Gia Lâm trao 3 suất quà. " * 28_000,
            "text/plain",
        ),
        "mixed scripts": (
            text_head + "Công đoàn 中文 عربى Ж 😀 kết nạp ١٢٣ đoàn viên, đạt ٣٠% kế hoạch. " * 3000,
            "text/plain",
        ),
        "glued headline line": (
            text_head + "xa Ba " * 30_000 + "|\n" + "Kết nạp 3 đoàn viên.\n",
            "text/plain",
        ),
    }
