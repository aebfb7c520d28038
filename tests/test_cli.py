"""The ``union-news`` command line as a user runs it: a real subprocess of the installed script.

``demo`` serves the bundled sample site, runs the ingest flow through Prefect and loads the
warehouse; ``clean`` and ``extract`` work on the shared seed pages; bad input gets a clear message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.test_ingest_flow import expected_rows, row_key, warehouse_rows

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CLI = Path(sys.executable).with_name("union-news")
SEEDS = sorted((SHARED / "seeds").glob("*.txt"))

needs_seeds = pytest.mark.skipif(not SEEDS, reason=f"shared seeds not found at {SHARED}")


def union_news(*args: str, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **(env or {})}
    full_env.pop("UNION_NEWS_WAREHOUSE_URL", None)
    return subprocess.run([str(CLI), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def table_value(output: str, label: str) -> int:
    found = re.search(rf"{re.escape(label)}\s*│\s*(\d+)", output)
    assert found, f"{label!r} not in the summary:\n{output}"
    return int(found.group(1))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_loads_every_expected_row_and_a_rerun_loads_nothing(prefect_server, tmp_path):
    env = {"PREFECT_API_URL": prefect_server.url, "PREFECT_HOME": str(prefect_server.home)}
    first = union_news("demo", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"  # the default warehouse, in the working dir
    want = expected_rows()
    assert Counter(row_key(r) for r in warehouse_rows(url)) == want
    out = first.stdout
    assert table_value(out, "metric rows loaded (new)") == sum(want.values())
    assert table_value(out, "pages discovered") >= 40
    assert table_value(out, "rows quarantined") == 0
    assert "time taken" in out and "data quality" in out
    assert (tmp_path / "gx-data-docs" / "index.html").exists()

    second = union_news("demo", cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert table_value(second.stdout, "metric rows loaded (new)") == 0
    assert table_value(second.stdout, "unchanged (304 / same content)") >= 39
    assert Counter(row_key(r) for r in warehouse_rows(url)) == want


@needs_seeds
def test_clean_prints_the_article_as_json_and_as_text(tmp_path):
    gold_dir = SHARED / "seeds-gold"
    for seed in SEEDS[:2]:
        done = union_news("clean", str(seed), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        article = json.loads(done.stdout)
        assert {"title", "author", "published", "text", "captions", "related_titles"} <= set(article)
        gold = (gold_dir / f"{seed.stem}.clean.txt").read_text(encoding="utf-8").strip()
        as_text = union_news("clean", str(seed), "--format", "text", cwd=tmp_path)
        assert as_text.returncode == 0, as_text.stderr
        assert as_text.stdout.strip() == gold
        assert article["title"] == gold.splitlines()[0]


@needs_seeds
def test_extract_prints_one_json_line_per_row_with_its_source(tmp_path):
    gold = json.loads((SHARED / "seeds-gold" / "metrics.json").read_text(encoding="utf-8"))
    done = union_news("extract", *map(str, SEEDS), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert rows and all(r["source"] in {str(s) for s in SEEDS} for r in rows)
    assert {"metric", "value", "target", "achievement_pct", "qualifier", "organization",
            "period"} <= set(rows[0])
    assert len(rows) == sum(len(a["metrics"]) for a in gold["articles"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["clean", "no/such/page.html"], "no/such/page.html"),
        (["run", "--source", "no-such-site"], "unknown source"),
        (["run", "--since", "2024-13-01"], "is not a date"),
        (["run", "--since", "2024-03-01", "--until", "2024-01-01"], "after"),
    ],
)
def test_bad_input_gets_a_clear_message_not_a_traceback(tmp_path, args, message):
    done = union_news(*args, cwd=tmp_path, timeout=120)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert message in output
    assert "Traceback" not in output
