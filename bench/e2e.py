"""End to end: the ingest flow through a real Prefect server against plain trafilatura.

Generates ``--pages`` sample-style article files (``bench/sitegen.py``: the bundled articles
copied with new ids and shifted years), serves them on loopback with ``SampleSite`` (no rate
limit: the sample profile's ``min_delay_s`` is 0), starts a real ``prefect server start`` on a
free loopback port (its own PREFECT_HOME, as ``tests/plugins/prefect.py`` does), warms it with
one small flow run (``warm_server``: a long-running server has paid its first-run costs) and runs the
ingest flow in a child process into a fresh SQLite file. In the same run, this process times
plain ``trafilatura.extract(html, include_comments=False)`` over the same rendered pages, before
and after the flow (the mean of the two passes is the baseline, so machine load that changes
during the run hits both sides).

Reported: pages/s of the flow (pages over the flow's wall time: from the flow call, before
the run is created, to the run's ``end_time`` as the Prefect server recorded it, i.e. its final
state) and of plain trafilatura, their ratio (also ``ratio_to_return``: to ``ingest()``
returning, up to a second later, after Prefect's engine has joined its heartbeat thread);
``peak_rss_mb``, the peak RSS of the flow process (its ``VmHWM``: the figure the
benchmark's definition names), and of the flow's whole process
tree (the flow process, its worker processes and its validator, sampled with psutil): summed RSS
(``tree_rss_mb``, which counts every shared page once per process) and summed PSS
(``tree_pss_mb``, shared pages divided among the processes mapping them); the stage times the flow
records (``RunSummary.stage_seconds``: busy time of each stage, summed over batches and
workers) and Prefect's overhead per page: the time the flow's thread spent in Prefect itself
(flow run setup and teardown, task run orchestration, artifacts) rather than in stage code.
Also checks the warehouse holds the rows the generated articles declare.

    uv run python bench/e2e.py --pages 2000 [--repeat 3] [--batch-size N] [--profile out.txt]
                                        [--py-spy stacks.txt] [--timeline]

Ends with one JSON line (medians over ``--repeat`` runs; each run's figures in ``runs``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sitegen import generate_articles  # noqa: E402


def _child(args: argparse.Namespace) -> int:
    """Run the flow once (this process is the flow process); print one JSON line."""
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002, async_mode="disabled")
    from flows.ingest import ingest

    params: dict[str, Any] = {
        "source": "sample",
        "base_url": args.base_url,
        "warehouse_url": args.warehouse_url,
    }
    if args.batch_size:
        params["batch_size"] = args.batch_size
    if profiler:
        profiler.start()
    t0, started = time.perf_counter(), time.time()
    state = ingest(return_state=True, **params)
    returned = time.perf_counter() - t0
    wall = _to_final_state(state, started) or returned
    if profiler:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_text(unicode=True, show_all=False))
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, dict):
        summary = {"error": str(summary)}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "state": state.type.value,
                "wall_s": wall,
                "return_s": returned,
                "summary": summary,
                "peak_rss_mb": _own_peak_rss_mb(usage),
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "workers_cpu_s": workers.ru_utime + workers.ru_stime,
            },
            default=str,
        )
    )
    return 0


def _own_peak_rss_mb(usage: Any) -> float:
    """This process's peak RSS: ``VmHWM`` from ``/proc/self/status`` (Linux). Not
    ``ru_maxrss``: Linux carries it across ``execve``, so a child started by a large parent
    reports the parent's RSS at the fork if it never grows past it (the benchmark's parent
    holds every page and grows from run to run: 175 MB children read 193-196 MB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return usage.ru_maxrss / 1024


def _to_final_state(state: Any, started: float) -> float | None:
    """Seconds from the flow call (``started``, before the flow run is created) to the flow
    run's ``end_time`` as the Prefect server recorded it: the run's duration as the UI shows it.
    Prefect's engine then joins its heartbeat thread, which sleeps in one-second steps, so
    ``ingest()`` returns 0 to 1 s later with nothing left to do (reported as ``return_s``)."""
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(state.state_details.flow_run_id)
    except Exception:  # noqa: BLE001 - the return time is then the figure
        return None
    return run.end_time.timestamp() - started if run.end_time else None


class _Sampler:
    """A background thread running ``_run`` until the ``with`` block ends (``_stop`` set)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class TreeRss(_Sampler):
    """Peak RSS of a process and its descendants, sampled in a background thread (the list of
    descendants is refreshed every second, their memory read every ``interval`` seconds); also
    each descendant's last CPU seconds and peak RSS, by process name (the run names its worker
    processes ``union-news-work`` and its validator ``union-news-gx``).

    Summed RSS counts every page the processes share (libraries mapped in each, the parent's
    pages after a fork) once per process; ``peak_pss`` is the peak of the summed proportional
    set sizes (each shared page divided among its sharers), the memory the tree really takes,
    read from ``/proc/<pid>/smaps_rollup`` every ``pss_interval`` seconds (Linux)."""

    def __init__(self, pid: int, interval: float = 0.05, pss_interval: float = 0.2) -> None:
        self.pid, self.interval, self.pss_interval = pid, interval, pss_interval
        self.peak = 0
        self.peak_pss = 0
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (name, CPU seconds last seen)
        self.rss: dict[int, int] = {}  # pid -> peak RSS
        super().__init__()

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        procs: list = []
        listed = pss_read = 0.0
        while not self._stop.is_set():
            total = 0
            if time.monotonic() - pss_read > self.pss_interval:
                pss_read = time.monotonic()
                pss = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error, AttributeError):
                        pss += p.memory_full_info().pss
                self.peak_pss = max(self.peak_pss, pss)
            if time.monotonic() - listed > 1.0:  # listing descendants scans /proc: not often
                try:
                    procs = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    break
                listed = time.monotonic()
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    rss = p.memory_info().rss
                    total += rss
                    if p.pid != self.pid:
                        t = p.cpu_times()
                        self.cpu[p.pid] = (p.name(), t.user + t.system)
                        self.rss[p.pid] = max(self.rss.get(p.pid, 0), rss)
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def by_name(self) -> dict[str, dict[str, float]]:
        """CPU seconds (summed) and peak RSS in MB (largest) of the descendants, per name."""
        out: dict[str, dict[str, float]] = {}
        for pid, (name, cpu) in self.cpu.items():
            entry = out.setdefault(name, {"processes": 0, "cpu_s": 0.0, "peak_rss_mb": 0.0})
            entry["processes"] += 1
            entry["cpu_s"] = round(entry["cpu_s"] + cpu, 2)
            entry["peak_rss_mb"] = round(max(entry["peak_rss_mb"], self.rss[pid] / 2**20), 1)
        return out


class CpuTimeline(_Sampler):
    """Where the two cores go during a run: every ``interval`` seconds, the CPU seconds each
    group of processes used since the last sample (the flow process, its workers, its
    validator, the Prefect server and its children, this process: the sample site), printed
    as a table of cores busy per group (``--timeline``), with the flow process's RSS. Idle
    cores show as the gap between the total and the machine's CPU count."""

    def __init__(self, flow_pid: int, server_pid: int, interval: float = 0.5) -> None:
        self.flow_pid, self.server_pid, self.interval = flow_pid, server_pid, interval
        self.rows: list[tuple[float, dict[str, float]]] = []
        self._flow_rss = 0.0
        super().__init__()

    def _groups(self, psutil: Any) -> dict[str, float]:
        out: dict[str, float] = {}

        def add(group: str, proc: Any) -> None:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                out[group] = out.get(group, 0.0) + t.user + t.system

        with contextlib.suppress(psutil.Error):
            flow = psutil.Process(self.flow_pid)
            add("flow", flow)
            self._flow_rss = flow.memory_info().rss / 2**20
            for child in flow.children(recursive=True):
                name = child.name()
                add("gx" if "gx" in name else "workers" if "work" in name else "other", child)
        with contextlib.suppress(psutil.Error):
            server = psutil.Process(self.server_pid)
            for proc in [server, *server.children(recursive=True)]:
                add("server", proc)
        out["site"] = time.process_time()
        return out

    def _run(self) -> None:
        import psutil

        start, last = time.monotonic(), self._groups(psutil)
        seen: dict[str, float] = dict(last)
        while not self._stop.wait(self.interval):
            now = self._groups(psutil)
            # a process gone since the last sample keeps its last figure (no negative step)
            for group, value in now.items():
                seen[group] = max(seen.get(group, 0.0), value)
            step = {g: max(0.0, seen[g] - last.get(g, 0.0)) / self.interval for g in seen}
            step["flow_rss_mb"] = self._flow_rss
            self.rows.append((time.monotonic() - start, step))
            last = dict(seen)

    def table(self) -> str:
        groups = ["flow", "workers", "gx", "server", "site", "other"]
        lines = [
            "    t (s) "
            + "".join(f"{g:>9}" for g in groups)
            + "  flow RSS (MB)   total (cores busy)"
        ]
        for t, step in self.rows:
            total = sum(step.get(g, 0.0) for g in groups)
            cells = "".join(f"{step.get(g, 0.0):9.2f}" for g in groups)
            lines.append(
                f"  {t:7.1f}{cells}  {step['flow_rss_mb']:13.0f}   "
                f"{total:5.2f} {'#' * round(total * 10)}"
            )
        return "\n".join(lines)


_WARM_UP_FLOW = """
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

@task(name="warm-up task")
def step(i: int) -> int:
    create_markdown_artifact(key="warm-up", markdown=f"step {i}")
    return i

@flow(name="server warm-up")
def warm_up() -> None:
    for i in range(3):
        step(i)
    create_table_artifact(key="warm-up-table", table=[{"step": 3}])

warm_up()
"""


def warm_server(server: Any) -> None:
    """One small flow run (tasks, logs, artifacts) before the measured runs. A freshly started
    Prefect server spends about a second of CPU on the first flow run it sees (its request
    handlers and services' first use), which a server that users keep running has long paid;
    without this the first measured run would carry it."""
    subprocess.run(
        [sys.executable, "-c", _WARM_UP_FLOW],
        cwd=ROOT,
        env=dict(server.env),
        check=True,
        capture_output=True,
        timeout=300,
    )


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
    except psutil.Error:
        pass
    return total


def plain_trafilatura(pages: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of plain trafilatura over every page, in this process."""
    import trafilatura

    t0, c0 = time.perf_counter(), time.process_time()
    for html in pages:
        trafilatura.extract(html, include_comments=False)
    return time.perf_counter() - t0, time.process_time() - c0


def _expected_rows(site: Any) -> int:
    return sum(len(a.expected) for a in site.articles if a.kind == "article")


def _metric_rows(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("select count(*) from metric_rows")).scalar_one())
    finally:
        engine.dispose()


def run_once(
    n: int,
    server: Any,
    site: Any,
    pages: list[str],
    workdir: Path,
    args: argparse.Namespace,
    number: int,
) -> dict[str, Any]:
    """One measured run: plain trafilatura, the flow in a child process, plain trafilatura."""
    import trafilatura  # noqa: F401 - imported before timing

    plain_before, cpu_before = plain_trafilatura(pages)
    db = workdir / f"run{number}.db"
    url = f"sqlite:///{db}"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--base-url",
        site.base_url,
        "--warehouse-url",
        url,
    ]
    if args.batch_size:
        cmd += ["--batch-size", str(args.batch_size)]
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    if args.py_spy:  # every thread of the flow process, native code included
        cmd = ["py-spy", "record", "--rate", "200", "--gil", "--threads", "--format", "raw",
               "--output", str(args.py_spy), "--", *cmd]
    env = dict(server.env)
    # the run's Data Docs go to the bench's temporary folder, not the working directory
    env["UNION_NEWS_QUALITY_DATA_DOCS_DIR"] = str(workdir / f"gx-data-docs-{number}")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    server_cpu, own_cpu = _tree_cpu(server.processes[0].pid), time.process_time()
    timeline = CpuTimeline(proc.pid, server.processes[0].pid) if args.timeline else None
    with TreeRss(proc.pid) as tree, timeline or contextlib.nullcontext():
        out, err = proc.communicate(timeout=3600)
    if timeline is not None:
        print(timeline.table(), flush=True)
    server_cpu = _tree_cpu(server.processes[0].pid) - server_cpu
    site_cpu = time.process_time() - own_cpu
    if proc.returncode != 0:
        raise RuntimeError(f"flow process failed ({proc.returncode}):\n{err[-4000:]}")
    child = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    plain_after, cpu_after = plain_trafilatura(pages)
    summary = child["summary"]
    if child["state"] != "COMPLETED":
        raise RuntimeError(f"flow ended {child['state']}: {summary}")
    wall, returned = child["wall_s"], child.get("return_s", child["wall_s"])
    stages: dict[str, float] = summary.get("stage_seconds") or {}
    overhead = summary.get("orchestration_seconds")
    if overhead is None:  # older flow: wall time minus the stages
        overhead = wall - sum(stages.values())
    plain_s = (plain_before + plain_after) / 2
    loaded, expected = _metric_rows(url), _expected_rows(site)
    return {
        "pages": n,
        "pipeline_pages_per_s": n / wall,
        "trafilatura_pages_per_s": n / plain_s,
        "ratio": (n / wall) / (n / plain_s),
        "peak_rss_mb": child["peak_rss_mb"],  # the flow process, as the issue defines it
        "flow_process_rss_mb": child["peak_rss_mb"],
        "tree_rss_mb": tree.peak / 2**20,
        "tree_pss_mb": tree.peak_pss / 2**20,
        "overhead_ms_per_page": overhead * 1000 / n,
        "wall_s": wall,
        "return_s": returned,
        "ratio_to_return": (n / returned) / (n / plain_s),
        "cpu_s": {
            "flow_process": child["cpu_s"],
            "worker_processes": child["workers_cpu_s"],
            "prefect_server": server_cpu,
            "site_and_sampler": site_cpu,
            "plain_trafilatura": (cpu_before + cpu_after) / 2,
        },
        "trafilatura_s": [plain_before, plain_after],
        "children": tree.by_name(),
        "stage_seconds": stages,
        "stage_ms_per_page": {k: v * 1000 / n for k, v in stages.items()},
        "rows_loaded": loaded,
        "rows_expected": expected,
        "batches": summary.get("batches"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=0, help="default: the settings' batch_size")
    ap.add_argument("--profile", type=Path, help="pyinstrument text profile of the flow process")
    ap.add_argument(
        "--py-spy",
        type=Path,
        help="py-spy collapsed stacks of the flow process: every thread, samples taken while it "
        "holds the GIL (summarise with bench/spy_summary.py)",
    )
    ap.add_argument(
        "--timeline",
        action="store_true",
        help="print, every 0.5 s of each run, the cores busy in the flow process, its workers, "
        "its validator, the Prefect server and the sample site (where cores sit idle)",
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--base-url", help=argparse.SUPPRESS)
    ap.add_argument("--warehouse-url", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)
    result = measure(args.pages, args.repeat, args)
    print(json.dumps(result))
    return 0


def measure(n: int, repeat: int, args: argparse.Namespace) -> dict[str, Any]:
    """Generate the site, start the servers, run ``repeat`` measured runs; print each run and
    return the medians (with every run under ``runs``)."""
    from tests.plugins.prefect import running_server
    from union_news.sample_site import SampleSite

    with tempfile.TemporaryDirectory(prefix="union-news-e2e-") as tmp:
        workdir = Path(tmp)
        generate_articles(n, workdir / "articles")
        (workdir / "prefect").mkdir()
        with (
            running_server(workdir / "prefect") as server,
            SampleSite(articles_dir=workdir / "articles") as site,
        ):
            pages = [site.resolve(a.path).body.decode("utf-8") for a in site.articles]
            warm_server(server)
            runs = []
            for number in range(1, repeat + 1):
                r = run_once(n, server, site, pages, workdir, args, number)
                runs.append(r)
                _print_run(r, number)
    keys = (
        "pipeline_pages_per_s",
        "trafilatura_pages_per_s",
        "ratio",
        "peak_rss_mb",
        "flow_process_rss_mb",
        "tree_rss_mb",
        "tree_pss_mb",
        "overhead_ms_per_page",
        "wall_s",
        "return_s",
        "ratio_to_return",
    )
    out: dict[str, Any] = {"pages": n, "repeat": repeat}
    for k in keys:
        out[k] = round(statistics.median(r[k] for r in runs), 3)
    stage_names = sorted({s for r in runs for s in r["stage_ms_per_page"]})
    out["stage_ms_per_page"] = {
        s: round(statistics.median(r["stage_ms_per_page"].get(s, 0.0) for r in runs), 3)
        for s in stage_names
    }
    out["rows_ok"] = all(r["rows_loaded"] == r["rows_expected"] for r in runs)
    out["cpus"] = os.cpu_count()
    out["runs"] = [
        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k in keys}
        for r in runs
    ]
    print(
        f"median of {repeat}: flow {out['pipeline_pages_per_s']:.1f} pages/s, plain "
        f"trafilatura {out['trafilatura_pages_per_s']:.1f} pages/s, ratio {out['ratio']:.2f}, "
        f"peak RSS {out['peak_rss_mb']:.0f} MB, Prefect overhead "
        f"{out['overhead_ms_per_page']:.2f} ms/page"
    )
    return out


def _print_run(r: dict[str, Any], number: int) -> None:
    print(
        f"run {number}: {r['pages']} pages in {r['wall_s']:.1f} s -> "
        f"{r['pipeline_pages_per_s']:.1f} pages/s; plain trafilatura "
        f"{r['trafilatura_pages_per_s']:.1f} pages/s; ratio {r['ratio']:.2f} (to the final "
        f"state; {r['ratio_to_return']:.2f} to ingest() returning, {r['return_s']:.1f} s)"
    )
    print(
        f"  peak RSS of the flow process {r['peak_rss_mb']:.0f} MB; of its process tree with "
        f"the workers and the validator: RSS summed {r['tree_rss_mb']:.0f} MB, PSS summed "
        f"{r['tree_pss_mb']:.0f} MB; "
        f"Prefect overhead {r['overhead_ms_per_page']:.2f} ms/page"
    )
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_s"].items())
    print(f"  CPU seconds: {cpu}")
    kids = "; ".join(
        f"{name} x{c['processes']}: CPU {c['cpu_s']:.1f} s, peak RSS {c['peak_rss_mb']:.0f} MB"
        for name, c in sorted(r["children"].items())
    )
    print(f"  child processes (CPU last sampled): {kids or 'none'}")
    stages = ", ".join(f"{k} {v:.2f}" for k, v in r["stage_ms_per_page"].items())
    print(f"  stages (ms/page): {stages or 'not recorded'}")
    ok = "ok" if r["rows_loaded"] == r["rows_expected"] else "MISMATCH"
    print(
        f"  metric rows loaded {r['rows_loaded']} / declared {r['rows_expected']} ({ok}); "
        f"{r['batches']} batches",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
