"""The warehouse on SQLite and PostgreSQL: migrations, idempotent and atomic loads, rows replaced
as a whole, a load killed mid-way, windows, the fetch log, reprocessing and masked secrets.

Pages are small Vietnamese articles written here, cleaned and extracted by the real stages.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from union_news.cleaning import clean_document
from union_news.extraction import EXTRACTOR_VERSION, extract_metrics
from union_news.models import FetchedPage, FetchFailure, MetricRow, QuarantinedRow
from union_news.warehouse import LoadBatch, LoadStats, Warehouse, WarehouseError, row_key

ROOT = Path(__file__).resolve().parents[1]
BASE = "http://127.0.0.1:8123"
SOURCE = "sample"
DISTRICTS = [
    "Đông Anh",
    "Gia Lâm",
    "Sóc Sơn",
    "Thanh Trì",
    "Mê Linh",
    "Ba Vì",
    "Quốc Oai",
    "Thạch Thất",
]


def page_html(n: int, admitted: int = 1200, gifts: int = 400) -> tuple[str, datetime]:
    """A small article of district n (published on day n of March 2024)."""
    district = DISTRICTS[n % len(DISTRICTS)]
    published = datetime(2024, 3, 1 + n % 28, 9, 15)
    html = f"""<!doctype html><html><head>
<title>LĐLĐ huyện {district} tổng kết công tác năm 2023</title>
<meta property="article:published_time" content="{published.isoformat()}+07:00"></head><body>
<article><h1>LĐLĐ huyện {district} tổng kết công tác năm 2023</h1>
<p>Trong năm 2023, Liên đoàn Lao động huyện {district} đã kết nạp {admitted:,} đoàn viên mới,
thành lập thêm {10 + n} công đoàn cơ sở tại các doanh nghiệp ngoài nhà nước.</p>
<p>Nhân dịp Tết Nguyên đán, LĐLĐ huyện đã trao {gifts} suất quà cho đoàn viên, người lao động
có hoàn cảnh khó khăn.</p>
<p>Đến nay toàn huyện có {30000 + 100 * n:,} đoàn viên sinh hoạt tại các công đoàn cơ sở.</p>
</article></body></html>""".replace(",", ".")
    return html, published


def make_page(n: int, **kw) -> FetchedPage:
    html, _ = page_html(n, **kw)
    return FetchedPage(
        url=f"{BASE}/tong-ket-{n}.html",
        final_url=f"{BASE}/tong-ket-{n}.html",
        status=200,
        text=html,
        etag=f'"v{n}"',
        source=SOURCE,
        fetched_at=datetime(2024, 4, 1, 10, n % 60, tzinfo=UTC),
    )


def make_batch(
    numbers, run_id: str = "run-1", validate: bool = False, version: str | None = None, **kw
) -> LoadBatch:
    """Pages cleaned and extracted by the real stages, a quarantined row, a fetch failure."""
    pages = [make_page(n, **kw) for n in numbers]
    articles = []
    for page in pages:
        article = clean_document(page.text, url=page.url)
        article.source = SOURCE
        articles.append(article)
    rows = [r for a in articles for r in extract_metrics(a)]
    quarantined = [
        QuarantinedRow(
            kind="metric",
            suite="metric_rows",
            expectation="value_positive",
            reason="value must be positive",
            row={"metric": "gifts", "value": -1, "n": n},
            article_url=pages[0].url if pages else None,
        )
        for n in numbers
    ]
    if validate:
        from union_news.quality import validate_batch

        report = validate_batch(articles, rows, data_docs_dir="")
        articles, rows = list(report.articles_ok), list(report.rows_ok)
        quarantined = list(report.quarantined)
    failures = [
        FetchFailure(
            url=f"{BASE}/hong-{n}.html",
            error="http_500",
            status=500,
            attempts=3,
            detail="server error",
            source=SOURCE,
            at=datetime(2024, 4, 1, 11, 0, tzinfo=UTC),
        )
        for n in numbers
    ]
    return LoadBatch(
        pages=pages,
        articles=articles,
        rows=rows,
        quarantined=quarantined,
        failures=failures,
        run_id=run_id,
        source=SOURCE,
        extractor_version=version,
    )


def make_batches() -> list[LoadBatch]:
    """Three batches of the same 'site' (used in-process and by the killed subprocess)."""
    return [make_batch(range(0, 4)), make_batch(range(4, 8)), make_batch(range(8, 12))]


@pytest.fixture
def wh(warehouse_url):
    warehouse = Warehouse(warehouse_url)
    warehouse.upgrade()
    yield warehouse
    warehouse.dispose()


def _reference(batches, tmp_path, name="reference") -> dict:
    """Snapshot of a clean SQLite load of ``batches``."""
    ref = Warehouse(f"sqlite:///{tmp_path / (name + '.db')}")
    ref.upgrade()
    for b in batches:
        ref.load_batch(b)
    snap = ref.snapshot()
    ref.dispose()
    return snap


# --------------------------------------------------------------------------- migrations


def test_upgrade_creates_the_schema_and_is_rerunnable(warehouse_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from union_news.warehouse.schema import TABLES, metadata

    warehouse = Warehouse(warehouse_url)
    try:
        assert warehouse.current_revision() is None
        assert set(warehouse.table_counts().values()) == {None}
        warehouse.upgrade()
        warehouse.upgrade()  # a second run is a no-op
        assert warehouse.current_revision() == Warehouse.head_revision() is not None
        assert warehouse.table_counts() == dict.fromkeys(TABLES, 0)
        with warehouse.engine.connect() as conn:  # the migrations match the models
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        # Concurrent upgrades of one database (two flows starting at once) do not collide.
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: Warehouse(warehouse_url).upgrade(), range(4)))
    finally:
        warehouse.dispose()


def test_a_warehouse_at_head_is_not_handed_to_alembic(tmp_path):
    """``HEAD_REVISION`` is Alembic's head; a run starting on a warehouse already there reads
    its revision and goes on without importing Alembic; one at an older revision is upgraded."""
    import subprocess
    import sys

    from union_news.warehouse import HEAD_REVISION

    assert Warehouse.head_revision() == HEAD_REVISION
    url = f"sqlite:///{tmp_path / 'w.db'}"
    warehouse = Warehouse(url)
    try:
        warehouse.upgrade("0001")
        assert not warehouse._at_head()
        warehouse.upgrade()
        assert warehouse._at_head() and warehouse.current_revision() == HEAD_REVISION
    finally:
        warehouse.dispose()
    code = (
        "import sys; from union_news.warehouse import Warehouse; "
        f"w = Warehouse({url!r}); w.upgrade(); w.dispose(); "
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_migrations_run_from_the_package_without_alembic_ini(tmp_path):
    from union_news.warehouse.migrations import SCRIPT_LOCATION, alembic_config

    assert alembic_config().get_main_option("script_location") == str(SCRIPT_LOCATION)
    assert (SCRIPT_LOCATION / "env.py").is_file()
    assert not (ROOT / "alembic.ini").exists()
    # From another working directory, through the command line.
    from typer.testing import CliRunner

    from union_news.cli import app

    os.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    first = CliRunner().invoke(app, ["db", "upgrade", "--warehouse", url])
    assert first.exit_code == 0, first.output
    assert "upgraded empty -> " in first.output
    again = CliRunner().invoke(app, ["db", "upgrade", "--warehouse", url])
    assert again.exit_code == 0 and "already at revision" in again.output
    status = CliRunner().invoke(app, ["db", "status", "--warehouse", url])
    assert status.exit_code == 0 and "up to date" in status.output
    assert "metric_rows" in status.output


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url):
    warehouse = Warehouse(sqlite_url)
    warehouse.upgrade()
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    warehouse.dispose()


# --------------------------------------------------------------------------- idempotent loads


def test_same_batch_twice_changes_nothing(wh):
    batch = make_batch(range(3))
    first = wh.load_batch(batch)
    assert first.articles_inserted == 3 and first.rows_inserted == len(batch.rows) > 0
    assert first.quarantined == 3 and first.failures == 3 and first.pages_stored == 3
    before = wh.snapshot(lineage=True)

    second = wh.load_batch(batch)
    assert second == LoadStats(articles_unchanged=3, rows_unchanged=len(batch.rows))
    assert not second.changed
    assert wh.snapshot(lineage=True) == before  # not even a load time moved

    # A rerun of the window (new run id, pages fetched again with the same content) too.
    rerun = make_batch(range(3), run_id="run-2")
    assert wh.load_batch(rerun) == second
    assert wh.snapshot(lineage=True) == before


def test_rows_keyed_by_natural_key_and_duplicates_collapse(wh):
    batch = make_batch([0])
    dup = replace(batch.rows[0], evidence=batch.rows[0].evidence)
    batch.rows.append(dup)  # the same figure twice: one row
    stats = wh.load_batch(batch)
    stored = wh.metric_rows()
    assert stats.rows_inserted == len(stored) == len(batch.rows) - 1
    keys = {row_key(r) for r in batch.rows}
    assert {r["row_key"] for r in stored} == keys
    assert all(
        r["extractor_version"] == EXTRACTOR_VERSION and r["flow_run_id"] == "run-1" for r in stored
    )
    # Natural key: 120 and 120.0 are one figure.
    assert row_key(replace(dup, value=int(dup.value))) == row_key(dup)


def test_changed_text_replaces_the_articles_rows_as_a_whole(wh):
    wh.load_batch(make_batch(range(3)))
    old = {r["row_key"]: r for r in wh.metric_rows()}
    changed_url = f"{BASE}/tong-ket-1.html"
    before_other = [r for r in old.values() if r["article_url"] != changed_url]

    # Article 1 is corrected on the site: other figures.
    batch = make_batch(range(3), run_id="run-2")
    fixed = make_batch([1], admitted=1350, gifts=450, run_id="run-2")
    batch.pages[1], batch.articles[1] = fixed.pages[0], fixed.articles[0]
    batch.rows = [r for r in batch.rows if r.article_url != changed_url] + fixed.rows
    stats = wh.load_batch(batch)

    old_changed = [r for r in old.values() if r["article_url"] == changed_url]
    assert stats.articles_updated == 1 and stats.articles_unchanged == 2
    assert stats.rows_deleted == len(old_changed)
    assert stats.rows_inserted == len(fixed.rows)
    now = wh.metric_rows(article_url=changed_url)
    assert {r["value"] for r in now} >= {1350.0, 450.0}
    assert all(r["flow_run_id"] == "run-2" for r in now)  # replaced, not patched
    # The other articles' rows were not touched at all.
    assert [r for r in wh.metric_rows() if r["article_url"] != changed_url] == before_other


def test_new_extractor_version_replaces_rows(wh):
    batch = make_batch(range(2))
    wh.load_batch(batch)
    count = len(wh.metric_rows())
    stats = wh.load_batch(replace(batch, extractor_version="99.0", run_id="run-9"))
    assert stats.articles_updated == 2
    assert stats.rows_deleted == stats.rows_inserted == count
    rows = wh.metric_rows()
    assert {r["extractor_version"] for r in rows} == {"99.0"}
    assert {a["extractor_version"] for a in wh.articles()} == {"99.0"}


def test_quarantine_is_not_duplicated_on_rerun(wh):
    batch = make_batch(range(2))
    wh.load_batch(batch)
    wh.load_batch(replace(batch, run_id="run-2"))
    entries = wh.quarantine()
    assert len(entries) == 2
    assert {e["flow_run_id"] for e in entries} == {"run-1"}


def test_rows_of_an_article_not_in_the_batch_are_quarantined(wh):
    batch = make_batch([0])
    stray = MetricRow(
        metric="members_total", value=10, article_url=f"{BASE}/khong-co.html", evidence="x"
    )
    stats = wh.load_batch(replace(batch, rows=batch.rows + [stray]))
    assert stats.rows_inserted == len(batch.rows)
    held = wh.quarantine(article_url=f"{BASE}/khong-co.html")
    assert len(held) == 1 and held[0]["expectation"] == "article_loaded"


# --------------------------------------------------------------------------- atomicity


def test_a_failing_statement_leaves_no_trace_of_the_batch(wh):
    wh.load_batch(make_batch([0]))
    before = wh.snapshot(lineage=True)
    batch = make_batch([1, 2])
    bad = replace(batch.rows[-1], evidence=None)  # violates NOT NULL, after everything else
    with pytest.raises(WarehouseError) as err:
        wh.load_batch(replace(batch, rows=batch.rows[:-1] + [bad]))
    assert "loading a batch failed" in str(err.value)
    assert "INSERT" not in str(err.value)  # one line, no SQL or data in the message
    assert wh.snapshot(lineage=True) == before


def test_an_exception_after_the_rows_rolls_everything_back(wh, monkeypatch):
    wh.load_batch(make_batch([0]))
    before = wh.snapshot(lineage=True)
    calls = []

    def boom(conn, affected):
        calls.append(set(affected))
        raise RuntimeError("crash after the rows were written")

    monkeypatch.setattr(wh, "_after_rows", boom)
    with pytest.raises(RuntimeError):
        wh.load_batch(make_batch([1, 2]))
    assert calls and calls[0]  # the hook saw the affected keys
    assert wh.snapshot(lineage=True) == before


def test_after_rows_hook_gets_the_affected_keys(wh, monkeypatch):
    seen: list[set] = []
    monkeypatch.setattr(wh, "_after_rows", lambda conn, keys: seen.append(set(keys)))
    batch = make_batch([0])
    wh.load_batch(batch)
    wh.load_batch(batch)
    expected = {(r.organization, r.metric, r.period, r.detail) for r in batch.rows}
    assert seen == [expected, set()]


KILLED_LOADER = """
import sys, time
from tests.test_warehouse import make_batches
from union_news.warehouse import Warehouse

url, flag = sys.argv[1], sys.argv[2]
warehouse = Warehouse(url)
warehouse.upgrade()
first, second, _ = make_batches()
warehouse.load_batch(first)

def hang(conn, keys):
    open(flag, "w").close()  # rows of the second batch are written, not committed
    time.sleep(600)

warehouse._after_rows = hang
warehouse.load_batch(second)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_load_killed_midway_then_rerun_equals_a_clean_run(warehouse_url, tmp_path):
    flag = tmp_path / "in-transaction"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOADER, warehouse_url, str(flag)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            if proc.poll() is not None:
                pytest.fail(f"loader ended early: {proc.stdout.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, "the loader never reached the second batch"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # no cleanup, no rollback by the client
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    batches = make_batches()
    warehouse = Warehouse(warehouse_url)
    try:
        # Only the committed first batch is there.
        assert warehouse.snapshot() == _reference(batches[:1], tmp_path, "first")
        for batch in batches:  # the rerun
            warehouse.load_batch(batch)
        assert warehouse.snapshot() == _reference(batches, tmp_path, "clean")
    finally:
        warehouse.dispose()


def test_concurrent_overlapping_loads(warehouse_url, tmp_path):
    batches = make_batches()
    both = LoadBatch(
        pages=batches[0].pages + batches[1].pages,
        articles=batches[0].articles + batches[1].articles,
        rows=batches[0].rows + batches[1].rows,
        source=SOURCE,
        run_id="run-1",
    )
    warehouse = Warehouse(warehouse_url)
    warehouse.upgrade()
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(warehouse.load_batch, [batches[0], both, batches[1], both]))
        ref = _reference([batches[0], batches[1]], tmp_path)
        assert warehouse.snapshot() == ref
    finally:
        warehouse.dispose()


# --------------------------------------------------------------------------- pages, windows, log


def test_known_pages_and_stored_pages(wh):
    batch = make_batch(range(4))
    wh.load_batch(batch)
    known = wh.known_pages([p.url for p in batch.pages] + [f"{BASE}/chua-co.html"])
    assert set(known) == {p.url for p in batch.pages}
    assert known[batch.pages[0].url].etag == '"v0"'
    assert len(known[batch.pages[0].url].content_hash) == 64
    # Published 2024-03-01 .. 2024-03-04: the window takes days 2 and 3, both included.
    pages = list(wh.stored_pages(date(2024, 3, 2), date(2024, 3, 3)))
    assert [p.url for p in pages] == [batch.pages[1].url, batch.pages[2].url]
    assert pages[0].text == batch.pages[1].text and pages[0].source == SOURCE
    assert pages[0].fetched_at == batch.pages[1].fetched_at
    assert len(list(wh.stored_pages(None, None))) == 4
    assert list(wh.stored_pages(date(2025, 1, 1), None)) == []


def test_windows_are_recorded_and_overwritten(wh):
    since, until = date(2024, 3, 1), date(2024, 3, 31)
    wh.record_window(SOURCE, since, until, "running", "run-1")
    [rec] = wh.windows(SOURCE)
    assert (rec.status, rec.run_id, rec.flow_run_id, rec.summary) == (
        "running",
        "run-1",
        "run-1",
        None,
    )
    wh.record_window(
        SOURCE,
        since,
        until,
        "completed",
        "run-1",
        {"rows_loaded": 12, "window": "2024-03", "day": date(2024, 3, 1)},
    )
    wh.record_window("other", since, until, "failed", "run-2")
    [rec] = wh.windows(SOURCE)
    assert rec.status == "completed" and rec.updated_at.tzinfo is not None
    assert rec.summary == {"rows_loaded": 12, "window": "2024-03", "day": "2024-03-01"}
    assert [(w.source, w.status) for w in wh.windows()] == [
        ("other", "failed"),
        (SOURCE, "completed"),
    ]
    with pytest.raises(ValueError):
        wh.record_window(SOURCE, since, until, "done", "run-3")


def test_failed_urls_lifecycle(wh):
    url = f"{BASE}/tong-ket-5.html"
    failure = FetchFailure(
        url=url,
        error="timeout",
        attempts=4,
        detail="read timed out",
        at=datetime(2024, 4, 2, tzinfo=UTC),
    )
    stats = wh.load_batch(LoadBatch(failures=[failure], source=SOURCE, run_id="r1"))
    assert stats.failures == 1
    assert wh.failed_urls(SOURCE) == [url] and wh.failed_urls("other") == []
    # Failing again the same way changes nothing.
    assert wh.load_batch(LoadBatch(failures=[failure], source=SOURCE)).failures == 0
    # Fetched OK on the next run: no longer retried.
    wh.load_batch(make_batch([5], run_id="r2"))
    assert url not in wh.failed_urls(SOURCE)
    [entry] = [e for e in wh.fetch_log(SOURCE) if e["url"] == url]
    assert entry["resolved"] is True and entry["resolved_at"] is not None
    # Broken again later: retried again.
    later = replace(failure, error="http_503", status=503, at=datetime(2024, 5, 1, tzinfo=UTC))
    assert wh.load_batch(LoadBatch(failures=[later], source=SOURCE)).failures == 1
    assert url in wh.failed_urls(SOURCE)


# --------------------------------------------------------------------------- backends agree


@pytest.mark.postgres
def test_sqlite_and_postgresql_end_with_identical_tables(sqlite_url, pg_url):
    snaps = []
    for url in (sqlite_url, pg_url):
        warehouse = Warehouse(url)
        warehouse.upgrade()
        for batch in make_batches():
            warehouse.load_batch(batch)
        warehouse.load_batch(make_batches()[1])  # and a rerun
        warehouse.record_window(
            SOURCE, date(2024, 3, 1), date(2024, 3, 31), "completed", "r", {"rows": 3}
        )
        snaps.append(warehouse.snapshot())
        warehouse.dispose()
    assert snaps[0] == snaps[1]
    assert len(snaps[0]["metric_rows"]) > 20


@pytest.mark.postgres
def test_sample_site_loads_identically_into_sqlite_and_postgresql(sqlite_url, pg_url):
    sample_site = pytest.importorskip("union_news.sample_site")
    from union_news.profiles import load_profile

    profile = load_profile("sample", base_url=BASE)
    pages, articles, rows = [], [], []
    for item in sample_site.load_sample_articles():
        html = sample_site.render_article_html(item, BASE)
        url = BASE + item.path
        page = FetchedPage(
            url=url,
            final_url=url,
            status=200,
            text=html,
            source="sample",
            fetched_at=datetime(2024, 6, 1, tzinfo=UTC),
        )
        try:
            article = clean_document(html, url=url, profile=profile)
        except ValueError:
            continue
        article.source = "sample"
        pages.append(page)
        articles.append(article)
        rows.extend(extract_metrics(article))
    assert articles, "the sample site has no article"
    snaps = []
    for url in (sqlite_url, pg_url):
        warehouse = Warehouse(url)
        warehouse.upgrade()
        batch = LoadBatch(pages=pages, articles=articles, rows=rows, source="sample", run_id="r")
        warehouse.load_batch(batch)
        assert not warehouse.load_batch(batch).changed
        snaps.append(warehouse.snapshot())
        warehouse.dispose()
    assert snaps[0] == snaps[1]
    assert len(snaps[0]["articles"]) == len(articles)


# --------------------------------------------------------------------------- reprocess


@pytest.mark.slow
def test_reprocess_cli_replaces_exactly_the_changed_articles(wh, monkeypatch):
    from typer.testing import CliRunner

    import union_news.extraction as extraction
    from union_news.cli import app

    wh.load_batch(make_batch(range(4), validate=True))
    before = wh.snapshot(lineage=True)
    old_rows = wh.metric_rows()
    assert old_rows

    runner = CliRunner()
    same = runner.invoke(app, ["reprocess", "--warehouse", wh.url])
    assert same.exit_code == 0, same.output
    assert wh.snapshot(lineage=True) == before  # same code, same pages: nothing written

    # A new extractor that no longer reports gifts, run over 2024-03-02..03 only.
    real = extraction.extract_metrics
    monkeypatch.setattr(extraction, "EXTRACTOR_VERSION", "2.0.0-test")
    monkeypatch.setattr(
        extraction,
        "extract_metrics",
        lambda a, *args, **kw: [r for r in real(a, *args, **kw) if r.metric != "gifts"],
    )
    changed = runner.invoke(
        app, ["reprocess", "--since", "2024-03-02", "--until", "2024-03-03", "--warehouse", wh.url]
    )
    assert changed.exit_code == 0, changed.output
    assert "articles updated" in changed.output

    touched = {f"{BASE}/tong-ket-1.html", f"{BASE}/tong-ket-2.html"}
    new_rows = wh.metric_rows()
    untouched_old = [r for r in old_rows if r["article_url"] not in touched]
    assert [r for r in new_rows if r["article_url"] not in touched] == untouched_old
    mine = [r for r in new_rows if r["article_url"] in touched]
    expected = [r for r in old_rows if r["article_url"] in touched and r["metric"] != "gifts"]
    assert {r["row_key"] for r in mine} == {r["row_key"] for r in expected}
    assert {r["extractor_version"] for r in mine} == {"2.0.0-test"}
    assert {r["flow_run_id"] for r in mine} != {"run-1"}
    # The raw pages are untouched (no refetch), and the articles' versions moved.
    versions = {a["url"]: a["extractor_version"] for a in wh.articles()}
    assert {u for u, v in versions.items() if v == "2.0.0-test"} == touched
    assert wh.snapshot(lineage=True)["raw_pages"] == before["raw_pages"]


def test_reprocess_retires_an_article_that_no_longer_cleans(wh, monkeypatch):
    from union_news.cleaning import CleaningError
    from union_news.warehouse.reprocess import reprocess

    wh.load_batch(make_batch(range(2)))
    gone = f"{BASE}/tong-ket-0.html"

    import union_news.cleaning as cleaning

    real = cleaning.clean_document

    def picky(content, url=None, **kw):
        if url == gone:
            raise CleaningError("no article body found (test)")
        return real(content, url=url, **kw)

    monkeypatch.setattr(cleaning, "clean_document", picky)
    result = reprocess(wh, batch_size=1)
    assert result.clean_failed == 1 and result.batches == 2
    assert result.stats.articles_deleted == 1
    assert wh.metric_rows(article_url=gone) == []
    assert gone not in {a["url"] for a in wh.articles()}
    assert gone in wh.known_pages([gone])  # the page itself stays stored
    assert any(q["kind"] == "page" for q in wh.quarantine(article_url=gone))


# --------------------------------------------------------------------------- secrets


def test_a_password_never_appears_in_errors_logs_or_reprs(caplog, tmp_path):
    secret = "Zq7-secret-pw"
    url = f"postgresql+psycopg://union:{secret}@127.0.0.1:1/warehouse"
    warehouse = Warehouse(url)
    assert secret not in repr(warehouse) and "***" in repr(warehouse)
    assert pickle.loads(pickle.dumps(warehouse)).url == url  # Prefect may hash task inputs
    with caplog.at_level(logging.DEBUG), pytest.raises(WarehouseError) as err:
        warehouse.upgrade()
    rendered = "".join(traceback.format_exception(err.value))
    assert "union:***@127.0.0.1:1" in str(err.value)
    assert secret not in rendered and secret not in caplog.text
    with pytest.raises(WarehouseError) as err:
        warehouse.load_batch(make_batch([0]))
    assert secret not in "".join(traceback.format_exception(err.value))

    from typer.testing import CliRunner

    from union_news.cli import app

    result = CliRunner().invoke(app, ["db", "status", "--warehouse", url])
    assert result.exit_code == 1
    assert secret not in result.output and "***" in result.output


# --------------------------------------------------------------------------- the fixtures


def test_postgres_tests_skip_on_a_laptop_and_fail_in_ci(monkeypatch):
    from tests.plugins import db

    monkeypatch.setattr(db, "PG_URL", "postgresql+psycopg://postgres:pw@127.0.0.1:1/test")
    db._pg_problem.cache_clear()
    try:
        monkeypatch.delenv("CI", raising=False)
        with pytest.raises(pytest.skip.Exception) as skipped:
            db.require_postgres()
        assert "is not reachable" in str(skipped.value) and ":pw@" not in str(skipped.value)
        monkeypatch.setenv("CI", "true")
        with pytest.raises(pytest.fail.Exception) as failed:
            db.require_postgres()
        assert "CI=true" in str(failed.value)
    finally:
        db._pg_problem.cache_clear()


# --------------------------------------------------------------------------- bulk executemany


def test_bulk_executemany_stores_what_sqlalchemy_would(tmp_path):
    """warehouse.bulk on SQLite: the same stored values (dates, JSON, floats, NULLs, times in
    two zones naming one instant) as ``conn.execute(stmt, rows)``; a driver error comes out as
    SQLAlchemy's (so a load turns it into a WarehouseError)."""
    from datetime import timedelta, timezone

    import sqlalchemy
    from sqlalchemy.dialects.sqlite import insert

    from union_news.warehouse.bulk import executemany
    from union_news.warehouse.schema import Article

    t = Article.__table__
    plus7 = timezone(timedelta(hours=7))
    rows = []
    for i in range(6):
        loaded = datetime(2024, 1, 2, 10, 0, tzinfo=plus7) if i % 2 else datetime(2024, 1, 2, 3)
        rows.append(
            {
                "url": f"u{i}",
                "canonical_url": None if i % 3 else f"c{i}",
                "source": "s",
                "title": f'tiêu đề {i} "q" \x00',
                "author": None,
                "published": [None, datetime(2024, 1, 1, 8), datetime(2024, 1, 1, 8, tzinfo=UTC)][
                    i % 3
                ],
                "fetched_at": datetime(2024, 1, 2, 10, 0, 0, 123456, tzinfo=plus7),
                "content_hash": "h" * 64,
                "extractor_version": "v",
                "clean_text": "x" * i,
                "captions": [] if i % 2 else ["ả", "b"],
                "related_titles": ["t"],
                "related_links": [f"l{i}"],
                "flow_run_id": None,
                "loaded_at": loaded,
            }
        )
    dumps = []
    for fast in (False, True):
        url = f"sqlite:///{tmp_path / f'bulk{fast}.db'}"
        warehouse = Warehouse(url)
        warehouse.upgrade()
        with warehouse.engine.begin() as conn:
            stmt = insert(t).on_conflict_do_nothing(index_elements=["url"])
            if fast:
                executemany(conn, "test", t, lambda stmt=stmt: stmt, rows)
            else:
                conn.execute(stmt, rows)
        with warehouse.engine.connect() as conn:
            dumps.append(
                [
                    tuple((type(v).__name__, v) for v in r)
                    for r in conn.exec_driver_sql("SELECT * FROM articles ORDER BY url")
                ]
            )
        with warehouse.engine.begin() as conn, pytest.raises(sqlalchemy.exc.IntegrityError):
            bad = [{**rows[0], "url": "v", "title": None}]
            executemany(conn, "test", t, lambda stmt=stmt: stmt, bad)
        warehouse.dispose()
    assert len(dumps[0]) == 6
    assert dumps[0] == dumps[1]
