"""Tests of the clean stage on fixtures written for the project, the seeds and the sample site."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from union_news.cleaning import CleaningError, clean_document, is_html
from union_news.cleaning.rules import (
    is_name_like,
    is_timestamp,
    looks_like_glued_headlines,
    norm,
    split_glued_headlines,
)
from union_news.profiles import load_profile

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

LEAD = (
    "Sáng 12/3, Công đoàn phường Hồng Hà tổ chức hội nghị sơ kết quý I với sự tham dự của "
    "120 đại biểu đến từ các công đoàn cơ sở trên địa bàn."
)
PARA_1 = (
    "Trong quý, các công đoàn cơ sở đã kết nạp 245 đoàn viên mới, đạt 61% kế hoạch năm. "
    "Nhiều đơn vị chủ động đến từng doanh nghiệp để tuyên truyền."
)
PARA_2 = (
    "Bà Trần Thu Hà, Chủ tịch Công đoàn phường cho biết, năm nay đơn vị đặt mục tiêu thành lập "
    "thêm 5 công đoàn cơ sở trong khu vực ngoài nhà nước."
)
RELATED_1 = "Công đoàn phường Hồng Hà trao 300 suất quà cho công nhân khó khăn"
RELATED_2 = "Hội thi nấu ăn ngon dành cho nữ đoàn viên khối doanh nghiệp"
RELATED_3 = "Ra mắt câu lạc bộ cán bộ công đoàn trẻ của quận Ba Đình"
CAPTION = "Đại biểu biểu quyết thông qua nghị quyết hội nghị."
TITLE = "Công đoàn phường Hồng Hà: Kết nạp 245 đoàn viên mới trong quý I"


def _text_page(*, glued: str, trailing: bool = True, byline: str | None = "Minh Khang") -> str:
    lines = [
        "Công đoàn phường Hồng Hà:",
        "",
        "Kết nạp 245 đoàn viên mới trong quý I",
        "",
        LEAD,
        glued,
        "",
        PARA_1,
        "![]() |",
        f"{CAPTION} |",
        PARA_2,
    ]
    if byline:
        lines.append(byline)
    if trailing:
        lines += [
            "Có thể bạn quan tâm",
            "Nên xem",
            "",
            RELATED_1,
            "",
            RELATED_1,
            "",
            "Trong dịp này, nhiều phần quà đã được trao tận tay người lao động có hoàn cảnh khó khăn "
            "tại các khu nhà trọ của phường.",
            "Tin khác",
            "",
            RELATED_3,
            "Hoạt động 12/03/2025 21:40",
            "Xem thêm",
            "Phiên bản di động",
        ]
    return "\n".join(lines)


# --- plain text -----------------------------------------------------------------------------


def test_plain_text_removes_boilerplate_and_keeps_body():
    page = _text_page(glued=f"{RELATED_1} {RELATED_2} {RELATED_3}")
    art = clean_document(page, url="file:///x.txt")
    assert art.title == TITLE
    assert art.paragraphs == [LEAD, PARA_1, PARA_2]
    assert art.author == "Minh Khang"
    assert art.captions == [CAPTION]
    for title in (RELATED_1, RELATED_2, RELATED_3):
        assert norm(title) not in norm(art.text)
        assert title in art.related_titles
    assert art.clean_text.split("\n")[0] == TITLE


def test_plain_text_glued_line_with_pipe_and_no_trailing_blocks():
    page = _text_page(glued=f"{RELATED_2} {RELATED_3} |", trailing=False, byline=None)
    art = clean_document(page)
    assert art.paragraphs == [LEAD, PARA_1, PARA_2]
    assert art.author is None
    assert norm(RELATED_2) not in norm(art.text)


def test_image_title_line_and_its_caption_are_removed():
    text = "\n".join(
        [
            TITLE,
            "",
            LEAD,
            "",
            "Kết nạp 245 đoàn viên mới trong quí I",
            CAPTION,
            "",
            PARA_1,
            "",
            PARA_2,
        ]
    )
    art = clean_document(text)
    assert art.paragraphs == [LEAD, PARA_1, PARA_2]
    assert CAPTION in art.captions


def test_subheading_after_lead_is_kept():
    subheading = "Nhiều cách làm mới"
    text = "\n".join([TITLE, LEAD, subheading, PARA_1, PARA_2])
    assert clean_document(text).paragraphs == [LEAD, subheading, PARA_1, PARA_2]


def test_inline_read_more_line_goes_to_related():
    text = "\n".join([TITLE, LEAD, f"Xem thêm: {RELATED_2}", PARA_1])
    art = clean_document(text)
    assert art.paragraphs == [LEAD, PARA_1]
    assert RELATED_2 in art.related_titles


def test_empty_or_boilerplate_only_page_raises():
    with pytest.raises(CleaningError):
        clean_document("   \n  ")
    with pytest.raises(CleaningError, match="no article body"):
        clean_document("Tiêu đề\nTin khác\n" + RELATED_1)


# --- rules ----------------------------------------------------------------------------------


def test_split_glued_headlines_at_capitalised_starts():
    assert split_glued_headlines(f"{RELATED_1} {RELATED_2} {RELATED_3}") == [
        RELATED_1,
        RELATED_2,
        RELATED_3,
    ]


def test_sentences_are_not_glued_headlines():
    assert not looks_like_glued_headlines(LEAD)
    assert not looks_like_glued_headlines(PARA_1)
    assert looks_like_glued_headlines(f"{RELATED_1} {RELATED_2}")


@pytest.mark.parametrize(
    "line", ["Minh Khang", "Nguyễn Thị Lan (tổng hợp)", "Bài và ảnh: Hoàng Nam"]
)
def test_bylines(line):
    assert is_name_like(line)


@pytest.mark.parametrize("line", [LEAD, "Nhiều cách làm mới", "Năm 2025", "Công đoàn"])
def test_not_bylines(line):
    assert not is_name_like(line)


def test_timestamps():
    assert is_timestamp("Hoạt động 20/04/2025 22:49")
    assert is_timestamp("Hội Đoàn thể 28/07/2025 18:35")
    assert not is_timestamp(PARA_1)


def test_html_detection():
    assert is_html("<!DOCTYPE html><html><body></body></html>")
    assert is_html("anything", "text/html; charset=utf-8")
    assert not is_html(_text_page(glued=RELATED_1))
    assert not is_html("<p>ignored</p>", "text/plain")


# --- HTML -----------------------------------------------------------------------------------


def _html_page() -> str:
    related = "".join(
        f'<a href="/tin-{i}.html">{t}</a>' for i, t in enumerate((RELATED_1, RELATED_2, RELATED_3))
    )
    return f"""<!DOCTYPE html><html lang="vi"><head><title>{TITLE} | Báo Thử</title>
<meta property="article:published_time" content="2025-03-12T09:15:00+07:00">
<link rel="canonical" href="https://bao.example/ket-nap-245-doan-vien-1.html">
</head><body>
<nav><a href="/">Trang chủ</a> <a href="/cong-doan">Công đoàn</a></nav>
<article>
<h1>{TITLE}</h1>
<p class="sapo"><b>{LEAD}</b></p>
<div class="related-inline">{related}</div>
<p>{PARA_1}</p>
<table class="image"><tr><td><img src="/a.jpg"></td></tr><tr><td>{CAPTION}</td></tr></table>
<p>{PARA_2}</p>
<p style="text-align:right"><strong>Minh Khang</strong></p>
</article>
<div class="box"><h3>Tin khác</h3><ul>
<li><a href="/tin-9.html">{RELATED_3}</a> <span>Hoạt động 12/03/2025 21:40</span></li>
</ul></div>
<footer><p>Phiên bản di động</p></footer>
</body></html>"""


def test_html_page_is_cleaned_with_metadata():
    art = clean_document(_html_page(), url="https://bao.example/ket-nap-245-doan-vien-1.html")
    assert art.title == TITLE
    assert art.paragraphs == [LEAD, PARA_1, PARA_2]
    assert art.author == "Minh Khang"
    assert art.published == datetime(2025, 3, 12, 9, 15)
    assert art.canonical_url == "https://bao.example/ket-nap-245-doan-vien-1.html"
    assert CAPTION in art.captions
    assert {RELATED_1, RELATED_2} <= set(art.related_titles)
    assert "/tin-0.html" in art.related_links
    for title in (RELATED_1, RELATED_2, RELATED_3):
        assert norm(title) not in norm(art.text)


def test_profile_xpaths_drop_and_select():
    profile = load_profile("laodongthudo.vn")
    profile.clean = {**profile.clean, "drop_xpaths": ["//p[@class='sapo']"]}
    art = clean_document(_html_page(), profile=profile, content_type="text/html")
    assert art.paragraphs == [PARA_1, PARA_2]


# --- seeds ----------------------------------------------------------------------------------


def _seed_scores():
    from eval.clean_eval import body_leaks, line_scores

    meta = json.loads((SHARED / "seeds-gold" / "meta.json").read_text(encoding="utf-8"))
    matched = predicted = gold = leaks = 0
    for path in sorted((SHARED / "seeds").glob("*.txt")):
        gold_lines = (SHARED / "seeds-gold" / f"{path.stem}.clean.txt").read_text(encoding="utf-8")
        art = clean_document(path.read_text(encoding="utf-8"))
        m, p, g = line_scores(art.clean_text.split("\n"), gold_lines.splitlines())
        matched, predicted, gold = matched + m, predicted + p, gold + g
        leaks += sum(len(v) for v in body_leaks(art.text, meta[path.stem]).values())
    precision, recall = matched / predicted, matched / gold
    return 2 * precision * recall / (precision + recall), leaks


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason=f"shared seeds not found at {SHARED}")
def test_seeds_clean_without_leaks():
    f1, leaks = _seed_scores()
    assert leaks == 0
    assert f1 >= 0.99


TEASER = (
    "Chương trình năm nay thu hút hơn 500 đoàn viên tham gia với nhiều phần thi hấp dẫn, "
    "góp phần gắn kết người lao động trong các doanh nghiệp."
)


def _portal_page() -> str:
    """A news-portal article: everything in one container, trailing boxes included."""
    inline = " ".join(
        f'<a href="/bai-{i}.html" title="{t}">{t}</a>' for i, t in enumerate((RELATED_1, RELATED_2))
    )
    cards = "".join(
        f'<div class="card"><a href="/nen-xem-{i}.html"><img src="/n{i}.jpg"></a>'
        f'<h3><a href="/nen-xem-{i}.html">{t}</a></h3><p>{TEASER}</p></div>'
        for i, t in enumerate((RELATED_3, RELATED_1))
    )
    return f"""<html><head><title>{TITLE}</title></head><body>
<div class="menu"><ul><li><a href="/">Trang chủ</a></li><li><a href="/tin-khac">Tin khác</a></li></ul></div>
<div class="main"><div class="detail">
<h1 class="title">{TITLE}</h1>
<div class="date">Hoạt động 12/03/2025 08:30</div>
<div class="sapo">{LEAD}</div>
<div class="relate-news">{inline}</div>
<div class="content"><p>{PARA_1}</p>
<table class="image center"><tbody><tr><td><img src="/h1.jpg"></td></tr>
<tr><td class="image_desc">{CAPTION}</td></tr></tbody></table>
<p>{PARA_2}</p>
<p style="text-align: right;"><strong>Minh Khang</strong></p></div>
<div class="box-title">Có thể bạn quan tâm</div>
<div class="box"><div class="box-title">Nên xem</div>{cards}</div>
<div class="box"><h2>Tin khác</h2><ul><li><a href="/k.html">{RELATED_2}</a>
<span>Hoạt động 11/03/2025 21:40</span></li></ul><a href="/cong-doan">Xem thêm</a></div>
</div></div>
<div class="footer"><a href="/m">Phiên bản di động</a></div>
</body></html>"""


def test_portal_page_trailing_boxes_inside_article_container_are_cut():
    art = clean_document(
        _portal_page(), url="https://bao.example/bai-1.html", content_type="text/html"
    )
    assert art.paragraphs == [LEAD, PARA_1, PARA_2]
    assert norm(TEASER) not in norm(art.text)
    for title in (RELATED_1, RELATED_2, RELATED_3):
        assert norm(title) not in norm(art.text)
        assert title in art.related_titles
    assert art.captions == [CAPTION]
    assert art.author == "Minh Khang"


def test_sidebar_heading_before_the_article_does_not_cut_it():
    text = "\n".join([TITLE, "Tin mới nhất", LEAD, PARA_1, PARA_2, "Tin khác", RELATED_3])
    art = clean_document(text)
    assert art.paragraphs == [LEAD, PARA_1, PARA_2]
    assert RELATED_3 in art.related_titles


def test_single_related_link_box_and_caption_class_are_set_aside():
    html = f"""<html><body><h1>{TITLE}</h1><div class="content">
<p>{LEAD}</p><div class="box-link"><a href="/bai-7.html">{RELATED_2}</a></div>
<p>{PARA_1}</p><figure><img src="/x.jpg"></figure><p class="photo-caption">{CAPTION}</p>
<p>{PARA_2}</p></div></body></html>"""
    art = clean_document(html)
    assert art.paragraphs == [LEAD, PARA_1, PARA_2]
    assert art.related_titles == [RELATED_2]
    assert art.captions == [CAPTION]


@pytest.mark.parametrize(
    "heading",
    [
        "<h1>Công đoàn phường Hồng Hà:<br>Kết nạp 245 đoàn viên mới trong quý I</h1>",
        '<p class="kicker">Công đoàn phường Hồng Hà:</p><h1>Kết nạp 245 đoàn viên mới trong quý I</h1>',
    ],
)
def test_html_title_split_over_two_lines_is_joined(heading):
    html = (
        f"<html><body><div>{heading}<p>{LEAD}</p><p>{PARA_1}</p><p>{PARA_2}</p></div></body></html>"
    )
    art = clean_document(html)
    assert art.title == TITLE
    assert art.paragraphs == [LEAD, PARA_1, PARA_2]


# --- sample site ----------------------------------------------------------------------------


def test_sample_site_pages_clean_without_leaks():
    sample_site = pytest.importorskip("union_news.sample_site", reason="sample site not built yet")
    from eval.clean_eval import _sample_paragraphs, body_leaks, page_boilerplate

    base = "http://127.0.0.1:8000"
    profile = load_profile("sample", base_url=base)
    articles = sample_site.load_sample_articles()
    assert articles
    for sa in articles:
        if getattr(sa, "kind", "article") != "article":
            continue  # special pages (no_article) are refused, not cleaned
        html = sample_site.render_article_html(sa)
        art = clean_document(
            html,
            url=f"{base}/{str(sa.path).lstrip('/')}",
            profile=profile,
            content_type="text/html",
        )
        boilerplate = page_boilerplate(html, art.title)
        assert boilerplate["related_titles"], f"{sa.path}: page shows no related headlines"
        leaks = body_leaks(art.text, boilerplate)
        assert not any(leaks.values()), f"{sa.path}: {leaks}"
        assert norm(art.title) == norm(sa.title)
        body = set(art.paragraphs)
        assert [p for p in _sample_paragraphs(sa) if p not in body] == [], sa.path


def test_plain_text_dateline_gives_the_publication_date():
    text = "\n".join([TITLE, "Thứ tư, 12/03/2025 09:15 (GMT+7)", LEAD, PARA_1])
    art = clean_document(text)
    assert art.published == datetime(2025, 3, 12, 9, 15)
    assert art.paragraphs == [LEAD, PARA_1]
    assert clean_document("\n".join([TITLE, LEAD, PARA_1])).published is None


def test_clean_pages_task_quarantines_pages_without_article():
    from tasks.clean import clean_pages
    from union_news.models import FetchedPage

    good = FetchedPage(
        url="https://bao.example/a-1.html",
        final_url="https://bao.example/a-1.html",
        status=200,
        text=_html_page(),
        source="bao",
    )
    empty = FetchedPage(
        url="https://bao.example/b-2.html",
        final_url="https://bao.example/b-2.html",
        status=200,
        text="<html><body><nav><a href='/'>Trang chủ</a></nav></body></html>",
    )
    articles, quarantined = clean_pages.fn([good, empty], None)
    assert [a.url for a in articles] == [good.url]
    assert articles[0].source == "bao"
    assert [(q.kind, q.suite, q.expectation, q.row["url"]) for q in quarantined] == [
        ("page", "clean", "article_extractable", empty.url)
    ]
    assert quarantined[0].reason


def test_sample_site_pages_clean_without_a_profile():
    """An unknown site gets no XPaths: the generic rules alone must give each sample article's
    body exactly, and refuse the photo gallery (no article) instead of returning the page's text
    run together (trafilatura's baseline on pages with little text)."""
    sample_site = pytest.importorskip("union_news.sample_site", reason="sample site not built yet")
    for article in sample_site.load_sample_articles():
        html = sample_site.render_article_html(article)
        url = f"http://unknown.example{article.path}"
        if article.kind == "no_article":
            with pytest.raises(CleaningError):
                clean_document(html, url=url, content_type="text/html")
            continue
        cleaned = clean_document(html, url=url, content_type="text/html")
        assert cleaned.paragraphs == article.paragraphs, article.path
        assert cleaned.title == article.title
