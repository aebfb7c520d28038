"""``union-news report``: facts through the real warehouse, as table, CSV, JSON, Parquet, PNG."""

from __future__ import annotations

import csv
import io
import json
import warnings
from datetime import datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from union_news.cli import app
from union_news.models import CleanArticle, MetricRow
from union_news.report import Filters, plot_facts, query_facts
from union_news.warehouse import LoadBatch, Warehouse

BASE = "http://news.test/"
DONG_ANH = "LĐLĐ huyện Đông Anh"
HOAN_KIEM = "LĐLĐ quận Hoàn Kiếm"

runner = CliRunner()


def _article(slug: str, day: tuple[int, ...]) -> CleanArticle:
    return CleanArticle(
        url=BASE + slug, title=f"Bài {slug}", text="Nội dung.", published=datetime(*day)
    )


def _row(slug, org, value, period, metric="members_total", qualifier="exact"):
    return MetricRow(
        metric=metric,
        value=value,
        qualifier=qualifier,
        organization=org,
        period=period,
        unit="đoàn viên",
        evidence=f"{org}: {value}.",
        article_url=BASE + slug,
    )


# slug, published, rows: Đông Anh over three years (2023 twice: rounded + exact), Hoàn Kiếm
# with a genuine conflict in 2024, one other metric.
CORPUS = [
    ("da-2022", (2022, 12, 28), [(DONG_ANH, 14_210, "2022")]),
    ("da-2023", (2023, 12, 27), [(DONG_ANH, 15_030, "2023")]),
    ("da-2023-cum", (2024, 1, 15), [(DONG_ANH, 15_000, "2023", "members_total", "over")]),
    (
        "da-2024",
        (2024, 12, 30),
        [(DONG_ANH, 15_870, "2024"), (DONG_ANH, 312, "2024", "unions_total")],
    ),
    ("hk-2023", (2023, 11, 20), [(HOAN_KIEM, 9_120, "2023")]),
    ("hk-2024-a", (2024, 6, 1), [(HOAN_KIEM, 9_400, "2024")]),
    ("hk-2024-b", (2024, 11, 2), [(HOAN_KIEM, 8_650, "2024")]),
]


@pytest.fixture
def loaded(warehouse_url):
    wh = Warehouse(warehouse_url)
    wh.upgrade()
    articles, rows = [], []
    for slug, day, specs in CORPUS:
        articles.append(_article(slug, day))
        rows.extend(_row(slug, *spec) for spec in specs)
    wh.load_batch(LoadBatch(articles=articles, rows=rows, run_id="r1", source="news.test"))
    yield warehouse_url
    wh.dispose()


@pytest.fixture
def sqlite_loaded(tmp_path):
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    wh = Warehouse(url)
    wh.upgrade()
    articles = [_article(slug, day) for slug, day, _ in CORPUS]
    rows = [_row(slug, *spec) for slug, _, specs in CORPUS for spec in specs]
    wh.load_batch(LoadBatch(articles=articles, rows=rows, run_id="r1", source="news.test"))
    wh.dispose()
    return url


def invoke(*args: str):
    result = runner.invoke(app, ["report", *args], env={"COLUMNS": "240"})
    return result


def test_csv_to_stdout_lists_one_row_per_fact(loaded):
    result = invoke("--warehouse", loaded, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6  # 7 articles, 8 mentions -> 6 keys
    by_key = {(r["organization"], r["metric"], r["period"]): r for r in rows}
    exact_2023 = by_key[(DONG_ANH, "members_total", "2023")]
    assert (exact_2023["value"], exact_2023["rule"], exact_2023["mentions"]) == (
        "15030",
        "most_precise",
        "2",
    )
    assert exact_2023["article_urls"].split("|") == [BASE + "da-2023-cum", BASE + "da-2023"]
    conflict = by_key[(HOAN_KIEM, "members_total", "2024")]
    assert (conflict["value"], conflict["rule"], conflict["conflicts"]) == (
        "8650",
        "most_recent",
        "1",
    )


def test_json_with_filters(loaded):
    result = invoke(
        "--warehouse",
        loaded,
        "--format",
        "json",
        "--org",
        "đông anh",
        "--metric",
        "members_total",
        "--since",
        "2023-01-01",
        "--until",
        "2023-12-31",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(d["organization"], d["period"], d["value"]) for d in data] == [
        (DONG_ANH, "2023", 15030)
    ]
    assert data[0]["as_of"] == "2023-12-31" and data[0]["qualifier"] == "exact"


def test_table_shows_vietnamese_names_and_conflicts_mode(loaded):
    result = invoke("--warehouse", loaded, "--metric", "members_total")
    assert result.exit_code == 0, result.output
    assert "Hoàn Kiếm" in result.stdout and "most_precise" in result.stdout
    assert "15.030" in result.stdout  # Vietnamese thousands grouping
    result = invoke("--warehouse", loaded, "--conflicts", "--format", "json")
    assert result.exit_code == 0, result.output
    [conflict] = json.loads(result.stdout)
    assert (conflict["organization"], conflict["value"], conflict["fact_value"]) == (
        HOAN_KIEM,
        9400,
        8650,
    )
    assert conflict["article_url"] == BASE + "hk-2024-a"


def test_parquet_goes_to_a_file_only(sqlite_loaded, tmp_path):
    result = invoke("--warehouse", sqlite_loaded, "--format", "parquet")
    assert result.exit_code != 0
    assert "--output" in result.output
    out = tmp_path / "facts.parquet"
    result = invoke("--warehouse", sqlite_loaded, "--format", "parquet", "--output", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 6
    assert set(frame["organization"]) == {DONG_ANH, HOAN_KIEM}
    row = frame[(frame["organization"] == DONG_ANH) & (frame["period"] == "2023")].iloc[0]
    assert row["value"] == 15030.0 and list(row["article_urls"]) == [
        BASE + "da-2023-cum",
        BASE + "da-2023",
    ]


def test_csv_to_a_file(sqlite_loaded, tmp_path):
    out = tmp_path / "out" / "facts.csv"
    result = invoke("--warehouse", sqlite_loaded, "--format", "csv", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("organization,metric,period") and DONG_ANH in text


def test_plot_writes_a_valid_png_with_vietnamese_labels(sqlite_loaded, tmp_path):
    from PIL import Image

    png = tmp_path / "chart.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph (Vietnamese letter) would warn
        result = invoke(
            "--warehouse", sqlite_loaded, "--metric", "members_total", "--plot", str(png)
        )
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as img:
        img.verify()
    with Image.open(png) as img:
        width, height = img.size
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert (width, height) == (1200, 672)
    assert colours is not None and len(colours) > 50  # lines, text and legend, not a blank page
    assert "2 organizations" in result.output and "5 points" in result.output


def test_plot_without_metric_picks_the_largest_and_says_so(sqlite_loaded, tmp_path):
    import matplotlib.image as mpimg
    from sqlalchemy import create_engine

    engine = create_engine(sqlite_loaded)
    with engine.connect() as conn:
        df = query_facts(conn, Filters())
    engine.dispose()
    info = plot_facts(df, tmp_path / "c.png")
    assert info.metric == "members_total" and info.note and "--metric" in info.note
    pixels = mpimg.imread(tmp_path / "c.png")
    assert pixels.shape[:2] == (info.height_px, info.width_px)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "member_total"], "unknown metric 'member_total'"),
        (["--since", "2024-13-01"], "not a date"),
        (["--since", "2024-06-01", "--until", "2024-01-01"], "is after"),
        (["--org", "Ba Vì"], "no organization matches 'Ba Vì'"),
        (["--format", "xml"], "table, csv, json, parquet"),
        (["--plot", "chart.svg"], "PNG"),
        (["--format", "table", "--output", "x.txt"], "--output needs"),
    ],
)
def test_bad_values_give_a_clear_error(sqlite_loaded, args, message):
    result = invoke("--warehouse", sqlite_loaded, *args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_unknown_metric_suggests_the_near_one(sqlite_loaded):
    result = invoke("--warehouse", sqlite_loaded, "--metric", "member_total")
    assert "did you mean members_total" in " ".join(result.output.split())


def test_missing_or_unmigrated_warehouse(tmp_path):
    missing = tmp_path / "nope.db"
    result = invoke("--warehouse", f"sqlite:///{missing}")
    assert result.exit_code == 2 and "no warehouse at" in result.output
    assert not missing.exists()  # the report never creates a database
    empty = Warehouse(f"sqlite:///{tmp_path / 'old.db'}")
    empty.upgrade("0001")
    empty.dispose()
    result = invoke("--warehouse", f"sqlite:///{tmp_path / 'old.db'}")
    assert result.exit_code == 2 and "db upgrade" in result.output


def test_password_never_shown(tmp_path):
    url = "postgresql+psycopg://u:s3cr3t@127.0.0.1:1/nodb"
    result = invoke("--warehouse", url)
    assert result.exit_code == 1
    assert "s3cr3t" not in result.output and "***" in result.output


def test_empty_result_is_not_an_error(sqlite_loaded):
    result = invoke("--warehouse", sqlite_loaded, "--metric", "gifts")
    assert result.exit_code == 0
    assert "No facts match" in result.output
    result = invoke("--warehouse", sqlite_loaded, "--metric", "gifts", "--format", "json")
    assert json.loads(result.stdout) == []
