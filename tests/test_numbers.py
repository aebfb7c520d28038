"""Vietnamese number writing: parsing, scanning and the round trip through the formatter."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from union_news import numbers
from union_news.numbers import format_amount, format_number, parse_amount, parse_number, scan


@pytest.mark.parametrize(
    ("text", "value"),
    [("13.855", 13855), ("91,66", 91.66), ("01", 1), ("1.264", 1264), ("0", 0), ("2.000.000", 2_000_000)],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["4.0", "3.5", "1.23", "12.3456", "", "abc"])
def test_not_vietnamese_numbers(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "value", "kind", "qualifier"),
    [
        ("82,5 triệu đồng", 82_500_000, "vnd", "exact"),
        ("hơn 1,8 tỷ đồng", 1_800_000_000, "vnd", "over"),
        ("1 tỷ 200 triệu đồng", 1_200_000_000, "vnd", "exact"),
        ("500.000đ", 500_000, "vnd", "exact"),
        ("12 nghìn đồng", 12_000, "vnd", "exact"),
        ("3 ngàn người", 3_000, "count", "exact"),
        ("91,66%", 91.66, "percent", "exact"),
        ("110 %", 110, "percent", "exact"),
        ("gần 300 đoàn viên", 300, "count", "nearly"),
        ("khoảng 40 lớp", 40, "count", "about"),
        ("xấp xỉ 1.000 suất", 1000, "count", "about"),
        ("trên 7.500 người", 7500, "count", "over"),
        ("50 trở lên", 50, "count", "at_least"),
    ],
)
def test_scan_amounts_and_qualifiers(text: str, value: float, kind: str, qualifier: str) -> None:
    (q,) = scan(text)
    assert (q.value, q.kind, q.qualifier) == (value, kind, qualifier)


def test_fraction_is_value_and_target() -> None:
    (q,) = scan("kết nạp 1.264/510 đoàn viên")
    assert (q.value, q.target) == (1264, 510)


def test_range_keeps_both_ends() -> None:
    (q,) = scan("từ 200 - 300 người")
    assert (q.value, q.high, q.kind) == (200, 300, "count")


@pytest.mark.parametrize(
    ("text", "kind"),
    [("năm 2021", "year"), ("nhiệm kỳ 2018 - 2023", "year"), ("Nghị quyết 05/NQ-TU", "code"),
     ("ngày 3/4/2021", "code"), ("lúc 10:30", "code"), ("công nghệ 4.0", "invalid")],
)
def test_years_codes_and_foreign_decimals_are_marked(text: str, kind: str) -> None:
    assert scan(text)[0].kind == kind


def test_numbers_glued_to_words_are_not_figures() -> None:
    assert scan("dịch Covid-19 và H5N1") == []


def test_offsets_point_at_the_figure() -> None:
    text = "Đã trao tặng hơn 1.200 suất quà."
    (q,) = scan(text)
    assert text[q.start : q.end] == "hơn 1.200"
    assert text[q.num_start : q.num_end] == "1.200"


@given(st.integers(min_value=0, max_value=10**13))
def test_integers_round_trip(value: int) -> None:
    assert parse_number(format_number(value)) == value


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_decimals_round_trip(value: Decimal) -> None:
    parsed = parse_number(format_number(value))
    assert parsed is not None and Decimal(str(parsed)) == value


@given(st.integers(min_value=1, max_value=10**6).map(lambda n: n * 1000))
def test_amounts_round_trip(value: int) -> None:
    assert parse_amount(format_amount(value)) == value


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["", "trên ", "gần ", "khoảng "]))
def test_figures_in_a_sentence_round_trip(value: int, qualifier: str) -> None:
    text = f"Năm qua đã có {qualifier}{format_number(value)} đoàn viên tham gia."
    found = [q for q in scan(text) if q.kind == "count"]
    assert [q.value for q in found] == [value]


@pytest.mark.parametrize("text", ["gồm 9 đồng chí", "hơn 200 đồng bào", "12 đồng nghiệp"])
def test_dong_in_other_words_is_no_currency(text: str) -> None:
    assert [q.kind for q in scan(text)] == ["count"]


_MENTION_PLAIN = re.compile(numbers._FIGURE + numbers._FOLLOWERS, re.VERBOSE)
_FIGURE_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789.,/-–% đồngtriệuỷỉhơnvtrởlêếgìàư_\t\x1c\u00a0\n٣１²aĐ")),
    max_size=60,
)


@given(_FIGURE_TEXT, st.integers(0, 60), st.integers(0, 60))
def test_mentions_are_the_patterns_finditer(text: str, a: int, b: int) -> None:
    """``scan`` tries its pattern only at figure starts: the same matches as a full scan, with
    both ways of finding the starts (the character loop runs compiled, the regex as Python)."""
    start, end = min(a, b, len(text)), min(max(a, b), len(text))
    assert numbers._figure_starts(text, start, end) == numbers._figure_starts_re(text, start, end)
    expected = [(m.span(), m.groups()) for m in numbers._MENTION.finditer(text, start, end)]
    found = numbers.mentions(text, start, end)
    assert [(at, stop) for at, stop, _ in found] == [span for span, _ in expected]
    for (_, _, m), (_, groups) in zip(found, expected, strict=True):
        # None: a number read without the pattern (compiled), whose followers are all None
        assert (m.groups() if m else (groups[0], *[None] * 6)) == groups
    for at in numbers._figure_starts_re(text, start, end):  # the loop agrees with the pattern
        full = numbers._MENTION.match(text, at, end)
        bare = numbers._bare_number(text, at, end)
        if bare == numbers._NO_MATCH:
            assert full is None
        elif bare != numbers._UNSURE:
            assert full is not None and full.end() == bare and not any(full.groups()[1:])
    # the glance at the next word skips only followers that could not match ("" or None alike)
    plain = [(m.span(), tuple(g or None for g in m.groups()))
             for m in _MENTION_PLAIN.finditer(text, start, end)]
    assert [(span, tuple(g or None for g in groups)) for span, groups in expected] == plain


def test_figures_are_written_with_ascii_digits() -> None:
    """Other scripts' digits (Arabic-Indic, fullwidth, superscripts) are not figures."""
    assert scan("٣٤ đoàn viên") == []
    assert scan("１２ đoàn viên") == []
    assert [q.value for q in scan("có 12 đoàn viên, ²3")] == [12]
    assert parse_number("٤٥") is None and parse_number("²") is None
