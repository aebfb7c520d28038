"""What a validation run found: per-expectation outcomes and the batch split into kept and held back.

Plain dataclasses (no Great Expectations, no pandas): the flow, the CLI and the warehouse read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from union_news.models import CleanArticle, MetricRow, QuarantinedRow

_SEVERITY_ORDER = {"critical": 0, "warning": 1}


@dataclass(slots=True)
class ExpectationOutcome:
    """One expectation's result on one batch."""

    suite: str
    expectation: str  # the expectation's name in its suite file (meta.name)
    severity: str  # "critical" (failing rows quarantined) or "warning" (kept, reported)
    checked: int  # values the expectation looked at (nulls it ignores are not counted)
    failed: int
    example: str | None  # a failing value, readable
    description: str = ""
    expectation_type: str = ""  # the Great Expectations type, e.g. expect_column_values_to_be_between

    @property
    def ok(self) -> bool:
        return self.failed == 0


@dataclass(slots=True)
class QualityReport:
    """A validated batch: what may load, what is held back and why, and the run-level verdict."""

    articles_ok: list[CleanArticle]
    rows_ok: list[MetricRow]
    quarantined: list[QuarantinedRow]
    outcomes: list[ExpectationOutcome]
    failed_share: float
    threshold_exceeded: bool
    data_docs_path: str | None = None
    warnings: int = 0  # warning-level findings (rows kept)
    max_failed_share: float = 0.25
    articles_checked: int = 0
    rows_checked: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # expectations that could not be evaluated

    @property
    def rows_quarantined(self) -> int:
        return sum(1 for q in self.quarantined if q.kind == "metric")

    @property
    def articles_quarantined(self) -> int:
        return sum(1 for q in self.quarantined if q.kind == "article")

    def worst(self, n: int = 3) -> list[ExpectationOutcome]:
        """The failing expectations that matter most: critical first, then most failures."""
        failing = [o for o in self.outcomes if o.failed]
        failing.sort(key=lambda o: (_SEVERITY_ORDER.get(o.severity, 2), -o.failed, o.suite,
                                    o.expectation))
        return failing[:n]

    def to_markdown(self) -> str:
        """A Prefect markdown artifact: the verdict, then one line per expectation."""
        verdict = "FAILED" if self.threshold_exceeded else "passed"
        lines = [
            "# Data quality",
            "",
            f"**{verdict}**: {self.failed_share:.1%} of metric rows failed a critical expectation "
            f"(threshold {self.max_failed_share:.0%}).",
            "",
            f"- articles: {self.articles_checked} checked, {len(self.articles_ok)} kept, "
            f"{self.articles_quarantined} quarantined",
            f"- metric rows: {self.rows_checked} checked, {len(self.rows_ok)} kept, "
            f"{self.rows_quarantined} quarantined",
            f"- warnings (rows kept, findings reported): {self.warnings}",
            f"- validation time: {self.seconds:.2f} s",
            "",
            "| suite | expectation | severity | checked | failed | example failing value |",
            "|---|---|---|---:|---:|---|",
        ]
        for o in self.outcomes:
            example = _cell(o.example) if o.example else ""
            lines.append(f"| {o.suite} | {o.expectation} | {o.severity} | {o.checked} | {o.failed} "
                         f"| {example} |")
        if self.errors:
            lines += ["", "Expectations that could not be evaluated:"]
            lines += [f"- {_cell(e)}" for e in self.errors]
        lines.append("")
        if self.data_docs_path:
            lines.append(f"Great Expectations Data Docs: `{self.data_docs_path}`")
        else:
            lines.append("Great Expectations Data Docs: not built for this batch.")
        return "\n".join(lines) + "\n"


def quality_failure_message(report: QualityReport, n: int = 3) -> str:
    """The message a Failed flow run carries: the share, the threshold, the worst expectations."""
    worst = "; ".join(
        f"{o.suite}.{o.expectation} ({o.severity}, {o.failed}/{o.checked} failed"
        + (f", e.g. {_short(o.example, 60)}" if o.example else "") + ")"
        for o in report.worst(n)
    )
    return (f"{report.failed_share:.1%} of metric rows failed critical expectations "
            f"(threshold {report.max_failed_share:.0%}); worst: {worst or 'none'}")


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str) -> str:
    return _short(text, 120).replace("|", "\\|")
