"""Run bookkeeping shared by the ingest flow, reprocessing and the benchmarks (no Prefect here)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TypeVar

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
            {"suite": suite, "expectation": name, "severity": severity, "checked": checked,
             "failed": failed}
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
            f"Great Expectations Data Docs: `{self.data_docs}`" if self.data_docs
            else "Great Expectations Data Docs: not built (`[quality] data_docs_dir` is empty)."
        )
        return "\n".join(lines) + "\n"

    def table_rows(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = [
            {"stage": label, "count": getattr(self, key)} for key, label in SUMMARY_LABELS.items()
        ]
        rows.append({"stage": "time taken (s)", "count": self.seconds})
        return rows


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


def unique_by_url(items: Iterable[T], key: str = "url") -> list[T]:
    seen: set[str] = set()
    out: list[T] = []
    for item in items:
        value = getattr(item, key)
        if value not in seen:
            seen.add(value)
            out.append(item)
    return out
