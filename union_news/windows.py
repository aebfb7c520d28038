"""Date windows for scheduled runs and backfills (pure logic: no Prefect, no I/O).

A backfill splits a date range into windows (calendar months by default, or ISO weeks, or days),
clipped to the range, each with a readable label ("2024-03", "2024-W10", "2024-03-05"; a clipped
window is labelled with its dates, "2024-03-15..2024-03-31"). Which windows a backfill runs
depends on the reprocess mode and on the statuses recorded in the warehouse:

- ``missing`` (default): windows never run, or left ``running`` by a run that died;
- ``failed``: exactly the windows whose last run failed;
- ``all``: every window.

Scheduled runs take their window from the run's *scheduled* start time (never the clock), so a
late or retried run ingests the days it was scheduled for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

WindowSize = Literal["month", "week", "day"]
Reprocess = Literal["missing", "failed", "all"]
WINDOW_SIZES: tuple[str, ...] = ("month", "week", "day")
REPROCESS_MODES: tuple[str, ...] = ("missing", "failed", "all")
DEFAULT_TZ = "Asia/Ho_Chi_Minh"
STATUSES: tuple[str, ...] = ("running", "completed", "failed")


@dataclass(frozen=True, order=True)
class Window:
    """An inclusive range of publication days [since, until] with its label."""

    since: date
    until: date
    label: str

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def key(self) -> tuple[date, date]:
        return (self.since, self.until)


def _period_start(day: date, size: str) -> date:
    if size == "month":
        return day.replace(day=1)
    if size == "week":
        return day - timedelta(days=day.weekday())
    return day


def _period_end(start: date, size: str) -> date:
    if size == "month":
        first_next = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return first_next - timedelta(days=1)
    if size == "week":
        return start + timedelta(days=6)
    return start


def period_label(start: date, size: str) -> str:
    """The label of a whole period: '2024-03', '2024-W10' or '2024-03-05'."""
    if size == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if size == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return start.isoformat()


def check_size(size: str) -> str:
    if size not in WINDOW_SIZES:
        raise ValueError(f"window size {size!r} is not one of {', '.join(WINDOW_SIZES)}")
    return size


def split_windows(
    since: date, until: date, size: str = "month", newest_first: bool = True
) -> list[Window]:
    """Cut [since, until] into calendar windows of ``size``, clipped to the range."""
    check_size(size)
    if since > until:
        raise ValueError(f"since {since} is after until {until}")
    windows: list[Window] = []
    start = _period_start(since, size)
    while start <= until:
        end = _period_end(start, size)
        lo, hi = max(start, since), min(end, until)
        whole = lo == start and hi == end
        label = period_label(start, size) if whole else f"{lo.isoformat()}..{hi.isoformat()}"
        windows.append(Window(lo, hi, label))
        start = end + timedelta(days=1)
    return sorted(windows, reverse=newest_first)


def status_of(window: Window, recorded: Mapping[tuple[date, date], str]) -> str | None:
    """A window's recorded status: its own record, else 'completed' when completed records
    (e.g. the daily scheduled runs) cover every one of its days, else None."""
    own = recorded.get(window.key())
    if own is not None:
        return own
    done = [k for k, status in recorded.items() if status == "completed"]
    if done and covered(window, done):
        return "completed"
    return None


def covered(window: Window, ranges: Iterable[tuple[date, date]]) -> bool:
    """True when the union of inclusive ``ranges`` holds every day of ``window``."""
    next_day = window.since
    for lo, hi in sorted(ranges):
        if lo > next_day:
            break
        if hi >= next_day:
            next_day = hi + timedelta(days=1)
        if next_day > window.until:
            return True
    return next_day > window.until


def should_run(status: str | None, reprocess: str) -> bool:
    """Whether a window with this recorded status runs under the reprocess mode."""
    if reprocess not in REPROCESS_MODES:
        raise ValueError(f"reprocess {reprocess!r} is not one of {', '.join(REPROCESS_MODES)}")
    if reprocess == "all":
        return True
    if reprocess == "failed":
        return status == "failed"
    return status is None or status == "running"


def select_windows(
    windows: Iterable[Window], recorded: Mapping[tuple[date, date], str], reprocess: str = "missing"
) -> list[Window]:
    """The windows to run, in the given order."""
    return [w for w in windows if should_run(status_of(w, recorded), reprocess)]


def plan(
    windows: Iterable[Window], recorded: Mapping[tuple[date, date], str], reprocess: str = "missing"
) -> list[dict[str, str]]:
    """One row per window for a dry-run table: label, dates, status and what a run would do."""
    rows = []
    for w in windows:
        status = status_of(w, recorded)
        rows.append({
            "window": w.label,
            "since": w.since.isoformat(),
            "until": w.until.isoformat(),
            "status": status or "never run",
            "action": "run" if should_run(status, reprocess) else "skip",
        })
    return rows


def local_date(moment: datetime, tz: str = DEFAULT_TZ) -> date:
    """The calendar date of ``moment`` in ``tz`` (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz)).date()


def window_for_scheduled_run(
    scheduled_start: datetime, tz: str = DEFAULT_TZ, days: int = 1
) -> tuple[date, date]:
    """The ``days`` full local days before the scheduled local date.

    A run scheduled for 06:00 on 2024-03-10 in Hanoi ingests 2024-03-09 (days=1), whenever it
    actually starts."""
    if days < 1:
        raise ValueError("days must be at least 1")
    today = local_date(scheduled_start, tz)
    return today - timedelta(days=days), today - timedelta(days=1)


def missed_windows(
    last_completed_until: date | None,
    scheduled_start: datetime,
    tz: str = DEFAULT_TZ,
    days: int = 1,
    limit_days: int = 366,
) -> list[Window]:
    """Windows of ``days`` days that no run covered between the last completed window and the
    one the scheduled run at ``scheduled_start`` ingests itself (oldest first).

    Nothing completed yet means nothing is known to be missing (an empty list); ``limit_days``
    bounds how far back the gap reaches."""
    if last_completed_until is None:
        return []
    own_since, _ = window_for_scheduled_run(scheduled_start, tz, days)
    first = max(last_completed_until + timedelta(days=1), own_since - timedelta(days=limit_days))
    return _chunks(first, own_since, days)


def _chunks(first: date, stop: date, days: int) -> list[Window]:
    """Consecutive windows of ``days`` days from ``first`` up to (excluding) ``stop``; the last
    one is clipped."""
    out: list[Window] = []
    start = first
    while start < stop:
        end = min(start + timedelta(days=days - 1), stop - timedelta(days=1))
        label = start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"
        out.append(Window(start, end, label))
        start = end + timedelta(days=1)
    return out


def last_completed_until(records: Iterable[tuple[date, date, str]]) -> date | None:
    """The latest ``until`` among completed windows, or None."""
    ends = [until for _since, until, status in records if status == "completed"]
    return max(ends) if ends else None


def idempotency_key(source: str, window: Window, epoch: str, scope: str = "") -> str:
    """The key of one window's child run: the same window, attempt and warehouse give the same
    key, so triggering the same backfill twice creates no second run."""
    parts = ["backfill", source, f"{window.since.isoformat()}..{window.until.isoformat()}", epoch]
    if scope:
        parts.insert(1, scope)
    return ":".join(parts)
