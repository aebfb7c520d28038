"""The clean stage's fast paths give what the plain definitions they replace give.

Each fast path in ``union_news.cleaning`` (a tree walk that stops early, a filter before a
comparison, a cache) is checked here against the straightforward form it replaced, on random
trees and strings built to hit the edge cases: whitespace that Python splits on but XPath's
normalize-space keeps (no-break space, em space ...), comments and processing instructions,
script/style text, deep nesting, control characters and lone surrogates.
"""

from __future__ import annotations

import random
import re

import pytest
from lxml import etree
from lxml import html as lxml_html

from union_news.cleaning import _CONTROL, _SURROGATE, _safe, rules
from union_news.cleaning import html as H

# text pieces: sentence-sized and short, with XML and non-XML whitespace, headings in
# several spellings (upper-cased, with a colon, padded with odd spaces)
PIECES = [
    "Công đoàn quận Ba Đình tổ chức hội nghị tổng kết công tác năm với 120 đại biểu tham dự.",
    "Ngắn",
    "  \n  ",
    "\xa0\u2003\xa0",
    "Tin khác",
    "TIN KHÁC:",
    "\n\xa0 Tin\u2002khác \n",
    "Xem thêm",
    "Đọc\xa0thêm:",
    "Tin  liên\tquan",
    "tin khác",
    "x" * 70,
    "y " * 40,
    "\u3000" * 30 + "z" * 65,
]
TAGS = ["div", "p", "span", "h2", "h3", "script", "style", "noscript", "section", "a", "li"]


def _random_page(rnd: random.Random) -> str:
    out = ["<html><head><title>t</title></head><body>"]
    open_tags: list[str] = []
    for _ in range(rnd.randint(5, 80)):
        r = rnd.random()
        if r < 0.35:
            tag = rnd.choice(TAGS)
            out.append(
                f'<{tag} href="/bai-{rnd.randint(1, 99)}.html">' if tag == "a" else f"<{tag}>"
            )
            open_tags.append(tag)
        elif r < 0.55 and open_tags:
            out.append(f"</{open_tags.pop()}>")
        elif r < 0.62:
            out.append(rnd.choice(["<!-- Tin khác -->", "<?pi x?>", "<br>"]))
        else:
            out.append(rnd.choice(PIECES))
    return "".join(out)


def _trees(count: int, seed: int) -> list[lxml_html.HtmlElement]:
    """Random pages, half parsed as the clean stage parses (comments and PIs dropped), half by
    lxml's default HTML parser (which keeps them)."""
    rnd = random.Random(seed)
    trees = []
    for i in range(count):
        page = _random_page(rnd)
        trees.append(H.parse_html(page) if i % 2 else lxml_html.document_fromstring(page))
    return trees


@pytest.mark.parametrize("enough", [1, 60, 150, 300])
def test_text_before_matches_the_preceding_text_xpath(enough):
    checked = 0
    for tree in _trees(120, seed=enough):
        for el in tree.iter("*"):
            reference = sum(len(t) for t in H._SENTENCES_BEFORE(el)) >= enough
            assert H._text_before(el, enough) == reference, etree.tostring(el)
            checked += 1
    assert checked > 1000


def _reference_heading_elements(tree, low_html: str, headings: tuple[str, ...]) -> list:
    """The definition: every element under <body> whose first text node, whitespace
    normalised, is a variant of a heading that occurs in the lower-cased page."""
    found = [h for h in headings if h.lower() in low_html]
    variants = {v for h in found for u in (h, h.upper()) for v in (u, u + ":")}
    out = []
    for body in tree.iter("body"):
        for el in body.iterdescendants():
            if not isinstance(el.tag, str):
                continue
            text = el.text
            if text is None:
                for child in el:
                    if child.tail is not None:
                        text = child.tail
                        break
            if text and " ".join(text.split()) in variants:
                out.append(el)
    return out


@pytest.mark.parametrize(
    "headings",
    [
        rules.DEFAULT_RELATED_HEADINGS,
        ("Tin khác", "tin khác", "Đọc thêm"),
        ("Tin khác", ""),  # an empty heading matches any element whose first text is blank
    ],
)
def test_heading_elements_match_the_definition(headings):
    rnd = random.Random(7)
    found_any = 0
    for tree in _trees(150, seed=11):
        page = etree.tostring(tree, encoding="unicode")
        if rnd.random() < 0.3:  # the page source does not always name the heading
            page = page.replace("Tin khác", "").replace("TIN KHÁC", "")
        expected = _reference_heading_elements(tree, page.lower(), headings)
        got = H._heading_elements(tree, H._Source(page), headings)
        assert got == expected
        found_any += bool(expected)
    assert found_any > 10


def test_headline_reads_as_before():
    def reference(a):
        text = H._text(a)
        href = a.get("href") or ""
        if (
            len(text) < 20
            or rules.word_count(text) < 4
            or not href
            or href.startswith(("#", "javascript"))
        ):
            return None
        return text

    texts = [
        "Ba Đình tuyên dương 50 công nhân giỏi",
        "Ba Đình tuyên dương",
        "Ba\xa0Đình\u2003tuyên dương công nhân",
        "  một  hai  ba  bốn năm sáu bảy  ",
        "abcdefghijklmnopqrstuvwxyz",
    ]
    hrefs = [None, "", "#top", "javascript:void(0)", "/bai-1.html", "http://x/y.html"]
    for text in texts:
        for href in hrefs:
            a = lxml_html.fragment_fromstring("<a></a>")
            a.text = text
            if href is not None:
                a.set("href", href)
            assert H._headline(a) == reference(a), (text, href)


def test_safe_is_the_two_substitutions():
    samples = [
        "Công đoàn",
        "a\x00b\x1fc\x7fd",
        "tab\tand\nnew\rline",
        "lone \ud800 surrogate",
        "\x0b\x0c\x0e",
        "both\x01\udfff",
        "",
    ]
    for text in samples:
        assert _safe(text) == _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", text)), repr(text)


def test_norm_cache_gives_the_uncached_result():
    def reference(text: str) -> str:
        import unicodedata

        text = unicodedata.normalize("NFC", text).lower()
        return " ".join(re.sub(r"[^\w\s]", " ", text).split())

    samples = ["Tin khác:", "XEM THÊM", "Tie\u0301ng Vie\u0323t", "a" * 300, "ΟΔΟΣ", ""]
    for _ in range(2):  # the second round is served from the cache
        for text in samples:
            assert rules.norm(text) == reference(text)
