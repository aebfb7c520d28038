"""Fixtures for the crash, database-fault and concurrency tests: ingest runs forked on demand.

``ingest_zygote`` (session): the warm process of ``scripts/crash_loop.py`` that forks one ingest
run (its own OS process, its own flow run on the session Prefect server) per request, so a test
can SIGKILL runs by the dozen without paying Prefect's and Great Expectations' import each time.
``clean_run`` (session): one clean run of the session sample site into SQLite, the reference
every killed-then-rerun, faulted-then-rerun or concurrent warehouse must equal.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Pages per batch in these tests: the sample site's 45 pages give 5 load transactions. A batch's
# validation costs about the same at 5 or 10 pages, so this halves the run time of a batch size
# of 5 (scripts/crash_loop.py uses 5) while keeping several batch boundaries to kill across.
BATCH_SIZE = 10


@pytest.fixture(scope="session")
def ingest_zygote(prefect_server, tmp_path_factory) -> Iterator[object]:
    from scripts.crash_loop import Zygote

    # Data Docs off: HTML reports, no part of the warehouse, and a third of a run's CPU time.
    workdir = tmp_path_factory.mktemp("ingest-runs")
    with Zygote(prefect_server.env, workdir, data_docs=False) as zygote:
        yield zygote


@pytest.fixture(scope="session")
def clean_run(ingest_zygote, sample_site, tmp_path_factory) -> object:
    """The Reference of one clean run (snapshot, rows per article, time, statement count)."""
    from scripts.crash_loop import clean_reference

    url = f"sqlite:///{tmp_path_factory.mktemp('clean-run') / 'clean.db'}"
    return clean_reference(ingest_zygote, url, sample_site.base_url, BATCH_SIZE)
