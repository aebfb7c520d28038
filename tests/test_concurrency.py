"""Two ingest runs of the same window at once end with the same warehouse as one run.

Each run is its own OS process and its own Prefect flow run (forked by ``ingest_zygote``), both
start on an empty warehouse (so the migrations race too) and load the same pages, batch for
batch, at the same moments: the most contention two runs can have. Neither may fail (no unique
violation, no deadlock, no lock timeout) and the warehouse must equal one clean run's, facts
included (a fact rebuilt by one run from rows the other had not committed yet would differ).
"""

from __future__ import annotations

import pytest

from scripts.crash_loop import problems_after_kill, snapshot, snapshot_diff
from tests.plugins.crash import BATCH_SIZE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def run_together(zygote, url: str, base_url: str, starts: int = 2):
    children = [
        zygote.spawn(url, base_url, BATCH_SIZE, name=f"together-{i}") for i in range(starts)
    ]
    return [zygote.wait(child) for child in children]


def test_two_runs_of_the_same_window_at_once_equal_one_run(
    ingest_zygote, clean_run, sample_site, warehouse_url
):
    outcomes = run_together(ingest_zygote, warehouse_url, sample_site.base_url)
    for outcome in outcomes:
        assert outcome.completed, f"{outcome.describe()}\n{outcome.tail()}"
    # Two flow runs, not one run seen twice.
    assert len({o.result["flow_run_id"] for o in outcomes}) == 2
    got = snapshot(warehouse_url)
    assert snapshot_diff(got, clean_run.snapshot) == []
    assert got == clean_run.snapshot
    problems, held = problems_after_kill(warehouse_url, clean_run)
    assert problems == []
    assert held["articles"] == clean_run.articles and held["rows"] == clean_run.rows


# --------------------------------------------------------------------------- two loads, one key


def sample_batches_sharing_a_fact():
    """Two one-article batches of the sample site whose articles mention the same fact key
    (organization, metric, period, detail): cleaned and extracted by the real stages."""
    from collections import defaultdict
    from datetime import UTC, datetime

    from union_news.cleaning import clean_document
    from union_news.extraction import extract_metrics
    from union_news.facts import as_key
    from union_news.models import FetchedPage
    from union_news.profiles import load_profile
    from union_news.sample_site import load_sample_articles, render_article_html
    from union_news.warehouse import LoadBatch

    base = "http://127.0.0.1:8125"
    profile = load_profile("sample", base_url=base)
    by_key: dict = defaultdict(dict)
    loaded = {}
    for item in load_sample_articles():
        url = base + item.path
        html = render_article_html(item, base)
        try:
            article = clean_document(html, url=url, profile=profile)
        except ValueError:
            continue
        article.source = "sample"
        page = FetchedPage(
            url=url,
            final_url=url,
            status=200,
            text=html,
            source="sample",
            fetched_at=datetime(2024, 6, 1, tzinfo=UTC),
        )
        rows = extract_metrics(article)
        loaded[url] = (page, article, rows)
        for row in rows:
            by_key[as_key(row)][url] = True
    shared = sorted(k for k, urls in by_key.items() if len(urls) >= 2)
    assert shared, "no two sample articles mention the same fact"
    first, second = sorted(by_key[shared[0]])[:2]

    def batch(url, run):
        page, article, rows = loaded[url]
        return LoadBatch(pages=[page], articles=[article], rows=rows, source="sample", run_id=run)

    return shared[0], batch(first, "run-a"), batch(second, "run-b")


def test_two_loads_refreshing_the_same_fact_at_once(warehouse_url, tmp_path):
    """Load A is held open right after it rebuilt a fact; load B, of another article mentioning
    the same fact, runs meanwhile. Both must succeed and the fact must count both articles (B
    must not rebuild it from rows A had not committed, nor collide with A's new fact row)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from union_news.warehouse import Warehouse

    key, batch_a, batch_b = sample_batches_sharing_a_fact()
    a_rebuilt, release = threading.Event(), threading.Event()

    class HeldWarehouse(Warehouse):
        def _after_rows(self, conn, affected_keys):
            super()._after_rows(conn, affected_keys)
            if threading.current_thread().name.startswith("load-a"):
                a_rebuilt.set()
                release.wait(60)

    warehouse = HeldWarehouse(warehouse_url)
    warehouse.upgrade()
    try:
        with (
            ThreadPoolExecutor(1, thread_name_prefix="load-a") as pool_a,
            ThreadPoolExecutor(1, thread_name_prefix="load-b") as pool_b,
        ):
            future_a = pool_a.submit(warehouse.load_batch, batch_a)
            assert a_rebuilt.wait(60), "load A never reached its facts"
            future_b = pool_b.submit(warehouse.load_batch, batch_b)
            # B runs into A's open transaction (or, without a lock, races it); let A go.
            with pytest.raises(TimeoutError):
                future_b.result(timeout=2)  # B cannot finish while A holds its transaction
            release.set()
            future_a.result(timeout=60)
            future_b.result(timeout=60)
        reference = Warehouse(f"sqlite:///{tmp_path / 'sequential.db'}")
        reference.upgrade()
        reference.load_batch(batch_a)
        reference.load_batch(batch_b)
        want = reference.snapshot()
        reference.dispose()
        got = warehouse.snapshot()
        assert got == want
        fact = [f for f in got["facts"] if tuple(f[:4]) == key]
        assert fact, f"no fact for {key}"
    finally:
        release.set()
        warehouse.dispose()
