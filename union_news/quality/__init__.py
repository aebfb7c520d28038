"""Data quality: validate a batch of articles and metric rows with Great Expectations.

The suites live in ``expectations/*.json`` (reviewable in git): every expectation carries a
``severity`` (critical: the failing row is quarantined; warning: kept and reported), a readable
description and a reason template. ``validate_batch`` splits a batch into what may load and what
is held back (``QuarantinedRow`` with suite, expectation and reason), and says whether the batch's
share of failing rows is above the threshold.

Importing this package does not import Great Expectations or pandas: both are loaded on the
first ``validate_batch`` call and the context and suites are cached for the process.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from union_news.models import CleanArticle, MetricRow, QuarantinedRow
from union_news.quality.figures import figure_in_text, figure_spellings
from union_news.quality.report import ExpectationOutcome, QualityReport, quality_failure_message

__all__ = [
    "ExpectationOutcome",
    "QualityReport",
    "build_deferred_data_docs",
    "drop_deferred_data_docs",
    "expectations_dir",
    "figure_in_text",
    "figure_spellings",
    "quality_failure_message",
    "suite_names",
    "validate_batch",
]

ARTICLES = "articles"
ROWS = "metric_rows"
_NULL_CHECKS = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}

# Results of batches validated with ``defer_data_docs``: (expectations dir, docs dir, run name,
# results per suite), written into Data Docs by ``build_deferred_data_docs`` (once per run).
_DEFERRED: list[tuple[str, str, str, dict[str, Any]]] = []


def expectations_dir() -> Path:
    """The folder of suite files: ``[quality] expectations_dir`` or the repository's."""
    from union_news.settings import load_settings

    configured = load_settings().get("quality", {}).get("expectations_dir")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "expectations"


def suite_names() -> dict[str, list[str]]:
    """Expectation names per suite, in file order (no Great Expectations needed)."""
    from union_news.quality.runner import read_suite

    return {s.name: [e.name for e in s.specs]
            for s in (read_suite(p) for p in sorted(expectations_dir().glob("*.json")))}


def validate_batch(
    articles: list[CleanArticle],
    rows: list[MetricRow],
    *,
    max_failed_share: float | None = None,
    data_docs_dir: str | None = None,
    known_metrics: set[str] | None = None,
    expectations: str | Path | None = None,
    defer_data_docs: bool = False,
) -> QualityReport:
    """Validate a batch; every row ends in ``rows_ok`` or in ``quarantined`` (kind ``metric``).

    ``max_failed_share`` defaults to settings ``[quality] max_failed_share``; ``data_docs_dir``
    to ``[quality] data_docs_dir`` (an empty string builds no Data Docs); ``known_metrics`` to
    the key list kept in ``expectations/metric_rows.json``; ``expectations`` (the suites'
    folder) to :func:`expectations_dir`. With ``defer_data_docs`` the results are kept and
    written into the Data Docs by :func:`build_deferred_data_docs` (a run builds its Data Docs
    once, not per batch: rendering them costs about as much as validating); the report already
    names the index page they will be in.
    """
    from union_news.quality import frames, runner
    from union_news.settings import load_settings

    started = time.perf_counter()
    settings = load_settings().get("quality", {})
    threshold = float(settings.get("max_failed_share", 0.25) if max_failed_share is None
                      else max_failed_share)
    docs_dir = settings.get("data_docs_dir", "") if data_docs_dir is None else data_docs_dir
    folder = str(expectations or expectations_dir())
    specs = {s.name: s for s in (runner.read_suite(p) for p in sorted(Path(folder).glob("*.json")))}

    article_frame = frames.articles_frame(articles)
    row_frame = frames.rows_frame(rows, articles)
    parameters = dict(specs[ROWS].parameters)
    parameters["tomorrow"] = (date.today() + timedelta(days=1)).isoformat()
    if known_metrics is not None:
        parameters["known_metrics"] = sorted(known_metrics)

    results: dict[str, Any] = {}
    outcomes: list[ExpectationOutcome] = []
    errors: list[str] = []
    failures: dict[str, dict[int, list[str]]] = {}  # suite -> position -> [expectation name]
    for suite_name, frame in ((ARTICLES, article_frame), (ROWS, row_frame)):
        suite = specs[suite_name]
        if frame.empty:
            outcomes += [_outcome(suite_name, spec, 0, 0, None) for spec in suite.specs]
            failures[suite_name] = {}
            continue
        result = runner.run_suite(folder, suite_name, frame, parameters)
        results[suite_name] = result
        failures[suite_name] = _collect(suite, result, frame, outcomes, errors)

    report = _split(articles, rows, article_frame, row_frame, specs, failures, outcomes)
    report.max_failed_share = threshold
    report.threshold_exceeded = report.failed_share > threshold
    report.errors = errors
    report.articles_checked, report.rows_checked = len(articles), len(rows)
    if docs_dir and results and defer_data_docs:
        run_name = f"batch-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        _DEFERRED.append((folder, docs_dir, run_name, results))
        report.data_docs_path = str(Path(docs_dir).resolve() / "index.html")
    elif docs_dir and results:
        report.data_docs_path = runner.build_data_docs(folder, results, docs_dir)
    report.seconds = time.perf_counter() - started
    return report


def build_deferred_data_docs() -> str | None:
    """Write the results kept by ``validate_batch(..., defer_data_docs=True)`` into their Data
    Docs sites (one build per site for all of them); the last index page written, if any."""
    from union_news.quality import runner

    pending = list(_DEFERRED)
    _DEFERRED.clear()
    sites: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for folder, docs_dir, run_name, results in pending:
        sites.setdefault((folder, docs_dir), []).append((run_name, results))
    index = None
    for (folder, docs_dir), batches in sites.items():
        index = runner.build_data_docs_for(folder, batches, docs_dir)
    return index


def drop_deferred_data_docs() -> None:
    """Forget results kept for Data Docs that will not be written (a run that ended early):
    a long-lived process must not carry them into its next run."""
    _DEFERRED.clear()


def _outcome(suite: str, spec: Any, checked: int, failed: int, example: str | None) -> ExpectationOutcome:
    return ExpectationOutcome(suite=suite, expectation=spec.name, severity=spec.severity,
                              checked=checked, failed=failed, example=example,
                              description=spec.description, expectation_type=spec.type)


def _collect(suite: Any, result: Any, frame: Any, outcomes: list[ExpectationOutcome],
             errors: list[str]) -> dict[int, list[str]]:
    """Outcomes of one suite's result; positions of the frame that failed each expectation."""
    by_name = {r.expectation_config.meta.get("name"): r for r in result.results}
    failing: dict[int, list[str]] = {}
    for spec in suite.specs:
        res = by_name.get(spec.name)
        if res is None or res.exception_info.get("raised_exception"):
            message = (res.exception_info.get("exception_message") if res else "not run") or "error"
            errors.append(f"{suite.name}.{spec.name}: {message}")
            outcomes.append(_outcome(suite.name, spec, 0, 0, f"error: {message}"))
            continue
        data = res.result or {}
        positions = [int(i) for i in data.get("unexpected_index_list") or []]
        checked = int(data.get("element_count", len(frame)))
        if spec.type not in _NULL_CHECKS:
            checked -= int(data.get("missing_count") or 0)
        example = _example(frame, positions[0], spec.show) if positions else None
        outcomes.append(_outcome(suite.name, spec, checked, len(positions), example))
        for position in positions:
            failing.setdefault(position, []).append(spec.name)
    return failing


def _value(value: Any, limit: int = 100) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _fields(frame: Any, position: int) -> _Fields:
    return _Fields({k: _value(v) for k, v in frame.iloc[position].to_dict().items()})


def _example(frame: Any, position: int, show: tuple[str, ...]) -> str:
    values = _fields(frame, position)
    return "; ".join(f"{column}={values[column]}" for column in show) or f"row {position}"


def _reason(spec: Any, frame: Any, position: int) -> str:
    return f"{spec.name}: {spec.reason.format_map(_fields(frame, position))}"


def _split(articles: list[CleanArticle], rows: list[MetricRow], article_frame: Any, row_frame: Any,
           specs: dict[str, Any], failures: dict[str, dict[int, list[str]]],
           outcomes: list[ExpectationOutcome]) -> QualityReport:
    """Kept and quarantined articles and rows, with readable reasons."""
    article_specs = {s.name: s for s in specs[ARTICLES].specs}
    row_specs = {s.name: s for s in specs[ROWS].specs}
    quarantined: list[QuarantinedRow] = []
    articles_ok: list[CleanArticle] = []
    held_back: dict[str, QuarantinedRow] = {}  # article URL -> its quarantine entry
    for position, article in enumerate(articles):
        critical = [article_specs[n] for n in failures[ARTICLES].get(position, [])
                    if article_specs[n].severity == "critical"]
        if not critical:
            articles_ok.append(article)
            continue
        entry = QuarantinedRow(
            kind="article", suite=ARTICLES, expectation=critical[0].name,
            reason="; ".join(_reason(s, article_frame, position) for s in critical),
            row=article.to_json(), article_url=article.url or None)
        quarantined.append(entry)
        held_back.setdefault(article.url, entry)
    kept_urls = {a.url for a in articles_ok}

    rows_ok: list[MetricRow] = []
    for position, row in enumerate(rows):
        critical = [row_specs[n] for n in failures[ROWS].get(position, [])
                    if row_specs[n].severity == "critical"]
        parent = held_back.get(row.article_url or "") if row.article_url not in kept_urls else None
        if not critical and parent is None:
            rows_ok.append(row)
            continue
        reasons = [_reason(s, row_frame, position) for s in critical]
        if parent is not None:
            reasons.append(f"its article was quarantined ({parent.reason})")
        quarantined.append(QuarantinedRow(
            kind="metric", suite=ROWS if critical else ARTICLES,
            expectation=critical[0].name if critical else parent.expectation,
            reason="; ".join(reasons), row=row.to_json(), article_url=row.article_url))

    held_rows = len(rows) - len(rows_ok)
    if rows:
        share = held_rows / len(rows)
    else:
        share = (len(articles) - len(articles_ok)) / len(articles) if articles else 0.0
    warnings = sum(o.failed for o in outcomes if o.severity == "warning")
    return QualityReport(articles_ok=articles_ok, rows_ok=rows_ok, quarantined=quarantined,
                         outcomes=outcomes, failed_share=round(share, 4), threshold_exceeded=False,
                         warnings=warnings)
