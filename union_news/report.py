"""Reports over the facts view: query with filters, export (CSV, JSON, Parquet), chart (PNG).

Pure functions over a SQLAlchemy connection and pandas frames; the ``union-news report`` command
(``union_news/cli_report.py``) only parses options and prints. Filters:

- ``org``: case-insensitive substring of the organization (``"thanh trì"`` matches
  ``LĐLĐ huyện Thanh Trì``); a value that matches no organization is an error that names the
  closest ones.
- ``metric``: a catalog key (``members_total`` ...); an unknown key is an error.
- ``since`` / ``until``: the fact's period overlaps ``[since, until]`` (a year ``2020`` covers
  2020-01-01..2020-12-31); a fact without a readable period is dated by its article's publication.
"""

from __future__ import annotations

import difflib
import io
import json
import math
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

FORMATS = ("table", "csv", "json", "parquet")

FACT_COLUMNS = [
    "organization",
    "metric",
    "period",
    "detail",
    "value",
    "qualifier",
    "unit",
    "target",
    "achievement_pct",
    "rule",
    "mentions",
    "conflicts",
    "as_of",
    "published",
    "article_urls",
]
CONFLICT_COLUMNS = [
    "organization",
    "metric",
    "period",
    "detail",
    "fact_value",
    "value",
    "qualifier",
    "article_url",
    "published",
    "fact_url",
    "evidence",
]

# Vietnamese labels for the chart (and the table title).
METRIC_LABELS_VI: dict[str, str] = {
    "members_total": "Tổng số đoàn viên",
    "members_admitted": "Đoàn viên kết nạp mới",
    "members_change": "Biến động số đoàn viên",
    "unions_total": "Số công đoàn cơ sở",
    "unions_founded": "Công đoàn cơ sở thành lập mới",
    "party_referrals": "Đoàn viên ưu tú giới thiệu cho Đảng",
    "party_admissions": "Đoàn viên được kết nạp Đảng",
    "training_courses": "Lớp tập huấn",
    "training_participants": "Lượt người được tập huấn",
    "awards": "Khen thưởng",
    "initiatives": "Sáng kiến",
    "gifts": "Suất quà, vé, mái ấm",
    "money_vnd": "Số tiền (đồng)",
    "collective_agreements": "Thỏa ước lao động tập thể",
    "dialogues": "Đối thoại tại nơi làm việc",
    "events": "Hoạt động văn hóa, thể thao, hội thi",
    "participants": "Lượt người tham gia",
    "beneficiaries": "Người được thụ hưởng",
}


class ReportError(ValueError):
    """A filter or output request that cannot be served; the message says why and what works."""


@dataclass(slots=True)
class Filters:
    org: str | None = None
    metric: str | None = None
    since: date | None = None
    until: date | None = None

    def describe(self) -> str:
        parts = [
            f"{k}={v}"
            for k, v in (
                ("org", self.org),
                ("metric", self.metric),
                ("since", self.since),
                ("until", self.until),
            )
            if v
        ]
        return ", ".join(parts) or "no filters"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip()


def known_metrics() -> list[str]:
    from union_news.catalog import default_catalog

    catalog = default_catalog()
    return list(catalog.metrics) or sorted({r.metric for r in catalog.rules})


def parse_day(value: str | date | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ReportError(f"{name} {value!r} is not a date: use YYYY-MM-DD") from None


def check_filters(conn: Connection, filters: Filters) -> None:
    """Raise :class:`ReportError` for a filter value that cannot match anything sensible."""
    if filters.since and filters.until and filters.since > filters.until:
        raise ReportError(f"--since {filters.since} is after --until {filters.until}")
    if filters.metric is not None:
        metrics = known_metrics()
        if filters.metric not in metrics:
            near = difflib.get_close_matches(filters.metric, metrics, n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ReportError(
                f"unknown metric {filters.metric!r}{hint}; known metrics: {', '.join(metrics)}"
            )
    if filters.org is not None:
        if not filters.org.strip():
            raise ReportError("--org is empty")
        orgs = organizations(conn)
        needle = _fold(filters.org)
        if orgs and not any(needle in _fold(o) for o in orgs):
            near = difflib.get_close_matches(filters.org, orgs, n=3, cutoff=0.4)
            hint = f"; closest: {', '.join(near)}" if near else ""
            raise ReportError(f"no organization matches {filters.org!r}{hint}")


def organizations(conn: Connection) -> list[str]:
    from union_news.warehouse.facts_schema import facts_table as t

    rows = conn.execute(select(t.c.organization).distinct().order_by(t.c.organization))
    return [r[0] for r in rows if r[0]]


def _as_of(period_end: date | None, published: datetime | None) -> date | None:
    if period_end is not None:
        return period_end
    if published is not None:
        return published.date() if isinstance(published, datetime) else published
    return None


def _in_window(start: date | None, end: date | None, filters: Filters) -> bool:
    if filters.since and end is not None and end < filters.since:
        return False
    return not (filters.until and start is not None and start > filters.until)


def _num(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _matching(conn: Connection, stmt: Any, filters: Filters) -> Iterator[tuple[Any, Any]]:
    """(row, publication date) of the rows of ``stmt`` that pass the organization filter and
    whose period (else publication date) meets the [since, until] window."""
    needle = _fold(filters.org) if filters.org else None
    for r in conn.execute(stmt).mappings():
        if needle and needle not in _fold(r["organization"] or ""):
            continue
        published = _to_date(r["published"])
        start, end = r["period_start"], r["period_end"]
        if start is None and end is None:
            start = end = published
        if _in_window(start, end, filters):
            yield r, published


def query_facts(conn: Connection, filters: Filters | None = None) -> pd.DataFrame:
    """Facts matching the filters, ordered by metric, organization, date (FACT_COLUMNS)."""
    from union_news.warehouse.facts_schema import facts_table as t

    filters = filters or Filters()
    stmt = select(t)
    if filters.metric:
        stmt = stmt.where(t.c.metric == filters.metric)
    records = []
    for r, published in _matching(conn, stmt, filters):
        records.append(
            {
                "organization": r["organization"] or None,
                "metric": r["metric"],
                "period": r["period"] or None,
                "detail": r["detail"] or None,
                "value": _num(r["value"]),
                "qualifier": r["qualifier"],
                "unit": r["unit"],
                "target": _num(r["target"]),
                "achievement_pct": _num(r["achievement_pct"]),
                "rule": r["rule"],
                "mentions": r["mentions"],
                "conflicts": r["conflicts"],
                "as_of": _as_of(r["period_end"], published),
                "published": published,
                "article_urls": list(r["article_urls"] or []),
            }
        )
    records.sort(
        key=lambda d: (
            d["metric"],
            d["organization"] or "",
            d["as_of"] or date.min,
            d["period"] or "",
            d["detail"] or "",
        )
    )
    return pd.DataFrame.from_records(records, columns=FACT_COLUMNS)


def query_conflicts(conn: Connection, filters: Filters | None = None) -> pd.DataFrame:
    """Mentions that disagree with their fact beyond rounding (CONFLICT_COLUMNS)."""
    from union_news.warehouse.facts_schema import fact_conflicts_table as t
    from union_news.warehouse.facts_schema import facts_table as f

    filters = filters or Filters()
    stmt = select(t, f.c.period_start, f.c.period_end).join(
        f,
        (f.c.organization == t.c.organization)
        & (f.c.metric == t.c.metric)
        & (f.c.period == t.c.period)
        & (f.c.detail == t.c.detail),
    )
    if filters.metric:
        stmt = stmt.where(t.c.metric == filters.metric)
    records = []
    for r, published in _matching(conn, stmt, filters):
        records.append(
            {
                "organization": r["organization"] or None,
                "metric": r["metric"],
                "period": r["period"] or None,
                "detail": r["detail"] or None,
                "fact_value": _num(r["fact_value"]),
                "value": _num(r["value"]),
                "qualifier": r["qualifier"],
                "article_url": r["article_url"],
                "published": published,
                "fact_url": r["fact_url"],
                "evidence": r["evidence"],
            }
        )
    records.sort(
        key=lambda d: (
            d["metric"],
            d["organization"] or "",
            d["period"] or "",
            d["detail"] or "",
            d["article_url"],
        )
    )
    return pd.DataFrame.from_records(records, columns=CONFLICT_COLUMNS)


def _to_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- exports -------------------------------------------------------------------------------


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for key, value in rec.items():
            if isinstance(value, (date, datetime)):
                value = value.isoformat()
            elif isinstance(value, float) and math.isnan(value):
                value = None
            clean[key] = _num(value)
        out.append(clean)
    return out


def to_json(df: pd.DataFrame) -> str:
    """A JSON array of objects (UTF-8, Vietnamese kept as is; integers without ``.0``)."""
    return json.dumps(_records(df), ensure_ascii=False, indent=2) + "\n"


def to_csv(df: pd.DataFrame) -> str:
    """CSV with a header; list columns (``article_urls``) joined with ``|``."""
    records = _records(df)
    for rec in records:
        for key, value in rec.items():
            if isinstance(value, list):
                rec[key] = "|".join(value)
    buf = io.StringIO()
    pd.DataFrame.from_records(records, columns=list(df.columns)).to_csv(
        buf, index=False, lineterminator="\n"
    )
    return buf.getvalue()


def to_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a Parquet file (pyarrow); dates stay dates, ``article_urls`` a list of strings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = df.copy()
    for col in ("value", "target", "achievement_pct", "fact_value"):
        if col in frame:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame.to_parquet(path, engine="pyarrow", index=False)
    return path


def export(df: pd.DataFrame, fmt: str, output: str | Path | None = None) -> str | None:
    """Render ``df`` as csv/json (returned when no ``output``) or write it to ``output``.

    Parquet needs ``output`` (binary data never goes to a terminal).
    """
    if fmt not in ("csv", "json", "parquet"):
        raise ReportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        if output is None:
            raise ReportError("parquet is binary: give --output FILE.parquet")
        to_parquet(df, output)
        return None
    text = to_csv(df) if fmt == "csv" else to_json(df)
    if output is None:
        return text
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return None


# --- chart ---------------------------------------------------------------------------------

PLOT_FONT = "DejaVu Sans"  # shipped with matplotlib; covers Vietnamese (ă, ơ, ư, đ, tones)
MAX_LINES = 10


@dataclass(slots=True)
class PlotInfo:
    path: Path
    metric: str
    organizations: list[str]
    points: int
    width_px: int
    height_px: int
    note: str | None = None


def _group_vn(value: float) -> str:
    """7512 -> ``7.512``, 1.5 -> ``1,5`` (Vietnamese grouping)."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}".replace(",", ".")
    return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def plot_facts(
    df: pd.DataFrame,
    path: str | Path,
    metric: str | None = None,
    *,
    title: str | None = None,
    dpi: int = 120,
) -> PlotInfo:
    """Draw one metric over time, one line per organization, to a PNG file.

    Without ``metric`` the chart shows the metric with the most dated facts and says so in
    ``PlotInfo.note``. Facts with a ``detail`` are summed per (organization, date) so a metric
    split into parts (awards by title) still reads as one line per organization.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    data = df[df["as_of"].notna()] if len(df) else df
    if metric is None:
        if data.empty:
            raise ReportError("nothing to plot: no dated facts match the filters")
        counts = data["metric"].value_counts()
        metric = str(counts.index[0])
        note = (
            (
                f"several metrics match; plotted {metric} ({counts.iloc[0]} facts), "
                "choose one with --metric"
            )
            if len(counts) > 1
            else None
        )
    else:
        note = None
    data = data[data["metric"] == metric] if len(data) else data
    if data.empty:
        raise ReportError(f"nothing to plot: no dated facts for {metric}")

    # Yearly figures (period "2023") read best on a year axis; anything else on a date axis.
    yearly = bool(data["period"].fillna("").str.fullmatch(r"\d{4}").all())
    x = data["period"].astype(int) if yearly else pd.to_datetime(data["as_of"])
    grouped = (
        data.assign(
            organization=data["organization"].fillna("(không rõ)"),
            as_of=x,
            value=pd.to_numeric(data["value"], errors="coerce"),
        )
        .groupby(["organization", "as_of"], as_index=False)["value"]
        .sum()
    )
    sizes = grouped.groupby("organization")["value"].size().sort_values(ascending=False)
    orgs = list(sizes.index[:MAX_LINES])
    if len(sizes) > MAX_LINES:
        extra = f"{len(sizes) - MAX_LINES} organizations left out (filter with --org)"
        note = f"{note}; {extra}" if note else extra

    with plt.rc_context(
        {"font.family": "sans-serif", "font.sans-serif": [PLOT_FONT], "axes.unicode_minus": False}
    ):
        fig, ax = plt.subplots(figsize=(10, 5.6), dpi=dpi)
        try:
            for org in orgs:
                part = grouped[grouped["organization"] == org].sort_values("as_of")
                ax.plot(part["as_of"], part["value"], marker="o", linewidth=1.8, label=org)
            label = METRIC_LABELS_VI.get(metric, metric)
            ax.set_title(title or f"{label} theo thời gian", fontsize=13)
            if yearly:
                ax.set_xlabel("Năm")
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            else:
                ax.set_xlabel("Thời điểm (cuối kỳ báo cáo)")
                fig.autofmt_xdate()
            ax.set_ylabel(label)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _group_vn(v)))
            ax.grid(True, alpha=0.3)
            ax.legend(title="Tổ chức", fontsize=8, title_fontsize=9, loc="best")
            fig.tight_layout()
            out = Path(path)
            out.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(out, format="png")
            width_px, height_px = (int(round(x)) for x in fig.get_size_inches() * fig.dpi)
        finally:
            plt.close(fig)
    return PlotInfo(
        out,
        metric,
        orgs,
        int(len(grouped[grouped["organization"].isin(orgs)])),
        width_px,
        height_px,
        note,
    )


def report_title(filters: Filters, conflicts: bool = False) -> str:
    what = "Mâu thuẫn giữa các bài (conflicts)" if conflicts else "Số liệu đã hợp nhất (facts)"
    return f"{what}: {filters.describe()}"


def select_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return df.loc[:, [c for c in columns if c in df.columns]]
