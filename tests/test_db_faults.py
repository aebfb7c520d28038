"""Database faults: the PostgreSQL connection of a running ingest dropped in the middle of a load.

The test holds an EXCLUSIVE lock on ``metric_rows`` once the first batch has committed, so the
next load transaction stops at its metric-row INSERT having already written that batch's raw
pages and articles; the test checks that in ``pg_locks``, then ends that backend with
``pg_terminate_backend`` (what a server restart, a failover or a network cut does to a
connection). The batch must roll back (the warehouse holds whole earlier batches only), the run
must end Failed with a message naming the batch, the warehouse (password masked) and what to
do, and a rerun must complete with the warehouse of one clean run.
"""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from scripts.crash_loop import problems_after_kill, snapshot, snapshot_diff
from tests.plugins.crash import BATCH_SIZE
from tests.plugins.prefect import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(600)]

SECRET = "Hunter2-db-s3cret"  # trust auth ignores it; it must never be shown


def with_password(url: str) -> str:
    assert url.startswith("postgresql+psycopg://postgres@")
    return url.replace("postgres@", f"postgres:{SECRET}@", 1)


def committed_articles(engine) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
    except ProgrammingError:  # the run has not created the tables yet
        return 0


def test_connection_dropped_mid_load_rolls_the_batch_back_and_a_rerun_completes(
    ingest_zygote, clean_run, sample_site, pg_url, prefect_server
):
    url = with_password(pg_url)
    engine = create_engine(pg_url)
    child = ingest_zygote.spawn(url, sample_site.base_url, BATCH_SIZE, name="pg-fault")
    outcome = None
    try:
        wait_for(lambda: committed_articles(engine) > 0, 300, 0.05, "the first batch to commit")
        with (
            engine.connect() as holder,
            engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin,
        ):
            holder.begin()
            holder.execute(text("LOCK TABLE metric_rows IN EXCLUSIVE MODE"))
            me = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
            before = committed_articles(engine)

            def blocked_load():
                return admin.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"),
                    {"me": me},
                ).scalar()

            pid = wait_for(blocked_load, 300, 0.05, "the next load to block on the lock")
            # Its transaction is open mid-load: waiting to insert metric rows, having written
            # the batch's raw pages and articles.
            locks = admin.execute(
                text(
                    "SELECT relation::regclass::text, mode, granted FROM pg_locks "
                    "WHERE pid = :pid AND locktype = 'relation'"
                ),
                {"pid": pid},
            ).all()
            table = {(name.split(".")[-1], mode, granted) for name, mode, granted in locks}
            assert ("metric_rows", "RowExclusiveLock", False) in table, locks
            assert {
                ("articles", "RowExclusiveLock", True),
                ("raw_pages", "RowExclusiveLock", True),
            } <= table, locks
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            holder.rollback()
        outcome = ingest_zygote.wait(child)
    finally:
        if outcome is None:  # the test failed before the run ended: do not leave it running
            ingest_zygote.kill(child)
            ingest_zygote.wait(child)
        engine.dispose()

    # The run ends Failed and says which batch, where (password masked) and what to do.
    assert outcome.code == 1 and outcome.result["state"] == "FAILED", outcome.tail()
    message = outcome.result["message"]
    found = re.search(r"[Bb]atch (\d+) of (\d+)", message)
    assert found, message
    assert int(found.group(1)) >= 2
    assert "rolled back" in message and "rerun" in message.lower(), message
    assert "postgres:***@127.0.0.1" in message and "OperationalError" in message, message
    # The Prefect server shows the same, and the password is nowhere: state, logs, run output.
    run_id = outcome.result["flow_run_id"]
    run = prefect_server.api("GET", f"/flow_runs/{run_id}")
    assert run["state"]["type"] == "FAILED" and run["state"]["message"] == message
    logs = prefect_server.api(
        "POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
    )
    assert any("rolled back" in entry["message"] for entry in logs)
    assert not any(SECRET in entry["message"] for entry in logs)
    assert SECRET not in outcome.log.read_text(errors="replace")
    assert SECRET not in str(run["state"])

    # Rolled back: the warehouse holds the batches committed before, each article whole.
    problems, held = problems_after_kill(pg_url, clean_run)
    assert problems == []
    assert held["articles"] == before < clean_run.articles

    # A rerun completes and the warehouse equals one clean run.
    time.sleep(0.1)
    rerun = ingest_zygote.run(url, sample_site.base_url, BATCH_SIZE, name="pg-fault-rerun")
    assert rerun.completed, f"{rerun.describe()}\n{rerun.tail()}"
    got = snapshot(pg_url)
    assert snapshot_diff(got, clean_run.snapshot) == []
    assert got == clean_run.snapshot
