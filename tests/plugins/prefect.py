"""Fixtures for the prefect area: a real Prefect server, work pool, deployments and worker.

``prefect_server`` (session): ``prefect server start`` on a free loopback port with its own
PREFECT_HOME; ``.env`` is the environment for subprocesses (PREFECT_API_URL set) and
``.settings()`` points in-process Prefect calls at it.
``prefect_deployed`` (session): the ``union-news`` process pool, everything in
``deploy/prefect.yaml`` deployed from the repository root, and a worker polling every second.
Every process is started in its own session and stopped by signalling its group, with a
``kill -9`` fallback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]  # where `prefect deploy` and the worker's runs start
BIN = Path(sys.executable).parent
POOL = "union-news"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_process(args: list[str], env: dict[str, str], log: Path,
                  cwd: Path = ROOT) -> subprocess.Popen:
    """Start a process in its own session (so its whole group can be signalled), logging to a file."""
    handle = log.open("ab")
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group (Prefect turns it into an orderly stop), SIGKILL after ``grace``."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 0.5, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or check} (last: {last!r})")


@dataclass
class PrefectServer:
    url: str                      # the API URL, http://127.0.0.1:<port>/api
    ui_url: str                   # http://127.0.0.1:<port>
    home: Path
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        """Call the REST API (``path`` like '/flow_runs/filter'); returns the decoded JSON."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def flow_runs(self, **filters: Any) -> list[dict]:
        return self.api("POST", "/flow_runs/filter", {"limit": 200, **filters})

    def artifacts(self, flow_run_id: str) -> list[dict]:
        return self.api("POST", "/artifacts/filter",
                        {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}})

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``prefect <args>`` against this server from the repository root."""
        return subprocess.run([str(BIN / "prefect"), *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def settings(self):
        """A context manager pointing this process's Prefect client at the server."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        return temporary_settings({PREFECT_API_URL: self.url})

    def healthy(self) -> bool:
        try:
            return self.api("GET", "/health") is True
        except OSError:
            return False


def _prefect_env(home: Path, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _drain_prefect_workers(server: PrefectServer) -> None:
    """Send this process's pending Prefect logs and events while the server still answers
    (as prefect_test_harness does); otherwise they retry against a dead server at exit."""
    if "prefect.logging.handlers" not in sys.modules:
        return
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

    with server.settings(), contextlib.suppress(Exception):
        run_coro_as_sync(drain())


@contextlib.contextmanager
def running_server(home: Path) -> Iterator[PrefectServer]:
    """A ``prefect server start`` on a free loopback port with PREFECT_HOME ``home``, stopped
    (with every process added to ``.processes``) on exit."""
    port = free_port()
    ui_url = f"http://127.0.0.1:{port}"
    env = _prefect_env(home, f"{ui_url}/api")
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    server = PrefectServer(f"{ui_url}/api", ui_url, home, env, logs)
    proc = start_process([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                          "--port", str(port)], env, logs / "server.log")
    server.processes.append(proc)
    try:
        deadline = time.monotonic() + 240  # ~9 s on an idle machine; far more under load
        while not server.healthy():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (logs / "server.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"prefect server did not start:\n{tail}")
            time.sleep(0.5)
        yield server
    finally:
        _drain_prefect_workers(server)
        for p in reversed(server.processes):
            stop_process(p)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with running_server(tmp_path_factory.mktemp("prefect-home")) as server:
        yield server


@pytest.fixture(scope="session")
def prefect_deployed(prefect_server: PrefectServer) -> PrefectServer:
    """The process pool, deploy/prefect.yaml deployed from the repo root, and a running worker."""
    server = prefect_server
    created = server.cli("work-pool", "create", POOL, "--type", "process", "--overwrite")
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = server.cli("--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml",
                          timeout=180)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    worker = start_process([str(BIN / "prefect"), "worker", "start", "--pool", POOL,
                            "--name", "pytest-worker"], server.env, server.logs / "worker.log")
    server.processes.append(worker)

    def worker_online() -> bool:
        workers = server.api("POST", f"/work_pools/{POOL}/workers/filter", {})
        return any(w["name"] == "pytest-worker" for w in workers)

    wait_for(worker_online, 60, what="the worker to poll the pool")
    return server


def sample_range(count: int = 2):
    """(site, since, until, window size, expected rows): a SampleSite (a context manager serving
    the bundled sample site on loopback), the range covering its latest ``count`` months that hold
    articles (the last one clipped at the newest article) and the Counter of ``row_key``s the
    articles published in that range declare."""
    from datetime import date

    from union_news.sample_site import SampleSite, load_sample_articles
    from union_news.windows import split_windows

    articles = [a for a in load_sample_articles() if a.published is not None]
    first = min(a.published.date() for a in articles)
    last = max(a.published.date() for a in articles)
    windows = split_windows(first, last, "month")
    assert len(windows) >= count, "the sample site spans fewer months than the test needs"
    since: date = windows[count - 1].since
    return SampleSite(), since, last, "month", expected_rows(since, last)


def _num(value: Any) -> Any:
    if value is None:
        return None
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value


def row_key(row: Any) -> tuple:
    """What makes two metric rows the same figure (a MetricRow or a warehouse row mapping)."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return (get("metric"), _num(get("value")), _num(get("target")), _num(get("achievement_pct")),
            get("qualifier"), get("organization"), get("period"))


def expected_rows(since, until) -> Counter:
    """The rows the sample articles published in [since, until] declare."""
    from union_news.sample_site import load_sample_articles

    return Counter(row_key(r) for a in load_sample_articles()
                   if a.published is not None and since <= a.published.date() <= until
                   for r in a.expected)


def warehouse_rows(url: str) -> Counter:
    """The warehouse's metric rows as a Counter of ``row_key``s."""
    from sqlalchemy import MetaData, Table, create_engine, select

    engine = create_engine(url)
    try:
        table = Table("metric_rows", MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return Counter(row_key(dict(r._mapping)) for r in conn.execute(select(table)))
    finally:
        engine.dispose()
