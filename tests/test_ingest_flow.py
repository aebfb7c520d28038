"""The ingest flow end to end in one process: the bundled sample site over loopback HTTP, the
real flow on a real Prefect server, the real warehouse (SQLite and PostgreSQL).

The warehouse must hold exactly the rows the sample articles declare (compared as a multiset on
metric, value, target, achievement_pct, qualifier, organization, period), none taken from a
related headline, and a second run of the same window must write nothing.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import MetaData, Table, create_engine, select

pytest.importorskip("union_news.sample_site.server", reason="sample site not built yet")
pytest.importorskip("union_news.warehouse.schema", reason="warehouse not built yet")
pytest.importorskip("tasks.discover", reason="discovery not built yet")

from flows.ingest import ingest  # noqa: E402
from union_news.sample_site import SampleSite, load_sample_articles  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _num(value):
    if value is None:
        return None
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value


def row_key(row) -> tuple:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return (
        get("metric"),
        _num(get("value")),
        _num(get("target")),
        _num(get("achievement_pct")),
        get("qualifier"),
        get("organization"),
        get("period"),
    )


def warehouse_rows(url: str) -> list[dict]:
    engine = create_engine(url)
    try:
        table = Table("metric_rows", MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table))]
    finally:
        engine.dispose()


def table_count(url: str, name: str) -> int:
    engine = create_engine(url)
    try:
        table = Table(name, MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return len(conn.execute(select(table)).all())
    finally:
        engine.dispose()


def expected_rows() -> Counter:
    return Counter(row_key(r) for a in load_sample_articles() for r in a.expected)


def run(server, site, url, **params):
    with server.settings():
        state = ingest(source="sample", base_url=site.base_url, warehouse_url=url,
                       return_state=True, **params)
    return state, state.result(raise_on_failure=False)


def test_sample_site_ingest_is_exact_and_idempotent(prefect_server, warehouse_url):
    articles = load_sample_articles()
    with SampleSite() as site:
        state, summary = run(prefect_server, site, warehouse_url)
        assert state.is_completed(), state.message
        rows = warehouse_rows(warehouse_url)
        got = Counter(row_key(r) for r in rows)
        want = expected_rows()
        assert got == want, {"missing": want - got, "unexpected": got - want}

        # Nothing came from a related headline: each row's evidence is in its own article's body.
        related = {t for a in articles for t in a.related_titles}
        for r in rows:
            assert r["evidence"] not in related
            assert not any(r["evidence"] in t for t in related), r["evidence"]

        # The summary tells the story and accounts for every row.
        pages = [a for a in articles if a.kind == "article"]
        assert summary["discovered"] >= len(pages)
        assert summary["rows_loaded"] == sum(want.values())
        assert summary["rows_extracted"] == summary["rows_loaded"] + summary["rows_quarantined"]
        assert summary["clean_failed"] == sum(1 for a in articles if a.kind == "no_article")
        # The sample site holds a genuine conflict (two articles disagree on one district's
        # number of grassroots unions): the run counts it.
        assert summary["facts_in_conflict"] >= 1

        # A rerun of the same window writes nothing and duplicates nothing.
        articles_before = table_count(warehouse_url, "articles")
        state2, summary2 = run(prefect_server, site, warehouse_url)
        assert state2.is_completed(), state2.message
        assert summary2["rows_loaded"] == 0
        assert summary2["articles_inserted"] == 0 and summary2["articles_updated"] == 0
        assert Counter(row_key(r) for r in warehouse_rows(warehouse_url)) == want
        assert table_count(warehouse_url, "articles") == articles_before

    # The run published its summary and data-quality artifacts to the server.
    run_id = str(state.state_details.flow_run_id)
    artifacts = prefect_server.artifacts(run_id) if hasattr(prefect_server, "artifacts") else \
        prefect_server.api("POST", "/artifacts/filter",
                           {"artifacts": {"flow_run_id": {"any_": [run_id]}}})
    keys = {a.get("key") for a in artifacts}
    assert {"ingest-summary", "data-quality"} <= keys


def test_window_bounds_limit_what_is_loaded(prefect_server, tmp_path):
    url = f"sqlite:///{tmp_path / 'window.db'}"
    articles = [a for a in load_sample_articles() if a.kind == "article"]
    days = sorted({a.published.date() for a in articles})
    since = until = days[len(days) // 2]
    inside = [a for a in articles if a.published.date() == since]
    with SampleSite() as site:
        state, summary = run(prefect_server, site, url, since=since, until=until)
    assert state.is_completed(), state.message
    want = Counter(row_key(r) for a in inside for r in a.expected)
    assert Counter(row_key(r) for r in warehouse_rows(url)) == want
    loaded = {r["article_url"] for r in warehouse_rows(url)}
    assert all(u.endswith(tuple(a.path for a in inside)) for u in loaded)
