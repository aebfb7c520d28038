"""Date windows for schedules and backfills (pure logic)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from union_news.windows import (
    Window,
    covered,
    idempotency_key,
    last_completed_until,
    missed_windows,
    plan,
    select_windows,
    split_windows,
    status_of,
    window_for_scheduled_run,
)

D = date.fromisoformat


def test_months_clipped_and_labelled_newest_first():
    windows = split_windows(D("2024-01-15"), D("2024-03-31"))
    assert [w.label for w in windows] == ["2024-03", "2024-02", "2024-01-15..2024-01-31"]
    assert windows[1] == Window(D("2024-02-01"), D("2024-02-29"), "2024-02")  # leap year


def test_oldest_first_on_request():
    windows = split_windows(D("2023-12-01"), D("2024-01-31"), newest_first=False)
    assert [w.label for w in windows] == ["2023-12", "2024-01"]


def test_weeks_are_iso_weeks():
    windows = split_windows(D("2024-03-04"), D("2024-03-17"), "week", newest_first=False)
    assert [(w.label, w.since.weekday(), w.days) for w in windows] == [
        ("2024-W10", 0, 7),
        ("2024-W11", 0, 7),
    ]
    clipped = split_windows(D("2024-03-06"), D("2024-03-07"), "week")
    assert [w.label for w in clipped] == ["2024-03-06..2024-03-07"]


def test_days():
    windows = split_windows(D("2024-02-28"), D("2024-03-01"), "day", newest_first=False)
    assert [w.label for w in windows] == ["2024-02-28", "2024-02-29", "2024-03-01"]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="after"):
        split_windows(D("2024-03-02"), D("2024-03-01"))
    with pytest.raises(ValueError, match="window size"):
        split_windows(D("2024-03-01"), D("2024-03-02"), "year")
    with pytest.raises(ValueError, match="reprocess"):
        select_windows(split_windows(D("2024-03-01"), D("2024-03-02")), {}, "some")


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    st.integers(min_value=0, max_value=800),
    st.sampled_from(["month", "week", "day"]),
)
def test_windows_tile_the_range_exactly(since, length, size):
    until = since + timedelta(days=length)
    windows = split_windows(since, until, size, newest_first=False)
    assert windows[0].since == since and windows[-1].until == until
    for a, b in zip(windows, windows[1:], strict=False):
        assert b.since == a.until + timedelta(days=1)
    assert sum(w.days for w in windows) == length + 1
    assert len({w.label for w in windows}) == len(windows)


def _recorded(windows, statuses):
    return {w.key(): s for w, s in zip(windows, statuses, strict=True) if s is not None}


def test_reprocess_modes_select_by_status():
    windows = split_windows(D("2024-01-01"), D("2024-05-31"), newest_first=False)
    recorded = _recorded(windows, ["completed", "failed", "running", None, "failed"])
    labels = lambda ws: [w.label for w in ws]  # noqa: E731
    assert labels(select_windows(windows, recorded, "missing")) == ["2024-03", "2024-04"]
    assert labels(select_windows(windows, recorded, "failed")) == ["2024-02", "2024-05"]
    assert labels(select_windows(windows, recorded, "all")) == labels(windows)


def test_daily_completed_records_cover_a_month():
    march = split_windows(D("2024-03-01"), D("2024-03-31"))[0]
    days = {(D("2024-03-01") + timedelta(days=i),) * 2: "completed" for i in range(31)}
    assert status_of(march, days) == "completed"
    del days[(D("2024-03-17"), D("2024-03-17"))]
    assert status_of(march, days) is None
    assert covered(march, [(D("2024-02-20"), D("2024-03-10")), (D("2024-03-11"), D("2024-04-02"))])


def test_plan_rows_for_a_dry_run():
    windows = split_windows(D("2024-01-01"), D("2024-02-29"))
    rows = plan(windows, {windows[1].key(): "completed"}, "missing")
    assert rows == [
        {"window": "2024-02", "since": "2024-02-01", "until": "2024-02-29",
         "status": "never run", "action": "run"},
        {"window": "2024-01", "since": "2024-01-01", "until": "2024-01-31",
         "status": "completed", "action": "skip"},
    ]


@pytest.mark.parametrize(
    ("scheduled", "expected"),
    [
        # 06:00 in Hanoi is 23:00 UTC the day before: the local date decides.
        (datetime(2024, 3, 9, 23, 0, tzinfo=UTC), (D("2024-03-09"), D("2024-03-09"))),
        (datetime(2024, 3, 10, 6, 0, tzinfo=timezone(timedelta(hours=7))),
         (D("2024-03-09"), D("2024-03-09"))),
        (datetime(2024, 3, 1, 0, 30), (D("2024-02-29"), D("2024-02-29"))),  # naive = UTC
    ],
)
def test_scheduled_window_comes_from_the_scheduled_time(scheduled, expected):
    assert window_for_scheduled_run(scheduled) == expected


def test_scheduled_window_of_several_days_and_other_zone():
    moment = datetime(2024, 3, 10, 1, 0, tzinfo=UTC)
    assert window_for_scheduled_run(moment, tz="UTC", days=7) == (D("2024-03-03"), D("2024-03-09"))
    with pytest.raises(ValueError):
        window_for_scheduled_run(moment, days=0)


def test_missed_windows_between_last_completed_and_scheduled_run():
    scheduled = datetime(2024, 3, 9, 23, 0, tzinfo=UTC)  # 2024-03-10 06:00 local -> ingests 03-09
    missed = missed_windows(D("2024-03-05"), scheduled)
    assert [w.label for w in missed] == ["2024-03-06", "2024-03-07", "2024-03-08"]
    assert missed_windows(D("2024-03-08"), scheduled) == []
    assert missed_windows(None, scheduled) == []
    weekly = missed_windows(D("2024-02-20"), scheduled, days=7)
    assert [w.label for w in weekly] == ["2024-02-21..2024-02-27", "2024-02-28..2024-03-02"]
    assert len(missed_windows(D("2020-01-01"), scheduled, limit_days=10)) == 10


def test_last_completed_until_ignores_other_statuses():
    records = [(D("2024-03-01"), D("2024-03-01"), "completed"),
               (D("2024-03-02"), D("2024-03-02"), "failed")]
    assert last_completed_until(records) == D("2024-03-01")
    assert last_completed_until([]) is None


def test_idempotency_key_names_source_window_and_attempt():
    w = split_windows(D("2024-03-01"), D("2024-03-31"))[0]
    assert idempotency_key("sample", w, "0") == "backfill:sample:2024-03-01..2024-03-31:0"
    assert idempotency_key("sample", w, "0", scope="ab12") != idempotency_key("sample", w, "0")
