"""Facts: one figure per (organization, metric, period, detail), chosen from its mentions.

Pure rules first, then the facts and conflicts tables kept current by the real
``Warehouse.load_batch`` on SQLite and PostgreSQL (``warehouse_url`` is parametrized).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from union_news.facts import (
    RULE_ONLY,
    RULE_PRECISE,
    RULE_RECENT,
    RULE_SAME,
    Mention,
    agree,
    build_facts,
    choose,
    conflict_summary,
    count_conflicts,
    fact_key,
    interval,
    is_round,
    load_mentions,
    period_bounds,
    refresh_facts,
    rounding_unit,
)
from union_news.models import CleanArticle, MetricRow
from union_news.warehouse import LoadBatch, Warehouse
from union_news.warehouse.facts_schema import fact_conflicts_table, facts_table
from union_news.warehouse.schema import metadata

ORG = "LĐLĐ huyện Mê Linh"
KEY = fact_key(ORG, "members_total", "2024", None)


def m(value, url, day, qualifier="exact"):
    return Mention(value=value, article_url=url, qualifier=qualifier, published=datetime(*day))


# --------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("value", "unit"),
    [(7500, 100), (7512, 1), (91.66, 0.01), (1.8e9, 1e8), (82_500_000, 100_000), (0, 1)],
)
def test_rounding_unit(value, unit):
    assert rounding_unit(value) == pytest.approx(unit)


def test_intervals_follow_the_documented_tolerance():
    assert interval(7512) == (7512, 7512)
    assert interval(7500) == (7450, 7550)  # round: ± half its unit (50), under 5 %
    assert interval(300) == (300, 300)  # small round numbers are taken as written
    assert not is_round(300) and is_round(1000)
    assert interval(7500, "over") == (7500, 8250)  # trên 7.500: up to 10 % above
    assert interval(7500, "at_least") == (7500, 8250)
    assert interval(300, "nearly") == (270, 300)
    assert interval(50, "about") == (45, 55)
    assert interval(5, "over") == (5, 6)  # slack at least 1


def test_single_mention():
    fact = choose(KEY, [m(7512, "a", (2024, 1, 5))])
    assert (fact.value, fact.rule, fact.mentions, fact.conflicts) == (7512, RULE_ONLY, 1, [])


def test_same_figure_twice_is_one_fact_with_two_mentions():
    fact = choose(KEY, [m(7512, "old", (2024, 1, 5)), m(7512, "new", (2024, 6, 1))])
    assert fact.rule == RULE_SAME
    assert fact.mentions == 2
    assert fact.article_urls == ["new", "old"]  # most recent first
    assert fact.chosen.article_url == "new"


@pytest.mark.parametrize(
    ("rounded", "qualifier"),
    [(7500, "over"), (7500, "exact"), (7600, "nearly"), (7500, "about"), (7500, "at_least")],
)
def test_exact_figure_beats_a_compatible_rounded_one_even_when_older(rounded, qualifier):
    mentions = [m(7512, "exact", (2024, 1, 5)), m(rounded, "rounded", (2024, 6, 1), qualifier)]
    fact = choose(KEY, mentions)
    assert fact.value == 7512
    assert fact.rule == RULE_PRECISE
    assert fact.mentions == 2 and fact.conflicts == []


def test_disagreement_beyond_rounding_takes_the_most_recent_and_lists_the_other():
    older, newer = m(7100, "older", (2024, 1, 5)), m(7512, "newer", (2024, 6, 1))
    fact = choose(KEY, [older, newer])
    assert (fact.value, fact.rule) == (7512, RULE_RECENT)
    assert fact.conflicts == [older]
    assert fact.has_conflict and fact.conflict_urls == ["older"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((7500, "over"), (7512, "exact"), True),
        ((7500, "over"), (7490, "exact"), False),  # "trên 7.500" cannot be 7.490
        ((7500, "over"), (9000, "exact"), False),  # nor 20 % more
        ((7600, "nearly"), (7612, "exact"), False),
        ((7500, "exact"), (7549, "exact"), True),
        ((7500, "exact"), (7560, "exact"), False),
        ((300, "exact"), (312, "exact"), False),  # small numbers are not rounded silently
        ((7512, "exact"), (7513, "exact"), False),
    ],
)
def test_agreement_within_rounding(a, b, expected):
    ma, mb = Mention(a[0], "a", a[1]), Mention(b[0], "b", b[1])
    assert agree(ma, mb) is expected
    assert agree(mb, ma) is expected


def test_the_anchor_is_the_newest_mention_and_conflicts_are_against_the_chosen_value():
    # newest says "khoảng 7.500"; an older exact 7.480 agrees with it, an old 6.000 does not
    mentions = [
        m(7500, "newest", (2024, 9, 1), "about"),
        m(7480, "exact", (2024, 3, 1)),
        m(6000, "stale", (2023, 12, 1)),
    ]
    fact = choose(KEY, mentions)
    assert (fact.value, fact.rule) == (7480, RULE_PRECISE)
    assert [x.article_url for x in fact.supporting] == ["newest", "exact"]
    assert [x.article_url for x in fact.conflicts] == ["stale"]


def test_two_values_in_one_article_are_parts_not_a_conflict():
    # "12 giải thể thao và 8 hội diễn" gives two rows of one key in one article
    sports, shows = m(12, "ba-vi", (2024, 3, 1)), m(8, "ba-vi", (2024, 3, 1))
    fact = choose(KEY, [shows, sports])
    assert (fact.value, fact.conflicts, fact.parts) == (12, [], [shows])
    # another article agreeing with either part is no conflict; one agreeing with none is
    fact = choose(KEY, [sports, shows, m(8, "old", (2023, 1, 1)), m(30, "odd", (2023, 2, 1))])
    assert [x.article_url for x in fact.conflicts] == ["odd"]
    assert [x.article_url for x in fact.parts] == ["ba-vi", "old"]


def test_undated_articles_count_as_oldest_and_ties_are_stable():
    undated = Mention(7000, "zz-undated")
    dated = m(7100, "dated", (2020, 1, 1))
    assert choose(KEY, [undated, dated]).value == 7100
    same_day = [m(7100, "b", (2024, 1, 1)), m(7200, "a", (2024, 1, 1))]
    assert choose(KEY, same_day).value == choose(KEY, list(reversed(same_day))).value


def test_build_facts_groups_by_key():
    other = fact_key(ORG, "unions_total", "2024", None)
    facts = build_facts([(KEY, m(1, "a", (2024, 1, 1))), (other, m(2, "a", (2024, 1, 1)))])
    assert set(facts) == {KEY, other}
    with pytest.raises(ValueError):
        choose(KEY, [])


def test_period_bounds():
    assert period_bounds("2020") == (date(2020, 1, 1), date(2020, 12, 31))
    assert period_bounds("2018-2023") == (date(2018, 1, 1), date(2023, 12, 31))
    assert period_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert period_bounds("2022-11-15") == (date(2022, 11, 15), date(2022, 11, 15))
    assert period_bounds(None) == (None, None)
    assert period_bounds("quý I") == (None, None)


# --------------------------------------------------------------------------- in the warehouse


BASE = "http://news.test/"


def article(slug: str, day: tuple[int, ...], body: str) -> CleanArticle:
    return CleanArticle(
        url=BASE + slug,
        title=f"Bài {slug}",
        text=body,
        published=datetime(*day),
        source="news.test",
    )


def row(
    slug, value, metric="members_total", qualifier="exact", org=ORG, period="2024", detail=None
):
    return MetricRow(
        metric=metric,
        value=value,
        qualifier=qualifier,
        organization=org,
        period=period,
        detail=detail,
        unit="đoàn viên",
        evidence=f"{ORG} có {value} đoàn viên.",
        article_url=BASE + slug,
    )


def load(wh: Warehouse, *pairs: tuple[CleanArticle, list[MetricRow]], run="run-1"):
    return wh.load_batch(
        LoadBatch(
            articles=[a for a, _ in pairs],
            rows=[r for _, rows in pairs for r in rows],
            run_id=run,
            source="news.test",
        )
    )


def facts_by_key(wh: Warehouse) -> dict[tuple, dict]:
    with wh.engine.connect() as conn:
        rows = conn.execute(select(facts_table)).mappings().all()
    return {(r["organization"], r["metric"], r["period"], r["detail"]): dict(r) for r in rows}


def conflicts_of(wh: Warehouse) -> list[dict]:
    with wh.engine.connect() as conn:
        stmt = select(fact_conflicts_table).order_by(fact_conflicts_table.c.article_url)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def assert_consistent(wh: Warehouse) -> None:
    """Stored facts equal facts rebuilt from scratch out of the mention table."""
    with wh.engine.connect() as conn:
        expected = build_facts(load_mentions(conn))
    stored = facts_by_key(wh)
    assert set(stored) == set(expected)
    for key, fact in expected.items():
        got = stored[key]
        assert (got["value"], got["rule"], got["mentions"], got["conflicts"]) == (
            fact.value,
            fact.rule,
            fact.mentions,
            len(fact.conflicts),
        ), key
        assert got["article_urls"] == fact.article_urls
    conflict_keys = {r.row_key for f in expected.values() for r in f.conflicts}
    assert {c["row_key"] for c in conflicts_of(wh)} == conflict_keys


@pytest.fixture
def wh(warehouse_url):
    warehouse = Warehouse(warehouse_url)
    warehouse.upgrade()
    yield warehouse
    warehouse.dispose()


def test_migration_matches_the_models(wh):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert wh.current_revision() == Warehouse.head_revision()
    with wh.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    assert [d for d in diff if "fact" in repr(d)] == []


def test_same_figure_twice_gives_one_fact_with_two_mentions(wh):
    load(
        wh,
        (article("dai-hoi", (2024, 3, 2), "Đại hội."), [row("dai-hoi", 7512)]),
        (article("tong-ket", (2024, 12, 20), "Tổng kết."), [row("tong-ket", 7512)]),
    )
    facts = facts_by_key(wh)
    assert list(facts) == [(ORG, "members_total", "2024", "")]
    fact = facts[(ORG, "members_total", "2024", "")]
    assert (fact["value"], fact["mentions"], fact["rule"], fact["conflicts"]) == (
        7512,
        2,
        RULE_SAME,
        0,
    )
    assert fact["article_urls"] == [BASE + "tong-ket", BASE + "dai-hoi"]
    assert fact["period_start"] == date(2024, 1, 1) and fact["period_end"] == date(2024, 12, 31)
    assert count_conflicts(wh) == 0
    assert_consistent(wh)


def test_rounded_and_exact_choose_the_exact_figure(wh):
    # the rounded form arrives later, in its own batch: the exact one must stay
    load(wh, (article("dai-hoi", (2024, 3, 2), "Đại hội."), [row("dai-hoi", 7512)]))
    load(
        wh,
        (
            article("cum-thi-dua", (2024, 11, 5), "Cụm."),
            [row("cum-thi-dua", 7500, qualifier="over")],
        ),
    )
    fact = facts_by_key(wh)[(ORG, "members_total", "2024", "")]
    assert (fact["value"], fact["qualifier"], fact["rule"], fact["mentions"]) == (
        7512,
        "exact",
        RULE_PRECISE,
        2,
    )
    assert fact["chosen_url"] == BASE + "dai-hoi"
    assert conflicts_of(wh) == []
    assert_consistent(wh)


def test_genuine_conflict_is_listed_and_counted(wh):
    load(
        wh,
        (
            article("dai-hoi", (2024, 3, 2), "Đại hội."),
            [row("dai-hoi", 7512), row("dai-hoi", 45, "unions_total")],
        ),
        (article("so-lieu-cu", (2024, 1, 10), "Cũ."), [row("so-lieu-cu", 6980)]),
    )
    fact = facts_by_key(wh)[(ORG, "members_total", "2024", "")]
    assert (fact["value"], fact["rule"], fact["conflicts"], fact["mentions"]) == (
        7512,
        RULE_RECENT,
        1,
        1,
    )
    [conflict] = conflicts_of(wh)
    assert (conflict["value"], conflict["fact_value"], conflict["article_url"]) == (
        6980,
        7512,
        BASE + "so-lieu-cu",
    )
    assert count_conflicts(wh) == 1
    with wh.engine.connect() as conn:
        assert count_conflicts(conn, [(ORG, "members_total", "2024", None)]) == 1
        assert count_conflicts(conn, [(ORG, "unions_total", "2024", None)]) == 0
    assert conflict_summary(wh) == {"facts": 2, "facts_in_conflict": 1, "conflicting_mentions": 1}
    assert_consistent(wh)


def test_reload_of_a_changed_article_rebuilds_only_its_keys(wh):
    other_org = "LĐLĐ quận Hoàng Mai"
    load(
        wh,
        (article("dai-hoi", (2024, 3, 2), "Đại hội."), [row("dai-hoi", 7512)]),
        (article("so-lieu-cu", (2024, 1, 10), "Cũ."), [row("so-lieu-cu", 6980)]),
        (article("hoang-mai", (2024, 2, 1), "HM."), [row("hoang-mai", 12_040, org=other_org)]),
    )
    assert count_conflicts(wh) == 1
    # Mark the untouched key: a rebuild of only the affected keys leaves the mark in place.
    with wh.engine.begin() as conn:
        conn.execute(
            update(facts_table)
            .where(facts_table.c.organization == other_org)
            .values(evidence="(không đổi)")
        )
    # The old article is corrected: it now gives a rounded form of the same figure.
    stats = load(
        wh,
        (
            article("so-lieu-cu", (2024, 1, 10), "Cũ, đã sửa."),
            [row("so-lieu-cu", 7500, qualifier="over")],
        ),
        run="run-2",
    )
    assert stats.articles_updated == 1 and stats.rows_deleted == 1 and stats.rows_inserted == 1
    facts = facts_by_key(wh)
    fact = facts[(ORG, "members_total", "2024", "")]
    # the newest article (dai-hoi) is also the precise one: "most_recent", now with 2 mentions
    assert (fact["value"], fact["rule"], fact["mentions"], fact["conflicts"]) == (
        7512,
        RULE_RECENT,
        2,
        0,
    )
    assert conflicts_of(wh) == [] and count_conflicts(wh) == 0
    assert facts[(other_org, "members_total", "2024", "")]["evidence"] == "(không đổi)"
    # Loading the same batch again changes nothing (no affected keys, the mark survives).
    stats = load(
        wh,
        (
            article("so-lieu-cu", (2024, 1, 10), "Cũ, đã sửa."),
            [row("so-lieu-cu", 7500, qualifier="over")],
        ),
        run="run-3",
    )
    assert stats.rows_inserted == 0 and stats.rows_deleted == 0
    assert facts_by_key(wh)[(other_org, "members_total", "2024", "")]["evidence"] == "(không đổi)"
    # The consistency check compares the decisions (not the mark, which is evidence only).
    assert_consistent(wh)


def test_a_key_whose_mentions_are_gone_loses_its_fact(wh):
    load(
        wh,
        (article("a", (2024, 3, 2), "A."), [row("a", 7512), row("a", 30, "unions_founded")]),
        (article("b", (2024, 4, 2), "B."), [row("b", 7512)]),
    )
    # article a is corrected: its unions_founded figure was wrong and is gone
    load(wh, (article("a", (2024, 3, 2), "A, đã sửa."), [row("a", 7512)]), run="run-2")
    facts = facts_by_key(wh)
    assert (ORG, "unions_founded", "2024", "") not in facts
    assert facts[(ORG, "members_total", "2024", "")]["mentions"] == 2
    # retiring article b (reprocessing found no article there) drops its mention too
    wh.load_batch(LoadBatch(retire=[BASE + "b"], run_id="run-3", source="news.test"))
    fact = facts_by_key(wh)[(ORG, "members_total", "2024", "")]
    assert (fact["mentions"], fact["rule"], fact["article_urls"]) == (1, RULE_ONLY, [BASE + "a"])
    assert_consistent(wh)


def test_refresh_all_rebuilds_from_scratch_and_a_failed_batch_leaves_facts_alone(wh):
    load(
        wh,
        (article("a", (2024, 3, 2), "A."), [row("a", 7512), row("a", 12, "training_courses")]),
        (article("b", (2024, 5, 2), "B."), [row("b", 7400)]),
    )
    before = facts_by_key(wh)
    with wh.engine.begin() as conn:
        stats = refresh_facts(conn, None)
    assert stats.facts == 2 and stats.conflicts == 1
    assert facts_by_key(wh) == before
    with wh.engine.begin() as conn:
        assert refresh_facts(conn, []).facts == 0

    class Broken(Warehouse):
        def _after_rows(self, conn, affected_keys):
            super()._after_rows(conn, affected_keys)
            raise RuntimeError("crash after the facts were rebuilt")

    broken = Broken(wh.url)
    try:
        with pytest.raises(RuntimeError):
            load(broken, (article("c", (2024, 6, 2), "C."), [row("c", 9999)]), run="run-x")
    finally:
        broken.dispose()
    assert facts_by_key(wh) == before  # the rebuild rolled back with the batch
    assert_consistent(wh)


# --------------------------------------------------------------------------- the sample site


@pytest.fixture(scope="module")
def sample_batch():
    """Every sample article rendered, cleaned and extracted by the real stages."""
    from union_news.cleaning import clean_document
    from union_news.extraction import extract_metrics
    from union_news.sample_site import load_sample_articles, render_article_html

    arts, rows, by_id = [], [], {}
    for sample in load_sample_articles():
        if sample.kind != "article":
            continue
        clean = clean_document(
            render_article_html(sample),
            url=f"http://sample.test{sample.path}",
            content_type="text/html",
        )
        arts.append(clean)
        rows.extend(extract_metrics(clean))
        by_id[sample.id] = clean
    return arts, rows, by_id


def test_sample_site_repeat_rounded_and_conflict_cases(wh, sample_batch):
    arts, rows, by_id = sample_batch
    load(wh, *[(a, [r for r in rows if r.article_url == a.url]) for a in arts])
    facts = facts_by_key(wh)

    # 1019 and 1029 report Đông Anh's 2023 membership with the same figure
    repeat = facts[("LĐLĐ huyện Đông Anh", "members_total", "2023", "")]
    assert (repeat["value"], repeat["mentions"], repeat["rule"], repeat["conflicts"]) == (
        12430,
        2,
        RULE_SAME,
        0,
    )
    assert set(repeat["article_urls"]) == {by_id[1019].url, by_id[1029].url}

    # 1023 says "trên 7.500", 1037 says 7.512: the exact figure wins whichever is newer
    rounded = facts[("LĐLĐ huyện Sóc Sơn", "members_total", "2024", "")]
    assert (rounded["value"], rounded["qualifier"], rounded["mentions"]) == (7512, "exact", 2)
    rounded_is_newer = by_id[1023].published > by_id[1037].published
    assert rounded["rule"] == (RULE_PRECISE if rounded_is_newer else RULE_RECENT)
    assert rounded["chosen_url"] == by_id[1037].url

    # 1026 (286 CĐCS) and 1035 (312 CĐCS) disagree beyond rounding
    key = ("LĐLĐ quận Hoàng Mai", "unions_total", "2024", "")
    conflict = facts[key]
    newer, older = sorted((by_id[1026], by_id[1035]), key=lambda a: a.published, reverse=True)
    assert conflict["conflicts"] == 1 and conflict["chosen_url"] == newer.url
    listed = [c for c in conflicts_of(wh) if (c["organization"], c["metric"]) == key[:2]]
    assert [(c["article_url"], c["fact_url"]) for c in listed] == [(older.url, newer.url)]
    assert {c["value"] for c in listed} | {conflict["value"]} == {286, 312}
    assert count_conflicts(wh, [key]) == 1
    assert count_conflicts(wh) == len(
        {(c["organization"], c["metric"], c["period"], c["detail"]) for c in conflicts_of(wh)}
    )
    assert_consistent(wh)
