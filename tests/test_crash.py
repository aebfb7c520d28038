"""Crash tests: the ingest flow SIGKILLed at seeded random points, then rerun.

Each run is a real OS process (forked from ``ingest_zygote``, its own process group, so its
worker processes die with it) running ``flows.ingest.ingest`` against the session Prefect server
and the sample site over loopback HTTP. Kill points alternate between a delay drawn over the
clean run's duration (SIGKILL from outside, anywhere in the run) and the N-th database statement
of a clean run (the run SIGKILLs itself right after it, or just before a COMMIT: inside
migrations and load transactions). Up to six kills in a row hit one warehouse, then a rerun
runs to completion.

After every kill the warehouse must hold a consistent part of one clean run (nothing else, no
duplicate, no half-loaded article, no page stored without its article, facts equal to the facts
rebuilt from the stored rows); after every rerun it must equal one clean run's warehouse.
``scripts/crash_loop.py`` is the long version (``--kills 40``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal

import pytest

from scripts.crash_loop import _postgres_urls, crash_loop
from tests.plugins.crash import BATCH_SIZE
from tests.plugins.db import require_postgres
from tests.plugins.prefect import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SEED = 20240501
SQLITE_KILLS = 16  # and POSTGRES_KILLS more: 20 kill points in all
POSTGRES_KILLS = 4


def check(tally, kills: int, ref) -> None:
    print("\n".join(tally.points))
    print(json.dumps(tally.as_dict(), ensure_ascii=False))
    assert tally.problems == [], "\n".join(tally.problems)
    assert tally.kills == kills
    assert len(set(tally.kill_points)) == kills, "kill points repeat"
    assert tally.time_kills >= kills // 3 and tally.statement_kills >= kills // 3
    assert tally.reruns + tally.completed_before_kill >= 1
    assert tally.lost == tally.duplicated == tally.failed_runs == 0
    assert tally.inconsistent_after_kill == 0


def test_sigkill_at_seeded_points_then_a_rerun_equals_one_clean_run(
    ingest_zygote, clean_run, sample_site, tmp_path
):
    n = itertools.count(1)
    tally = crash_loop(
        ingest_zygote,
        lambda: f"sqlite:///{tmp_path / f'killed-{next(n)}.db'}",
        sample_site.base_url,
        clean_run,
        kills=SQLITE_KILLS,
        seed=SEED,
        chain=6,
        batch_size=BATCH_SIZE,
        label="sqlite",
    )
    check(tally, SQLITE_KILLS, clean_run)
    # The kills are spread over the run: some before anything committed, some with part of the
    # articles committed (killed between or inside load transactions).
    assert min(tally.held_articles) == 0
    assert any(0 < held < clean_run.articles for held in tally.held_articles)


@pytest.mark.postgres
def test_sigkill_on_postgresql_then_a_rerun_equals_one_clean_run(
    ingest_zygote, clean_run, sample_site
):
    require_postgres()
    with _postgres_urls() as new_schema:
        tally = crash_loop(
            ingest_zygote,
            new_schema,
            sample_site.base_url,
            clean_run,
            kills=POSTGRES_KILLS,
            seed=SEED + 1,
            chain=POSTGRES_KILLS,
            batch_size=BATCH_SIZE,
            label="postgresql",
        )
    check(tally, POSTGRES_KILLS, clean_run)


def live_processes_in_group(pgid: int) -> list[int]:
    """Processes (zombies aside) whose process group is ``pgid``, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115 - tiny, read at once
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            out.append(int(entry))
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
def test_a_run_killed_alone_leaves_no_worker_process_behind(ingest_zygote, sample_site, tmp_path):
    """The OOM killer or ``kill -9 <pid>`` ends the run's main process only: its clean/extract
    worker processes and its validator process must not stay behind as orphans waiting for
    work."""
    url = f"sqlite:///{tmp_path / 'alone.db'}"
    child = ingest_zygote.spawn(
        url,
        sample_site.base_url,
        BATCH_SIZE,
        name="kill-alone",
        env={"UNION_NEWS_PIPELINE_WORKERS": "2"},
    )


    def spawned() -> list[int]:
        found = [
            p
            for p in live_processes_in_group(child.pid)
            if p != child.pid and b"spawn_main" in cmdline(p)
        ]
        return found if len(found) >= 3 else []

    try:
        # two clean/extract workers and the Great Expectations validator
        workers = wait_for(spawned, 120, 0.1, "the run's worker and validator processes")
        assert len(workers) == 3
        os.kill(child.pid, signal.SIGKILL)  # the main process only
        assert ingest_zygote.wait(child).killed
        wait_for(
            lambda: not live_processes_in_group(child.pid), 30, 0.2, "the orphaned workers to exit"
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)


def cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""
