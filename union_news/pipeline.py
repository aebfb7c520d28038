"""Run bookkeeping shared by the ingest flow, reprocessing and the benchmarks (no Prefect here)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

from union_news.models import CleanArticle, FetchedPage, MetricRow, QuarantinedRow

if TYPE_CHECKING:
    from union_news.profiles import SourceProfile

T = TypeVar("T")

# Human labels for the summary table, in pipeline order.
SUMMARY_LABELS: dict[str, str] = {
    "discovered": "pages discovered",
    "fetched": "pages fetched",
    "unchanged": "unchanged (304 / same content)",
    "fetch_failed": "fetch failures",
    "cleaned": "pages cleaned",
    "clean_failed": "pages without an article",
    "out_of_window": "articles outside the window",
    "rows_extracted": "metric rows extracted",
    "rows_loaded": "metric rows loaded (new)",
    "rows_unchanged": "metric rows already loaded",
    "rows_quarantined": "rows quarantined",
    "articles_inserted": "articles inserted",
    "articles_updated": "articles updated",
    "facts_in_conflict": "facts in conflict",
}


@dataclass
class RunSummary:
    """Counts per stage for one ingest run; what the CLI prints and the run artifact shows."""

    source: str = ""
    window: str = "all"
    discovered: int = 0
    fetched: int = 0
    unchanged: int = 0
    fetch_failed: int = 0
    cleaned: int = 0
    clean_failed: int = 0
    out_of_window: int = 0
    rows_extracted: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    articles_inserted: int = 0
    articles_updated: int = 0
    batches: int = 0
    seconds: float = 0.0
    quality_failed_batches: int = 0
    quality_messages: list[str] = field(default_factory=list)
    facts_in_conflict: int = 0
    # seconds spent inside each stage's own code (summed over batches) and in the orchestrator
    # (task-run bookkeeping, artifacts) while the flow body ran: see StageClock
    stage_seconds: dict[str, float] = field(default_factory=dict)
    orchestration_seconds: float = 0.0
    # run-level data quality, summed over the batches' reports (not part of as_dict)
    quality_keys: set[tuple] = field(default_factory=set, repr=False)
    quality_outcomes: dict[tuple[str, str, str], list] = field(default_factory=dict, repr=False)
    data_docs: str | None = None  # where Great Expectations wrote its Data Docs for this run
    _started: float = field(default_factory=time.perf_counter, repr=False)

    def finish(self) -> RunSummary:
        self.seconds = round(time.perf_counter() - self._started, 3)
        return self

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        for private in ("_started", "quality_keys", "quality_outcomes"):
            d.pop(private, None)
        d["quality"] = [
            {
                "suite": suite,
                "expectation": name,
                "severity": severity,
                "checked": checked,
                "failed": failed,
            }
            for (suite, name, severity), (checked, failed, _) in sorted(
                self.quality_outcomes.items(), key=lambda kv: (-kv[1][1], kv[0])
            )
        ]
        return d

    def record_quality(self, report) -> None:
        """Add one batch's quality report (a ``union_news.quality.QualityReport``)."""
        for row in report.rows_ok:
            self.quality_keys.add(
                (row.organization or "", row.metric, row.period or "", row.detail or "")
            )
        for o in report.outcomes:
            entry = self.quality_outcomes.setdefault(
                (o.suite, o.expectation, o.severity), [0, 0, None]
            )
            entry[0] += o.checked
            entry[1] += o.failed
            entry[2] = entry[2] or o.example
        self.data_docs = getattr(report, "data_docs_path", None) or self.data_docs

    def quality_markdown(self, conflicts: dict[str, int] | None = None) -> str:
        """The run-level data-quality artifact: totals, every expectation summed, conflicts."""
        conflicts = conflicts or {}
        lines = [
            "# Data quality of the run",
            "",
            f"- metric rows extracted: {self.rows_extracted}; loaded (new): {self.rows_loaded}; "
            f"already loaded: {self.rows_unchanged}; quarantined: {self.rows_quarantined}",
            f"- pages without an article (quarantined): {self.clean_failed}",
            f"- batches over the failure threshold: {self.quality_failed_batches}",
            f"- facts touched by this run: {conflicts.get('facts', 0)}; in conflict (articles "
            f"disagree beyond rounding): {conflicts.get('facts_in_conflict', 0)}, with "
            f"{conflicts.get('conflicting_mentions', 0)} conflicting mentions "
            "(`union-news report --conflicts` lists them)",
            "",
            "| suite | expectation | severity | checked | failed | example failing value |",
            "|---|---|---|---:|---:|---|",
        ]
        for (suite, name, severity), (checked, failed, example) in sorted(
            self.quality_outcomes.items(), key=lambda kv: (-kv[1][1], kv[0])
        ):
            cell = str(example or "").replace("|", "\\|").replace("\n", " ")[:80]
            lines.append(f"| {suite} | {name} | {severity} | {checked} | {failed} | {cell} |")
        lines.append("")
        lines.append(
            f"Great Expectations Data Docs: `{self.data_docs}`"
            if self.data_docs
            else "Great Expectations Data Docs: not built (`[quality] data_docs_dir` is empty)."
        )
        return "\n".join(lines) + "\n"

    def table_rows(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = [
            {"stage": label, "count": getattr(self, key)} for key, label in SUMMARY_LABELS.items()
        ]
        rows.append({"stage": "time taken (s)", "count": self.seconds})
        return rows


class StageClock:
    """Where a run's time goes: ``busy`` seconds inside each stage's code (recorded by the stage
    itself with :func:`stage_timer`) and ``calls`` seconds of each call to a stage as the flow
    saw it (orchestration included). ``orchestration()`` is the sum of the differences; a call
    under a name no stage records (an artifact, say) counts whole as orchestration.

    Thread safe; stages running in other threads of the run record into the same clock when the
    thread runs in a copy of the flow's context (as Prefect's thread pool does).
    """

    def __init__(self) -> None:
        self.busy: dict[str, float] = {}
        self.calls: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, table: dict[str, float], name: str, seconds: float) -> None:
        with self._lock:
            table[name] = table.get(name, 0.0) + seconds

    @contextmanager
    def call(self, name: str) -> Iterator[None]:
        """Time one call to a stage (a task run) from the caller's side."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(self.calls, name, time.perf_counter() - started)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time stage code run directly by the flow (no task around it)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(self.busy, name, time.perf_counter() - started)

    def orchestration(self) -> float:
        with self._lock:
            return sum(max(0.0, t - self.busy.get(name, 0.0)) for name, t in self.calls.items())

    def stage_seconds(self) -> dict[str, float]:
        with self._lock:
            return {k: round(v, 4) for k, v in self.busy.items()}


_CLOCK: ContextVar[StageClock | None] = ContextVar("union_news_stage_clock", default=None)


@contextmanager
def stage_clock(clock: StageClock | None = None) -> Iterator[StageClock]:
    """Make ``clock`` (a new one by default) the clock of the stages run in this context."""
    clock = clock or StageClock()
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


@contextmanager
def stage_timer(name: str) -> Iterator[None]:
    """Record the enclosed stage code as busy time of ``name`` on the current clock, if any."""
    clock = _CLOCK.get()
    if clock is None:
        yield
        return
    with clock.stage(name):
        yield


# --- worker processes for the CPU-bound stages ------------------------------------------------


def quarantine_page(page: FetchedPage, reason: str) -> QuarantinedRow:
    """The quarantine record of a page that held no article."""
    url = page.final_url or page.url
    return QuarantinedRow(
        kind="page",
        suite="clean",
        expectation="article_extractable",
        reason=reason,
        row={"url": url, "status": page.status},
        article_url=url,
    )


def clean_page(page: FetchedPage, profile: SourceProfile | None) -> CleanArticle | QuarantinedRow:
    """One fetched page cleaned, or its quarantine record when it holds no article."""
    from union_news.cleaning import CleaningError, clean_document

    try:
        article = clean_document(
            page.body() or "", url=page.url, profile=profile, content_type=page.content_type
        )
    except CleaningError as err:
        return quarantine_page(page, str(err))
    article.source = page.source or article.source
    return article


def _clean_chunk(pages: list[FetchedPage], profile: SourceProfile | None) -> list:
    return [clean_page(p, profile) for p in pages]


def _extract_chunk(articles: list[CleanArticle]) -> list[list[MetricRow]]:
    from union_news.extraction import extract_metrics

    return [extract_metrics(a) for a in articles]


def _fetch_chunk(
    profile: SourceProfile,
    candidates: list,
    validators: dict[str, tuple[str | None, str | None]],
    settings: dict | None,
) -> list:
    """Fetch candidates in a worker process: a page or a failure per candidate, in order; pages
    packed (smaller to send, and the run holds them until their batch loads)."""
    from union_news.fetching import fetch_each

    return fetch_each(_worker_fetcher(profile, settings), candidates, validators, pack=True)


# In a worker process: the run's shared request spacing, and one Fetcher per profile/settings
# (sessions, robots.txt and address checks kept between chunks).
_WORKER_PACE = None
_WORKER_FETCHERS: dict[bytes, object] = {}


def _worker_fetcher(profile: SourceProfile, settings: dict | None):
    import pickle

    from union_news.fetching import Fetcher

    key = pickle.dumps((profile, settings))
    fetcher = _WORKER_FETCHERS.get(key)
    if fetcher is None:
        fetcher = _WORKER_FETCHERS[key] = Fetcher(profile, settings, pace=_WORKER_PACE)
    return fetcher


def _warm_worker(parent: int | None = None, pace_lock=None, pace_last=None) -> None:
    """Import the stages' modules and compile the catalog before the first batch arrives."""
    global _WORKER_PACE
    _exit_with_parent(parent)
    _process_name("union-news-work")
    from union_news.catalog import default_catalog
    from union_news.cleaning import clean_document  # noqa: F401 - imported to warm up
    from union_news.fetching import SharedPace

    if pace_lock is not None:
        _WORKER_PACE = SharedPace(pace_lock, pace_last)
    default_catalog()


def _process_name(name: str) -> None:
    """Name this process as ``ps``/``top`` show it (Linux; at most 15 characters): a run's
    workers and validator are told apart from the flow process and from each other."""
    with contextlib.suppress(OSError), open("/proc/self/comm", "w", encoding="ascii") as comm:
        comm.write(name[:15])


def _exit_with_parent(parent: int | None = None, interval: float = 0.5) -> None:
    """End this worker when the run that started it (process ``parent``) is gone: a run
    SIGKILLed (OOM killer, ``kill -9``) cannot shut its pool down, and its workers would
    otherwise wait for work forever as orphans."""
    import os

    parent = parent or os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="union-news-parent-watch", daemon=True).start()


class WorkerPool:
    """Worker processes a run cleans and extracts in (CPU-bound: trafilatura, lxml, regexes),
    and fetches in when the source asks no spacing between requests (``fetch``).

    Workers are spawned (never forked from a process that runs threads) and import the stage
    modules at once, so they are warm when the first batch is fetched. Work is sent in chunks of
    a few pages and comes back in input order. Requests sent by the workers share one spacing
    (``union_news.fetching.SharedPace``), so the pool never fetches faster than one process.
    """

    def __init__(self, workers: int) -> None:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        self.workers = max(1, int(workers))
        context = multiprocessing.get_context("spawn")
        self._executor = ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_warm_worker,
            # a worker ends when this process is gone; its requests share one spacing
            initargs=(os.getpid(), context.Lock(), context.Value("d", 0.0, lock=False)),
        )
        for _ in range(self.workers):  # start every worker now, not at the first batch
            self._executor.submit(int, 0)

    def _map(self, fn, items: list, *extra) -> list:
        size = max(1, min(16, -(-len(items) // (self.workers * 4))))
        parts = [items[i : i + size] for i in range(0, len(items), size)]
        futures = [self._executor.submit(fn, part, *extra) for part in parts]
        return [x for f in futures for x in f.result()]

    def fetch(
        self,
        profile: SourceProfile,
        candidates: list,
        validators: dict[str, tuple[str | None, str | None]],
        settings: dict | None = None,
    ) -> list:
        size = max(1, min(16, -(-len(candidates) // (self.workers * 4))))
        futures = []
        for i in range(0, len(candidates), size):
            part = candidates[i : i + size]
            known = {c.url: validators[c.url] for c in part if c.url in validators}
            futures.append(self._executor.submit(_fetch_chunk, profile, part, known, settings))
        return [x for f in futures for x in f.result()]

    def clean(self, pages: list[FetchedPage], profile: SourceProfile | None) -> list:
        return self._map(_clean_chunk, pages, profile)

    def extract(self, articles: list[CleanArticle]) -> list[list[MetricRow]]:
        return self._map(_extract_chunk, articles)

    def close(self) -> None:
        """Stop the workers without waiting for them to exit: each finishes its interpreter's
        teardown (~0.1 s) on its own while the run completes, and the executor still joins them
        (at the latest when this process exits)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


_POOL: ContextVar[WorkerPool | None] = ContextVar("union_news_worker_pool", default=None)


@contextmanager
def worker_pool(workers: int | None) -> Iterator[WorkerPool | None]:
    """A :class:`WorkerPool` of ``workers`` processes for the stages run in this context (none
    when ``workers`` is 0 or 1: the stages then run in the calling process)."""
    if not workers or workers < 2:
        yield None
        return
    pool = WorkerPool(workers)
    token = _POOL.set(pool)
    try:
        yield pool
    finally:
        _POOL.reset(token)
        pool.close()


# --- validation: Great Expectations, in a process of its own ---------------------------------


def _warm_validator(expectations: str, parent: int | None = None) -> None:
    """Import Great Expectations, compile the suites and the catalog (the quality frames check
    units against it) before the first batch arrives. In a process of its own (``parent``
    given) the modules GX imports but these suites never use load lazily (a third of its
    import time)."""
    from union_news.quality.runner import defer_unused_imports, warm_up

    if parent is not None:
        _exit_with_parent(parent)
        _process_name("union-news-gx")
        defer_unused_imports()
    from union_news.catalog import default_catalog

    with contextlib.suppress(Exception):  # a real problem shows in the validation itself
        warm_up(expectations)
        default_catalog()


def _validate(articles: list[CleanArticle], rows: list[MetricRow], options: dict):
    from union_news.quality import validate_batch

    return validate_batch(articles, rows, defer_data_docs=True, **options)


def _validate_remote(articles: list[CleanArticle], rows: list[MetricRow], options: dict):
    """``_validate`` in the validator process, answering with positions instead of copies of
    the kept articles and rows (the caller has them: no second copy of a batch in memory)."""
    report = _validate(articles, rows, options)
    kept_articles = {id(a) for a in report.articles_ok}
    kept_rows = {id(r) for r in report.rows_ok}
    positions = (
        [i for i, a in enumerate(articles) if id(a) in kept_articles],
        [i for i, r in enumerate(rows) if id(r) in kept_rows],
    )
    report.articles_ok, report.rows_ok = [], []
    return report, positions


def _build_data_docs() -> str | None:
    from union_news.quality import build_deferred_data_docs

    return build_deferred_data_docs()


class Validator:
    """Where a run validates its batches with Great Expectations.

    By default in a process of its own (``[pipeline] validator_process``): importing Great
    Expectations and pandas costs seconds of CPU and validating a batch about a second, all
    holding the GIL, which in the flow process would stall fetching and loading. The process
    is spawned at once and warms up (imports, suites compiled) while discovery and the first
    fetches run; it also keeps the run's results and writes the Data Docs once, at the end of
    the run (``finish``). Without a process the same happens in a thread of the caller.

    The quality settings are resolved here, in the run's process, and passed with each batch,
    so both ways validate alike.
    """

    def __init__(self, process: bool = True) -> None:
        import os

        from union_news.quality import expectations_dir
        from union_news.settings import load_settings

        quality = load_settings().get("quality", {})
        self.options = {
            "max_failed_share": float(quality.get("max_failed_share", 0.25)),
            "data_docs_dir": str(quality.get("data_docs_dir", "") or ""),
            "expectations": str(expectations_dir()),
        }
        self._executor = None
        if process:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_validator,
                initargs=(self.options["expectations"], os.getpid()),
            )
            self._executor.submit(int, 0)  # start (and warm) it now
        else:
            self._warming = threading.Thread(
                target=_warm_validator,
                args=(self.options["expectations"],),
                name="union-news-gx-warm-up",
                daemon=True,
            )
            self._warming.start()

    def validate(self, articles: list[CleanArticle], rows: list[MetricRow]):
        """A batch's ``union_news.quality.QualityReport``."""
        if self._executor is None:
            return _validate(articles, rows, self.options)
        future = self._executor.submit(_validate_remote, articles, rows, self.options)
        report, (kept_articles, kept_rows) = future.result()
        report.articles_ok = [articles[i] for i in kept_articles]
        report.rows_ok = [rows[i] for i in kept_rows]
        return report

    def finish(self) -> str | None:
        """Write the Data Docs of every batch validated so far; their index page, if any."""
        if not self.options["data_docs_dir"]:
            return None
        if self._executor is not None:
            return self._executor.submit(_build_data_docs).result()
        return _build_data_docs()

    def close(self) -> None:
        if self._executor is not None:
            # not waiting: tearing down an interpreter that holds Great Expectations and pandas
            # takes the process ~0.5 s, which the run need not wait for (its results are in)
            self._executor.shutdown(wait=False, cancel_futures=True)
        else:  # results of a run that did not reach finish() stay out of the next run's docs
            from union_news.quality import drop_deferred_data_docs

            drop_deferred_data_docs()


_VALIDATOR: ContextVar[Validator | None] = ContextVar("union_news_validator", default=None)


@contextmanager
def validation(process: bool = True) -> Iterator[Validator]:
    """A :class:`Validator` for the batches validated in this context (see ``validate_all``)."""
    validator = Validator(process)
    token = _VALIDATOR.set(validator)
    try:
        yield validator
    finally:
        _VALIDATOR.reset(token)
        validator.close()


def validate_all(articles: list[CleanArticle], rows: list[MetricRow]):
    """Validate a batch with the run's :class:`Validator`, else in this process (Data Docs
    built at once, as ``union_news.quality.validate_batch`` does by default)."""
    validator = _VALIDATOR.get()
    if validator is not None:
        return validator.validate(articles, rows)
    from union_news.quality import validate_batch

    return validate_batch(articles, rows)


# Below this many items a batch is cheaper to process in the calling process than to ship.
MIN_POOL_ITEMS = 8


def fetch_in_pool(
    profile: SourceProfile,
    candidates: list,
    validators: dict[str, tuple[str | None, str | None]],
    settings: dict | None = None,
) -> list | None:
    """Fetch in the run's worker processes: a page or a failure per candidate, in order; None
    when there is no pool, the batch is small, or the source asks for spacing between requests
    (then the network, not the CPU, sets the pace, and one polite fetcher is the simple way)."""
    from union_news.fetching import min_delay_for

    pool = _POOL.get()
    if pool is None or len(candidates) < MIN_POOL_ITEMS or min_delay_for(profile, settings) > 0:
        return None
    return pool.fetch(profile, candidates, validators, settings)


def clean_all(
    pages: list[FetchedPage], profile: SourceProfile | None
) -> tuple[list[CleanArticle], list[QuarantinedRow]]:
    """Clean pages (in the run's worker pool when there is one), in input order: the articles
    and the quarantine records of the pages that held none. Pages without text are skipped."""
    pages = [p for p in pages if p.text is not None or p.packed is not None]
    pool = _POOL.get()
    if pool is not None and len(pages) >= MIN_POOL_ITEMS:
        results = pool.clean(pages, profile)
    else:
        results = [clean_page(p, profile) for p in pages]
    articles = [r for r in results if isinstance(r, CleanArticle)]
    failures = [r for r in results if isinstance(r, QuarantinedRow)]
    return articles, failures


def extract_all(articles: list[CleanArticle]) -> list[MetricRow]:
    """Metric rows of every article in article order (in the run's worker pool if any)."""
    pool = _POOL.get()
    if pool is not None and len(articles) >= MIN_POOL_ITEMS:
        per_article = pool.extract(articles)
    else:
        per_article = _extract_chunk(articles)
    return [row for rows in per_article for row in rows]


def _malloc_trim():
    """glibc's ``malloc_trim`` (None elsewhere)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Give memory freed by a finished batch back to the operating system (glibc).

    A batch's pages, articles and rows arrive from the worker and validator processes through
    several threads; glibc keeps what they free in per-thread arenas, so without this a run's
    RSS creeps up with its length although the live data does not (tracemalloc: 38 MB at the
    peak of a 2,000-page run)."""
    if _TRIM is not None:
        _TRIM(0)


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items."""
    size = max(1, int(size))
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def in_window(published: datetime | date | None, since: date | None, until: date | None) -> bool:
    """True when the date is inside [since, until] (inclusive) or unknown."""
    if published is None:
        return True
    day = published.date() if isinstance(published, datetime) else published
    if since is not None and day < since:
        return False
    return not (until is not None and day > until)


def window_label(since: date | None, until: date | None) -> str:
    if since is None and until is None:
        return "all"
    return f"{since.isoformat() if since else '…'}..{until.isoformat() if until else '…'}"
