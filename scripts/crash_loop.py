"""Crash loop: SIGKILL the ingest flow at seeded random points, rerun it, compare with a clean run.

    uv run python scripts/crash_loop.py --kills 40 --seed 1 [--postgres 6] [--chain 4]

A first clean run of the sample site (batch size 5, so eight batch transactions) measures the run
(wall time and number of database statements) and gives the reference warehouse. Then, on fresh
warehouses, runs are SIGKILLed at seeded random points, up to ``--chain`` kills in a row on one
warehouse. After every kill the warehouse must hold a consistent part of the clean result
(nothing a clean run does not hold, no duplicate, no half-loaded article, no stored page without
its article, facts equal to the facts rebuilt from the stored rows); then a rerun that is not
killed must leave a warehouse equal to the clean one (``Warehouse.snapshot()``, fetch times
aside).

Kill points alternate between two kinds:

- ``time``: SIGKILL sent from outside after a random delay in [0, clean run time) from the
  run's start (anywhere: discovery, fetching, validation, Prefect API calls, the load);
- ``stmt``: the run SIGKILLs itself right after its N-th database statement or just before its
  N-th COMMIT, N random in [1, statements of the clean run] (so kills land inside migrations and
  load transactions, which a clock rarely hits).

Runs are forked from a warm "zygote" process (Prefect, the pipeline and Great Expectations
imported once, no thread running), so a run starts in milliseconds instead of the 5-45 s an
import of Prefect and Great Expectations takes; each fork is its own OS process and its own
Prefect flow run. The tests (tests/test_crash.py, test_db_faults.py, test_concurrency.py) use
this module; run as a script it starts its own Prefect server and sample site and prints each
kill point and its outcome, then one JSON line with the counts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_IGNORE = ("fetched_at",)  # when a page was fetched differs between two equal runs
PART_TABLES = ("articles", "raw_pages", "metric_rows", "quarantine", "fetch_log")
FACT_TABLES = ("facts", "fact_conflicts")


# --------------------------------------------------------------------------- the zygote


def _zygote_main() -> None:
    """Import everything once, then fork one child per ``run`` request read on stdin."""
    import threading

    import flows.ingest  # noqa: F401 - the flow, its tasks and the pipeline
    import union_news.facts  # noqa: F401
    from union_news.quality import expectations_dir, runner

    runner.warm_up(str(expectations_dir()))  # Great Expectations imported, suites compiled
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    out = sys.stdout
    _say(out, {"ready": True, "threads": threads, "pid": os.getpid()})
    for line in sys.stdin:
        msg = json.loads(line)
        op = msg.get("op")
        if op == "run":
            out.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(msg["spec"])  # never returns
            _say(out, {"pid": pid})
        elif op == "wait":
            _, status = os.waitpid(int(msg["pid"]), 0)
            _say(out, {"pid": msg["pid"], "code": os.waitstatus_to_exitcode(status)})
        elif op == "quit":
            break


def _say(out: Any, msg: dict) -> None:
    out.write(json.dumps(msg) + "\n")
    out.flush()


def _child(spec: dict) -> None:
    """A forked run: output to its log, optional self-kill at a statement, result to a file."""
    code = 2
    try:
        os.setsid()  # its own process group: a kill takes its worker processes too
        os.environ.update(spec.get("env") or {})
        fd = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        counter = _count_statements(spec.get("kill_at"))
        from flows.ingest import ingest

        started = time.monotonic()
        state = ingest(
            source="sample",
            base_url=spec["base_url"],
            warehouse_url=spec["warehouse_url"],
            batch_size=spec.get("batch_size") or 5,
            return_state=True,
        )
        result = {
            "state": state.type.value,
            "message": state.message,
            "statements": counter["n"],
            "seconds": round(time.monotonic() - started, 3),
            "cpu_seconds": round(sum(os.times()[:4]), 3),  # its own and its workers' CPU time
            "flow_run_id": str(state.state_details.flow_run_id or ""),
        }
        Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
        code = 0 if state.is_completed() else 1
    except BaseException:  # noqa: BLE001 - the run's own failure is its outcome
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            _drain_prefect()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _count_statements(kill_at: int | None) -> dict[str, int]:
    """Count database statements and COMMITs of this process; SIGKILL itself at ``kill_at``."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counter = {"n": 0}

    def tick(*_: Any, **__: Any) -> None:
        counter["n"] += 1
        if kill_at is not None and counter["n"] >= kill_at:
            os.killpg(0, signal.SIGKILL)  # the run and its worker processes

    event.listen(Engine, "after_cursor_execute", tick)  # the statement ran, not committed
    event.listen(Engine, "commit", tick)  # just before COMMIT
    return counter


def _drain_prefect() -> None:
    """Send the run's pending logs and events before ``os._exit``."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        with contextlib.suppress(RuntimeError):
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    run_coro_as_sync(drain())


# --------------------------------------------------------------------------- the parent side


@dataclass
class Child:
    pid: int
    started: float
    spec: dict


@dataclass
class Outcome:
    """How one forked run ended."""

    pid: int
    seconds: float
    code: int  # exit code, or minus the signal number
    result: dict | None
    log: Path

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL

    @property
    def completed(self) -> bool:
        return self.code == 0 and bool(self.result) and self.result["state"] == "COMPLETED"

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def describe(self) -> str:
        if self.result:
            return f"{self.result['state']}: {self.result['message']}"
        return f"exit {self.code}"


class ZygoteError(RuntimeError):
    pass


class Zygote:
    """A warm process that forks ingest runs on request (see the module docstring)."""

    def __init__(
        self, env: dict[str, str], workdir: Path, start_timeout: float = 400, data_docs: bool = True
    ):
        """``data_docs=False`` turns Great Expectations' HTML Data Docs off in the runs (a third
        of a small run's CPU time; they are reports, no part of the warehouse)."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._n = 0
        full = {
            **env,
            "PYTHONPATH": os.pathsep.join(
                p
                for p in dict.fromkeys([str(ROOT), *env.get("PYTHONPATH", "").split(os.pathsep)])
                if p
            ),
            "PYTHONUNBUFFERED": "1",
            "GX_ANALYTICS_ENABLED": "false",
            "UNION_NEWS_QUALITY_DATA_DOCS_DIR": str(self.workdir / "gx-data-docs")
            if data_docs
            else "",
        }
        self._log = (self.workdir / "zygote.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--zygote"],
            cwd=ROOT,
            env=full,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )
        self._buf = b""
        hello = self._read(start_timeout)
        if hello.get("threads"):
            self.close()
            raise ZygoteError(f"threads running in the zygote, forking is unsafe: {hello}")

    # -- protocol

    def _send(self, msg: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def _read(self, timeout: float) -> dict:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ZygoteError(f"no answer from the zygote in {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    log = (self.workdir / "zygote.log").read_text(errors="replace")[-3000:]
                    raise ZygoteError(f"the zygote ended:\n{log}")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    # -- runs

    def spawn(
        self,
        warehouse_url: str,
        base_url: str,
        batch_size: int = 5,
        kill_at: int | None = None,
        name: str = "run",
        env: dict[str, str] | None = None,
    ) -> Child:
        """Fork one run; ``env`` is added to its environment."""
        self._n += 1
        stem = self.workdir / f"{self._n:03d}-{name}"
        spec = {
            "warehouse_url": warehouse_url,
            "base_url": base_url,
            "batch_size": batch_size,
            "kill_at": kill_at,
            "log": str(stem) + ".log",
            "result": str(stem) + ".json",
            "env": env or {},
        }
        with contextlib.suppress(FileNotFoundError):
            os.unlink(spec["result"])
        self._send({"op": "run", "spec": spec})
        pid = int(self._read(30)["pid"])
        return Child(pid, time.monotonic(), spec)

    def wait(self, child: Child, timeout: float = 400) -> Outcome:
        """Wait for the run to end (SIGKILL it after ``timeout`` s)."""
        self._send({"op": "wait", "pid": child.pid})
        try:
            answer = self._read(timeout)
        except ZygoteError:
            self.kill(child)
            answer = self._read(30)
            answer["code"] = "timeout"
        seconds = time.monotonic() - child.started
        result_path = Path(child.spec["result"])
        result = json.loads(result_path.read_text()) if result_path.exists() else None
        if answer["code"] == "timeout":
            raise ZygoteError(
                f"run {child.pid} took over {timeout:.0f} s; killed. Log:\n"
                + Path(child.spec["log"]).read_text(errors="replace")[-3000:]
            )
        return Outcome(child.pid, seconds, int(answer["code"]), result, Path(child.spec["log"]))

    @staticmethod
    def kill(child: Child) -> None:
        """SIGKILL the run's process group (the run and its worker processes)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)  # a zombie (ended, not yet reaped) ignores it
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)  # before its setsid()

    def run(
        self,
        warehouse_url: str,
        base_url: str,
        batch_size: int = 5,
        kill_at: int | None = None,
        kill_after: float | None = None,
        name: str = "run",
        timeout: float = 400,
        env: dict[str, str] | None = None,
    ) -> Outcome:
        """One run; SIGKILLed ``kill_after`` s after its start if it is still running then."""
        child = self.spawn(warehouse_url, base_url, batch_size, kill_at, name, env)
        if kill_after is not None:
            time.sleep(max(0.0, child.started + kill_after - time.monotonic()))
            self.kill(child)
        return self.wait(child, timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self._send({"op": "quit"})
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                stream.close()
        self._log.close()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- what a warehouse holds


def snapshot(url: str) -> dict[str, list[tuple]]:
    """The warehouse's canonical snapshot (facts included), fetch times aside."""
    import union_news.warehouse.facts_schema  # noqa: F401 - the facts tables on the metadata
    from union_news.warehouse import Warehouse

    with Warehouse(url) as warehouse:
        return warehouse.snapshot(ignore=SNAPSHOT_IGNORE)


@dataclass
class Reference:
    """A clean run: its snapshot, each article's row keys, its time and statement count."""

    snapshot: dict[str, list[tuple]]
    rows_by_article: dict[str, set[str]]
    page_urls: dict[str, str]  # raw page url -> final url
    seconds: float
    statements: int

    @property
    def articles(self) -> int:
        return len(self.rows_by_article)

    @property
    def rows(self) -> int:
        return sum(len(v) for v in self.rows_by_article.values())


def _rows_by_article(url: str) -> dict[str, set[str]]:
    from union_news.warehouse import Warehouse

    with Warehouse(url) as warehouse:
        out: dict[str, set[str]] = {a["url"]: set() for a in warehouse.articles()}
        for row in warehouse.metric_rows():
            out.setdefault(row["article_url"], set()).add(row["row_key"])
    return out


def _pages(url: str) -> dict[str, str]:
    from union_news.warehouse import Warehouse

    with Warehouse(url) as warehouse:
        return {p.url: p.final_url or p.url for p in warehouse.stored_pages()}


def clean_reference(zygote: Zygote, url: str, base_url: str, batch_size: int = 5) -> Reference:
    """One clean (unkilled) run into ``url``; it must complete."""
    outcome = zygote.run(url, base_url, batch_size, name="clean")
    if not outcome.completed:
        raise AssertionError(
            f"the clean run did not complete ({outcome.describe()}):\n" + outcome.tail()
        )
    return Reference(
        snapshot(url),
        _rows_by_article(url),
        _pages(url),
        outcome.seconds,
        int(outcome.result["statements"]),
    )


def facts_mismatch(url: str) -> list[str]:
    """Facts that differ from the facts rebuilt from the stored rows (rebuilt and rolled back)."""
    from sqlalchemy import select

    import union_news.warehouse.facts_schema  # noqa: F401 - the facts tables on the metadata
    from union_news.facts import refresh_facts
    from union_news.warehouse import Warehouse
    from union_news.warehouse.schema import metadata

    def rows(conn: Any) -> dict[str, list[tuple]]:
        return {
            name: sorted((tuple(r) for r in conn.execute(select(metadata.tables[name]))), key=repr)
            for name in FACT_TABLES
        }

    with Warehouse(url) as warehouse, warehouse.engine.connect() as conn, conn.begin() as tx:
        stored = rows(conn)
        refresh_facts(conn, None)
        rebuilt = rows(conn)
        tx.rollback()
    return [
        f"{name}: {len(set(stored[name]) ^ set(rebuilt[name]))} rows differ from the facts "
        f"rebuilt from the stored rows"
        for name in FACT_TABLES
        if stored[name] != rebuilt[name]
    ]


def problems_after_kill(url: str, ref: Reference) -> tuple[list[str], dict[str, int]]:
    """What is wrong with a killed run's warehouse, and what it holds (articles, rows, pages).

    It must hold a part of the clean result: no row a clean run does not hold, no duplicate,
    every stored article with all its rows (none half-loaded), no stored page whose article is
    missing (a rerun would skip that page as unchanged and lose the article), facts that match
    the stored rows."""
    snap = snapshot(url)
    problems: list[str] = []
    if not snap:  # killed before the schema was committed: an empty database
        return problems, {"articles": 0, "rows": 0, "pages": 0}
    if set(snap) != set(ref.snapshot):
        problems.append(f"half-migrated schema: tables {sorted(snap)}")
        return problems, {"articles": 0, "rows": 0, "pages": 0}
    for table in PART_TABLES:
        got, want = snap.get(table, []), set(ref.snapshot.get(table, []))
        if extra := [r for r in got if r not in want]:
            problems.append(f"{table}: {len(extra)} rows a clean run does not hold: {extra[:2]}")
        if dup := [r for r, n in Counter(got).items() if n > 1]:
            problems.append(f"{table}: {len(dup)} duplicated rows")
    held = _rows_by_article(url)
    for article, keys in sorted(held.items()):
        want = ref.rows_by_article.get(article)
        if want is None:
            problems.append(f"article {article} is not in a clean run")
        elif keys != want:
            problems.append(
                f"half-loaded article {article}: {len(keys)} of {len(want)} rows "
                f"({len(keys - want)} unexpected)"
            )
    for page, final in sorted(_pages(url).items()):
        article = next((u for u in (page, final) if u in ref.rows_by_article), None)
        if article is not None and article not in held:
            problems.append(f"page {page} stored without its article (a rerun would skip it)")
    problems += facts_mismatch(url)
    counts = {
        "articles": len(held),
        "rows": sum(len(v) for v in held.values()),
        "pages": len(snap.get("raw_pages", [])),
    }
    return problems, counts


def snapshot_diff(got: dict[str, list[tuple]], want: dict[str, list[tuple]]) -> list[str]:
    """Per table: rows missing and rows unexpected (as multisets)."""
    out = []
    for table in sorted(set(got) | set(want)):
        g, w = Counter(got.get(table, [])), Counter(want.get(table, []))
        missing, extra = sum((w - g).values()), sum((g - w).values())
        if missing or extra:
            out.append(f"{table}: {missing} missing, {extra} unexpected")
    return out


# --------------------------------------------------------------------------- the loop


@dataclass
class Tally:
    kills: int = 0
    time_kills: int = 0
    statement_kills: int = 0
    completed_before_kill: int = 0
    reruns: int = 0
    rounds: int = 0
    lost: int = 0  # rows or articles of a clean run missing after a completed rerun
    duplicated: int = 0  # rows a clean run does not hold after a completed rerun
    inconsistent_after_kill: int = 0
    failed_runs: int = 0
    points: list[str] = field(default_factory=list)  # one line per kill
    kill_points: list[tuple[str, float]] = field(default_factory=list)  # (kind, s or statement)
    held_articles: list[int] = field(default_factory=list)  # articles committed at each kill
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("points", "kill_points", "held_articles"):
            data.pop(name)
        data["problems"] = self.problems[:20]
        return data

    @property
    def ok(self) -> bool:
        return not self.problems


def crash_loop(
    zygote: Zygote,
    new_url: Callable[[], str],
    base_url: str,
    ref: Reference,
    kills: int,
    seed: int,
    chain: int = 4,
    batch_size: int = 5,
    label: str = "sqlite",
    say: Callable[[str], None] = print,
    max_runs: int | None = None,
) -> Tally:
    """SIGKILL runs at ``kills`` seeded random points (see the module docstring)."""
    rng = random.Random(seed)
    tally = Tally()
    max_runs = max_runs or 4 * kills + 10
    runs = 0
    used: set[tuple[str, float]] = set()  # every point is tried once
    while tally.kills < kills and runs < max_runs:
        tally.rounds += 1
        url = new_url()
        in_round = 0
        while True:
            runs += 1
            kind = "time" if (tally.kills + tally.completed_before_kill) % 2 == 0 else "stmt"
            value = _draw(rng, kind, ref, used)
            used.add((kind, value))
            if kind == "time":
                point = f"t={value:6.2f} s of {ref.seconds:.1f}"
                outcome = zygote.run(url, base_url, batch_size, kill_after=value, name="kill")
            else:
                point = f"stmt {value:4d} of {ref.statements}"
                outcome = zygote.run(url, base_url, batch_size, kill_at=int(value), name="kill")
            if not outcome.killed:
                tally.completed_before_kill += 1
                say(
                    f"[{label}] round {tally.rounds}: {kind} point {point}: the run ended first "
                    f"({outcome.describe()})"
                )
                _finish_round(outcome, url, ref, tally, label, say, rerun=False)
                break
            tally.kills += 1
            tally.time_kills += kind == "time"
            tally.statement_kills += kind == "stmt"
            in_round += 1
            problems, held = problems_after_kill(url, ref)
            tally.kill_points.append((kind, value))
            tally.held_articles.append(held["articles"])
            status = "consistent" if not problems else "INCONSISTENT: " + "; ".join(problems[:3])
            line = (
                f"[{label}] kill {tally.kills:3d} (round {tally.rounds}, {in_round} in a row) "
                f"{kind} {point}: killed at {outcome.seconds:6.2f} s; warehouse holds "
                f"{held['articles']}/{ref.articles} articles, {held['rows']}/{ref.rows} rows, "
                f"{held['pages']} pages: {status}"
            )
            tally.points.append(line)
            say(line)
            if problems:
                tally.inconsistent_after_kill += 1
                tally.problems += [f"kill {tally.kills}: {p}" for p in problems]
            if in_round >= chain or tally.kills >= kills:
                runs += 1
                rerun = zygote.run(url, base_url, batch_size, name="rerun")
                _finish_round(rerun, url, ref, tally, label, say, rerun=True)
                break
    return tally


def _draw(rng: random.Random, kind: str, ref: Reference, used: set[tuple[str, float]]) -> float:
    """A kill point not tried yet: seconds into the run, or a statement number."""
    while True:
        if kind == "time":
            value: float = round(rng.uniform(0.02, 1.0) * ref.seconds, 2)
        else:
            value = rng.randint(1, ref.statements)
        if (kind, value) not in used or len(used) > 10 * ref.statements:
            return value


def _finish_round(
    outcome: Outcome,
    url: str,
    ref: Reference,
    tally: Tally,
    label: str,
    say: Callable[[str], None],
    rerun: bool,
) -> None:
    tally.reruns += rerun
    if not outcome.completed:
        tally.failed_runs += 1
        tally.problems.append(f"round {tally.rounds}: run did not complete: {outcome.describe()}")
        say(f"[{label}] round {tally.rounds}: FAILED run: {outcome.describe()}\n{outcome.tail()}")
        return
    got = snapshot(url)
    diff = snapshot_diff(got, ref.snapshot)
    for table in ref.snapshot:
        g, w = Counter(got.get(table, [])), Counter(ref.snapshot[table])
        tally.lost += sum((w - g).values())
        tally.duplicated += sum((g - w).values())
    if diff:
        tally.problems.append(f"round {tally.rounds}: differs from a clean run: {'; '.join(diff)}")
    what = "rerun" if rerun else "run"
    say(
        f"[{label}] round {tally.rounds}: {what} completed in {outcome.seconds:.1f} s: "
        + ("warehouse equals a clean run" if not diff else "DIFFERS: " + "; ".join(diff))
    )


# --------------------------------------------------------------------------- the script


@contextlib.contextmanager
def _postgres_urls() -> Iterator[Callable[[], str]]:
    """Fresh PostgreSQL schemas (dropped at the end) on the test server."""
    import uuid

    sys.path.insert(0, str(ROOT))
    from tests.plugins.db import PG_URL, _admin, _drop_schema, _with_schema

    made: list[str] = []

    def new() -> str:
        schema = f"crash_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE SCHEMA "{schema}"')
        made.append(schema)
        return _with_schema(PG_URL, schema)

    try:
        yield new
    finally:
        for schema in made:
            with contextlib.suppress(Exception):
                _drop_schema(schema)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=40, help="kill points on SQLite")
    parser.add_argument(
        "--postgres", type=int, default=6, help="kill points on PostgreSQL (0: none)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chain", type=int, default=4, help="kills in a row on one warehouse")
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--api-url", help="a running Prefect API (default: start a server)")
    parser.add_argument("--workdir", help="where warehouses and run logs go (default: a temp dir)")
    parser.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.zygote:
        _zygote_main()
        return 0
    sys.path.insert(0, str(ROOT))
    from tests.plugins.prefect import _prefect_env, running_server
    from union_news.sample_site import SampleSite

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="crash-loop-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"work dir {workdir}", flush=True)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.api_url:
            env = _prefect_env(workdir / "prefect-home", args.api_url)
        else:
            home = workdir / "prefect-home"
            home.mkdir(exist_ok=True)
            env = stack.enter_context(running_server(home)).env
        site = stack.enter_context(SampleSite())
        zygote = stack.enter_context(Zygote(env, workdir / "runs"))
        ref = clean_reference(
            zygote, f"sqlite:///{workdir / 'clean.db'}", site.base_url, args.batch_size
        )
        print(
            f"clean run: {ref.seconds:.1f} s, {ref.statements} statements, {ref.articles} "
            f"articles, {ref.rows} rows",
            flush=True,
        )
        n = 0

        def new_sqlite() -> str:
            nonlocal n
            n += 1
            return f"sqlite:///{workdir / f'kill-{n:03d}.db'}"

        def say(line: str) -> None:
            print(line, flush=True)

        tallies = {
            "sqlite": crash_loop(
                zygote,
                new_sqlite,
                site.base_url,
                ref,
                args.kills,
                args.seed,
                args.chain,
                args.batch_size,
                "sqlite",
                say,
            )
        }
        if args.postgres:
            pg = stack.enter_context(_postgres_urls())
            tallies["postgresql"] = crash_loop(
                zygote,
                pg,
                site.base_url,
                ref,
                args.postgres,
                args.seed + 1,
                args.chain,
                args.batch_size,
                "postgresql",
                say,
            )
    total = {
        k: sum(getattr(t, k) for t in tallies.values())
        for k in (
            "kills",
            "time_kills",
            "statement_kills",
            "completed_before_kill",
            "reruns",
            "lost",
            "duplicated",
            "inconsistent_after_kill",
            "failed_runs",
        )
    }
    summary = {
        **total,
        "seed": args.seed,
        "seconds": round(time.monotonic() - started, 1),
        "clean_run_seconds": round(ref.seconds, 2),
        "clean_run_statements": ref.statements,
        "by_backend": {k: t.as_dict() for k, t in tallies.items()},
        "ok": all(t.ok for t in tallies.values()),
    }
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
