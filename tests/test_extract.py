"""Extraction: keys, values, organizations, periods and the not-a-metric rules.

Sentences here are written for the tests; the seeds are read from ../shared at run time only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from union_news.catalog import DEFAULT_PATH, load_catalog
from union_news.extraction import EXTRACTOR_VERSION, extract_metrics
from union_news.models import QUALIFIERS, CleanArticle, MetricRow

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def article(title: str, *paragraphs: str) -> CleanArticle:
    return CleanArticle(url="http://example.test/a.html", title=title, text="\n".join(paragraphs))


def pairs(rows: list[MetricRow]) -> set[tuple[str, float]]:
    return {(r.metric, r.value) for r in rows}


def by_value(rows: list[MetricRow], value: float) -> MetricRow:
    (row,) = [r for r in rows if r.value == value]
    return row


def test_version_is_a_string() -> None:
    assert isinstance(EXTRACTOR_VERSION, str) and EXTRACTOR_VERSION


def test_membership_and_targets() -> None:
    rows = extract_metrics(article(
        "LĐLĐ quận Hoàng Mai: Kết quả công tác phát triển đoàn viên năm 2023",
        "Năm 2023, LĐLĐ quận Hoàng Mai đã kết nạp 1.020/900 đoàn viên, đạt 113% kế hoạch; "
        "thành lập mới 14 công đoàn cơ sở (CĐCS), trong đó có 4 CĐCS khu vực ngoài nhà nước.",
        "Hiện quận có 410 CĐCS với tổng số 25.600 đoàn viên.",
    ))
    admitted = by_value(rows, 1020)
    assert (admitted.metric, admitted.target, admitted.achievement_pct) == ("members_admitted", 900, 113)
    assert admitted.organization == "LĐLĐ quận Hoàng Mai" and admitted.period == "2023"
    assert pairs(rows) == {("members_admitted", 1020), ("unions_founded", 14), ("unions_founded", 4),
                           ("unions_total", 410), ("members_total", 25600)}
    assert by_value(rows, 4).detail and "trong đó" in by_value(rows, 4).detail


def test_money_gifts_and_rates() -> None:
    rows = extract_metrics(article(
        "LĐLĐ huyện Gia Lâm trao quà Tết cho người lao động",
        "Dịp Tết, LĐLĐ huyện Gia Lâm đã trao 350 suất quà trị giá 175 triệu đồng, mỗi suất trị giá "
        "500.000 đồng; hỗ trợ gần 1,2 tỷ đồng cho đoàn viên khó khăn; quỹ trợ vốn cho vay 300 triệu đồng/năm.",
    ))
    assert pairs(rows) == {("gifts", 350), ("money_vnd", 175_000_000), ("money_vnd", 500_000),
                           ("money_vnd", 1_200_000_000), ("money_vnd", 300_000_000)}
    assert by_value(rows, 1_200_000_000).qualifier == "nearly"
    assert "mỗi suất" in by_value(rows, 500_000).detail
    assert "mỗi năm" in by_value(rows, 300_000_000).detail
    assert all(r.detail for r in rows)


def test_awards_belong_to_receivers_and_name_the_giver() -> None:
    rows = extract_metrics(article(
        "LĐLĐ huyện Đông Anh tổng kết năm 2022",
        "Tại hội nghị, LĐLĐ thành phố Hà Nội tặng Bằng khen cho 05 tập thể và 12 cá nhân; "
        "02 tập thể được Tổng LĐLĐ Việt Nam tặng Cờ Thi đua.",
    ))
    assert pairs(rows) == {("awards", 5), ("awards", 12), ("awards", 2)}
    assert {r.organization for r in rows} == {"LĐLĐ huyện Đông Anh"}
    assert "LĐLĐ thành phố Hà Nội" in by_value(rows, 12).detail
    assert "Tổng LĐLĐ Việt Nam" in by_value(rows, 2).detail


def test_figure_takes_the_body_named_in_its_sentence() -> None:
    rows = extract_metrics(article(
        "Cụm thi đua số 3 khảo sát hoạt động công đoàn",
        "LĐLĐ huyện Ba Vì đã tổ chức 6 lớp tập huấn cho 540 lượt cán bộ CĐCS.",
        "LĐLĐ huyện Phúc Thọ tổ chức 12 hoạt động văn hóa, thể thao thu hút 2.300 CNLĐ tham gia.",
        "Dịp này, 640 suất quà của LĐLĐ huyện Đan Phượng đã đến tay công nhân.",
    ))
    assert {(r.metric, r.value, r.organization) for r in rows} == {
        ("gifts", 640, "LĐLĐ huyện Đan Phượng"),
        ("training_courses", 6, "LĐLĐ huyện Ba Vì"),
        ("training_participants", 540, "LĐLĐ huyện Ba Vì"),
        ("events", 12, "LĐLĐ huyện Phúc Thọ"),
        ("participants", 2300, "LĐLĐ huyện Phúc Thọ"),
    }


def test_not_metrics() -> None:
    rows = extract_metrics(article(
        "LĐLĐ quận Long Biên: 45 năm xây dựng và trưởng thành",
        "Đại hội Công đoàn quận lần thứ VIII, nhiệm kỳ 2023 - 2028 diễn ra trong 2 ngày.",
        "Thực hiện Kế hoạch số 12-KH/LĐLĐ ngày 5/3/2023 và Chương trình “1 triệu sáng kiến”, "
        "Cụm thi đua số 4 đã có 95% CĐCS tham gia.",
        "Năm 2024, LĐLĐ quận phấn đấu kết nạp 2.000 đoàn viên và sẽ trao 600 suất quà.",
        "Số sáng kiến tăng 120 sáng kiến so với năm trước; 37 đội tham gia hội thao.",
        "Có 150 CĐCS hoàn thành tốt nhiệm vụ; các doanh nghiệp có từ 25 lao động trở lên.",
        "Thu nhập bình quân đạt 7,5 triệu đồng/người/tháng; doanh nghiệp còn nợ 2 tỷ đồng.",
    ))
    assert rows == []


def test_plans_proposals_and_shares_are_not_results() -> None:
    rows = extract_metrics(article(
        "LĐLĐ huyện Quốc Oai năm 2024",
        "Năm 2024, LĐLĐ huyện Quốc Oai được giao chỉ tiêu kết nạp 900 đoàn viên.",
        "Trong số này, 7 công nhân được LĐLĐ huyện đề nghị xét tặng danh hiệu “Công nhân giỏi Thủ đô”.",
        "Các sáng kiến làm lợi gần 3 tỷ đồng; Ban Chấp hành gồm 9 đồng chí.",
    ))
    assert rows == []


def test_a_share_of_something_else_is_no_achievement() -> None:
    rows = extract_metrics(article(
        "LĐLĐ huyện Mỹ Đức", "Năm 2023, tổng số đoàn viên hiện là 2.140 người, đạt 96% tổng số lao động."))
    assert [(r.metric, r.value, r.achievement_pct) for r in rows] == [("members_total", 2140, None)]


def test_grassroots_union_by_its_own_name() -> None:
    rows = extract_metrics(article(
        "Công đoàn Công ty TNHH Dệt may Hồng Hà tổ chức Đại hội",
        "Ngày 5/4, Công đoàn Công ty TNHH Dệt may Hồng Hà tổ chức Đại hội, nhiệm kỳ 2024 - 2029, đánh "
        "giá kết quả nhiệm kỳ 2019 - 2024.",
        "Nhiệm kỳ qua, Công đoàn Công ty đã kết nạp 210 đoàn viên.",
    ))
    assert [(r.metric, r.value, r.organization, r.period) for r in rows] == [
        ("members_admitted", 210, "Công đoàn Công ty TNHH Dệt may Hồng Hà", "2019-2024")]


def test_periods_skip_spans_comparisons_and_document_names() -> None:
    rows = extract_metrics(CleanArticle(
        url="u", title="LĐLĐ quận Tây Hồ chăm lo cho nữ công nhân",
        text="Từ 4 đến 8/3/2024, LĐLĐ quận Tây Hồ tặng 120 suất quà cho nữ công nhân.\n"
             "So với cùng kỳ năm 2023, số đoàn viên tăng 210 đoàn viên.\n"
             "Học viên tìm hiểu Bộ luật Lao động năm 2019.",
        published=datetime(2024, 3, 9, tzinfo=UTC)))
    assert {(r.metric, r.value, r.period) for r in rows} == {
        ("gifts", 120, "2024"), ("members_change", 210, "2024")}


def test_a_subset_finds_its_parent_past_other_figures() -> None:
    rows = extract_metrics(article(
        "LĐLĐ huyện Thanh Oai", "Năm 2023, huyện có 150 CĐCS với 9.400 đoàn viên, trong đó 40 CĐCS ngoài "
        "Nhà nước."))
    assert pairs(rows) == {("unions_total", 150), ("members_total", 9400), ("unions_total", 40)}


def test_a_rounded_title_figure_is_the_bodys_precise_one() -> None:
    rows = extract_metrics(article(
        "LĐLĐ quận Hà Đông khám sức khỏe cho hơn 1.300 đoàn viên",
        "LĐLĐ quận Hà Đông khám sức khỏe miễn phí cho 1.356 đoàn viên, người lao động."))
    assert [(r.metric, r.value, r.qualifier) for r in rows] == [("beneficiaries", 1356, "exact")]


def test_membership_change_is_signed() -> None:
    rows = extract_metrics(article("LĐLĐ huyện Sóc Sơn", "Năm 2021, số đoàn viên giảm 320 đoàn viên."))
    assert pairs(rows) == {("members_change", -320)}


def test_repeats_are_one_row_and_rounded_repeats_keep_the_precise_figure() -> None:
    rows = extract_metrics(article(
        "LĐLĐ quận Tây Hồ trao hơn 1.400 suất quà Tết",
        "LĐLĐ quận Tây Hồ đã trao 1.450 suất quà Tết cho đoàn viên.",
        "Tổng cộng 1.450 suất quà Tết đã đến tay người lao động.",
    ))
    assert [(r.metric, r.value, r.qualifier) for r in rows] == [("gifts", 1450, "exact")]


def test_evidence_offsets_point_into_clean_text() -> None:
    art = article("LĐLĐ huyện Mê Linh", "Mở đầu.", "Năm 2022, LĐLĐ huyện Mê Linh tổ chức 8 lớp tập huấn.")
    (row,) = extract_metrics(art)
    assert art.clean_text[row.evidence_start : row.evidence_end] == row.evidence
    assert "8 lớp" in row.evidence and row.article_url == art.url


def test_a_metric_added_in_a_catalog_file_needs_no_code(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    extra = (
        "  - metric: blood_donations\n"
        "    unit: 'đơn vị máu'\n"
        "    before: 'hiến(?:\\s+được)?\\s*$'\n\n"
    )
    custom = tmp_path / "catalog.yaml"
    custom.write_text(text.replace("rules:\n", "rules:\n" + extra, 1), encoding="utf-8")
    art = article("LĐLĐ quận Cầu Giấy", "Năm 2023, đoàn viên quận đã hiến 420 đơn vị máu.")
    assert extract_metrics(art) == []
    rows = extract_metrics(art, catalog=load_catalog(custom))
    assert [(r.metric, r.value, r.organization) for r in rows] == [
        ("blood_donations", 420, "LĐLĐ quận Cầu Giấy")]


def test_seeds_meet_the_bars() -> None:
    gold_path = SHARED / "seeds-gold" / "metrics.json"
    if not gold_path.exists():
        pytest.skip(f"no shared seeds at {SHARED}")
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    tp = pred = total = org_ok = 0
    for art in gold["articles"]:
        title, _, body = (SHARED / "seeds-gold" / f"{art['id']}.clean.txt").read_text(
            encoding="utf-8").partition("\n")
        rows = extract_metrics(CleanArticle(url=art["id"], title=title, text=body))
        pred += len(rows)
        total += len(art["metrics"])
        left = list(rows)
        for g in art["metrics"]:
            match = next((r for r in left if (r.metric, r.value) == (g["metric"], g["value"])), None)
            if match:
                left.remove(match)
                tp += 1
                org_ok += match.organization == g["organization"]
                assert (match.target, match.achievement_pct) == (g["target"], g["achievement_pct"])
    precision, recall = tp / pred, tp / total
    assert 2 * precision * recall / (precision + recall) >= 0.97 and precision >= 0.98
    assert org_ok / tp >= 0.95


def test_weak_cues_lose_to_specific_ones() -> None:
    rows = extract_metrics(article(
        "LĐLĐ huyện Thạch Thất chăm lo cho người lao động năm 2023",
        "Hội thao năm nay có 640 đoàn viên tham gia; công đoàn đã khám sức khỏe miễn phí cho "
        "310 đoàn viên; Chương trình 1 triệu sáng kiến tiếp tục được hưởng ứng.",
    ))
    assert pairs(rows) == {("participants", 640), ("beneficiaries", 310)}


def test_sample_site_articles_give_exactly_their_expected_rows() -> None:
    try:
        from union_news.sample_site import load_sample_articles, render_article_html
    except ImportError:
        pytest.skip("union_news.sample_site not present yet")
    from union_news.cleaning import clean_document

    fields = ("metric", "value", "target", "achievement_pct", "qualifier", "organization", "period")

    def key(row: object) -> tuple[object, ...]:
        get = row.get if isinstance(row, dict) else lambda f: getattr(row, f, None)
        return tuple(float(get(f)) if f in ("value", "target", "achievement_pct") and get(f) is not None
                     else get(f) for f in fields)

    wrong = []
    for art in load_sample_articles():
        if getattr(art, "kind", "article") != "article":
            continue  # special pages (no_article) never reach extraction
        clean = clean_document(render_article_html(art), url=f"http://sample.test{art.path}",
                               content_type="text/html")
        got = sorted(map(key, extract_metrics(clean)), key=repr)
        want = sorted(map(key, art.expected), key=repr)
        if got != want:
            wrong.append((art.path, set(want) - set(got), set(got) - set(want)))
    assert not wrong


def test_congress_article_reports_on_the_closing_term() -> None:
    rows = extract_metrics(article(
        "Đại hội Công đoàn quận Ba Đình lần thứ XII",
        "Đại hội Công đoàn quận Ba Đình lần thứ XII, nhiệm kỳ 2023 - 2028 đánh giá kết quả nhiệm kỳ "
        "2018 - 2023 của LĐLĐ quận Ba Đình.",
        "Nhiệm kỳ qua, LĐLĐ quận đã kết nạp 4.100 đoàn viên, tăng 300 đoàn viên so với năm 2018.",
    ))
    (admitted,) = [r for r in rows if r.metric == "members_admitted"]
    assert (admitted.value, admitted.period, admitted.organization) == (4100, "2018-2023", "LĐLĐ quận Ba Đình")


_PIECES = ["LĐLĐ quận Cầu Giấy", " đã trao ", "1.234", " suất quà", ", ", "; ", ". ", "\n", "“", "”",
           "82,5 triệu đồng", " đạt ", "104%", "676/650", " đoàn viên", " trong đó có ", "năm 2022",
           " tặng Bằng khen cho ", "07 tập thể", " sẽ ", "Covid-19", "(", ")", "01", " CĐCS", "trên "]


@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.text(max_size=30))
def test_any_text_gives_well_formed_rows(pieces: list[str], noise: str) -> None:
    art = article("Tin", "".join(pieces) + noise)
    for row in extract_metrics(art):
        assert art.clean_text[row.evidence_start : row.evidence_end] == row.evidence
        assert row.qualifier in QUALIFIERS and row.metric
        if row.target and row.achievement_pct is not None:
            assert abs(row.value / row.target * 100 - row.achievement_pct) <= 1.5


def test_prefect_task_wraps_the_core() -> None:
    from tasks.extract import extract_articles

    arts = [article("LĐLĐ huyện Mê Linh", "Năm 2022, LĐLĐ huyện Mê Linh tổ chức 8 lớp tập huấn."),
            article("Tin không có số liệu", "Hội nghị diễn ra trang trọng.")]
    rows = extract_articles.fn(arts)
    assert [(r.metric, r.value, r.article_url) for r in rows] == [("training_courses", 8, arts[0].url)]


def test_tone_normalisation_leaves_qu_syllables_alone():
    """Old-style tone marks are moved (thuỷ -> thủy) but never after "q", where the "u" is part of
    the consonant: "quý I/2024" must still match the quarter cue and give the year."""
    from union_news.catalog import normalize

    assert normalize("thuỷ, hoà, Uỷ ban") == "thủy, hòa, Ủy ban"
    assert normalize("quý I/2024, Quỹ, quỳ") == "quý I/2024, Quỹ, quỳ"
    article = CleanArticle(
        url="http://example.test/a-1.html",
        title="LĐLĐ huyện Thanh Trì tập huấn cán bộ",
        text="Năm 2023, LĐLĐ huyện Thanh Trì tổ chức nhiều hoạt động. Trong quý I/2024, "
        "LĐLĐ huyện Thanh Trì đã mở 02 lớp tập huấn cho 180 cán bộ công đoàn cơ sở.",
    )
    periods = {r.metric: r.period for r in extract_metrics(article)}
    assert periods.get("training_participants") == "2024", periods


_TONE_ALPHABET = "oOuUqQàáảãạèéẻẽẹỳýỷỹỵÀÁẢÃẠÈÉẺẼẸỲÝỶỸỴhHn 1_,.đ"


@given(st.text(alphabet=_TONE_ALPHABET, max_size=16))
def test_tone_normalisation_finds_what_the_tone_mark_pattern_finds(text: str) -> None:
    """``normalize`` looks for the pairs by their first letter; the pattern anchored at the tone
    mark (``_TONE_RE``'s definition) must find the same ones."""
    from union_news.catalog import _normalize_reference, normalize

    assert normalize(text) == _normalize_reference(text)
    assert normalize("Hoà, QUỶ, khoẻ, HOÀ1, oàn") == "Hòa, QUỶ, khỏe, HÒA1, oàn"


_PUNCT_ALPHABET = "ab Đ1.,;:…!?\"“”’)(\t\n\u00a0"


@given(st.text(alphabet=_PUNCT_ALPHABET, max_size=24), st.data())
def test_sentence_and_clause_ends_found_with_str_find_match_the_regexes(text: str, data) -> None:
    """Sentence ends are tried only at their marks and clause marks found with ``str.find``: the
    same ends as the regexes that define them (``_SENTENCE_END``, ``_CLAUSE_END``)."""
    from union_news import extraction as ex

    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert ex._sentence_ends(text, start, end) == [
        m.end() for m in ex._SENTENCE_END.finditer(text, start, end)]
    sentence = ex._Sentence(start, end)
    pos = data.draw(st.integers(start, end))
    limit = data.draw(st.integers(start, end))
    assert ex._clause_end_in(text, sentence, pos, limit) == ex._clause_end(text, pos, limit)


_UNIT_PIECES = [" đoàn viên", " đv", " cán bộ công đoàn", " lượt", " “giỏi việc nước”", " cđcs", " cá nhân",
                " tập thể", " suất quà", " triệu sáng kiến", " năm", " cờ thi đua", " y bác sĩ", " công ty",
                " hội thi", " lớp tập huấn", " mới", ",", " ", "\t", "x", "c", "đ", "“", "\""]


@given(st.lists(st.sampled_from(_UNIT_PIECES), max_size=6))
def test_probe_variant_for_the_next_two_characters_gives_the_full_probes_groups(pieces) -> None:
    """The probe narrowed to the units that can start with the characters after a figure finds
    exactly what the probe of every unit finds."""
    from union_news.catalog import default_catalog, probe_match

    cat = default_catalog()
    text = "12" + "".join(pieces)
    j = 2
    while text[j : j + 1].isspace():
        j += 1
    key = text[j : j + 2]
    v = cat.probe_dispatch2.get(key)
    if v is None:
        v = cat.probe_dispatch.get(key[:1], cat.probe_default)
    narrowed = probe_match(cat, v)(text, 2).regs
    full = cat.probe.match(text, 2).regs  # type: ignore[union-attr]
    mine = cat.probe_groups[v]
    vetoes = {g for v in cat.vetoes for g in (v.unit_group, v.unit_not_group) if g > 0}
    for g in sorted({g for g, _ in cat.unit_plan if g > 0} | set(cat.count_unit_groups) | vetoes):
        # a unit left out of the variant cannot start with these characters: no match either way
        assert (narrowed[mine[g]] if g in mine else (-1, -1)) == full[g]
