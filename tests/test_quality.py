"""Data quality: every expectation in expectations/*.json fails on a crafted bad record, and the
record lands in quarantine (critical) or stays with a reported finding (warning); real Great
Expectations throughout."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from union_news.models import CleanArticle, MetricRow
from union_news.quality import (
    QualityReport,
    expectations_dir,
    figure_in_text,
    figure_spellings,
    quality_failure_message,
    suite_names,
    validate_batch,
)

ROOT = Path(__file__).resolve().parents[1]
URL = "http://sample.test/dong-anh-tong-ket-2023.html"
TITLE = "LĐLĐ huyện Đông Anh tổng kết công tác công đoàn năm 2023"
SENTENCES = [
    "Năm 2023, LĐLĐ huyện Đông Anh kết nạp 1.250/1.000 đoàn viên, đạt 125% kế hoạch.",
    "Toàn huyện hiện có 24.310 đoàn viên sinh hoạt tại 312 công đoàn cơ sở.",
    "Dịp Tết, công đoàn các cấp đã trao 2.400 suất quà trị giá 1,2 tỷ đồng cho người lao động.",
    "Hội nghị cũng bàn nhiều giải pháp chăm lo đời sống và bảo vệ quyền lợi của đoàn viên.",
]
ORG = "LĐLĐ huyện Đông Anh"


def make_article(url: str = URL) -> CleanArticle:
    return CleanArticle(url=url, title=TITLE, text="\n".join(SENTENCES),
                        published=datetime(2024, 1, 5, 9, 30))


def make_rows(article: CleanArticle) -> list[MetricRow]:
    """Rows of ``article`` that pass every expectation (the test below proves it)."""
    text = article.clean_text

    def row(metric: str, value: float, sentence: int, unit: str, **kw: object) -> MetricRow:
        evidence = SENTENCES[sentence]
        start = text.index(evidence)
        return MetricRow(metric=metric, value=value, unit=unit, organization=ORG, period="2023",
                         evidence=evidence, evidence_start=start, evidence_end=start + len(evidence),
                         article_url=article.url, **kw)

    return [
        row("members_admitted", 1250, 0, "đoàn viên", target=1000, achievement_pct=125),
        row("members_total", 24310, 1, "đoàn viên"),
        row("unions_total", 312, 1, "công đoàn cơ sở"),
        row("gifts", 2400, 2, "suất quà", detail="suất quà Tết"),
        row("money_vnd", 1_200_000_000, 2, "VND", detail="quà Tết"),
    ]


def run(articles: list[CleanArticle], rows: list[MetricRow], **kw: object) -> QualityReport:
    kw.setdefault("data_docs_dir", "")
    return validate_batch(articles, rows, **kw)


def outcome(report: QualityReport, suite: str, name: str):
    return next(o for o in report.outcomes if o.suite == suite and o.expectation == name)


def test_a_clean_batch_passes_every_expectation() -> None:
    article = make_article()
    rows = make_rows(article)
    report = run([article], rows)
    assert [(o.suite, o.expectation, o.failed) for o in report.outcomes if o.failed] == []
    assert report.articles_ok == [article] and report.rows_ok == rows
    assert report.quarantined == [] and report.failed_share == 0 and not report.threshold_exceeded
    assert {o.expectation for o in report.outcomes} == {n for ns in suite_names().values() for n in ns}
    assert outcome(report, "metric_rows", "achievement_pct_consistent").checked == 1


def test_members_change_may_be_negative() -> None:
    article = make_article()
    rows = make_rows(article)
    rows[1] = replace(rows[1], metric="members_change", value=-24310)
    report = run([article], rows)
    assert report.rows_ok == rows


# --- every metric-row expectation: name -> how to break the rows (the row at index 1 is bad) ---

Mutation = Callable[[list[MetricRow]], list[MetricRow]]


def _at(i: int, **changes: object) -> Mutation:
    def mutate(rows: list[MetricRow]) -> list[MetricRow]:
        rows[i] = replace(rows[i], **changes)
        return rows

    return mutate


def _duplicate(rows: list[MetricRow]) -> list[MetricRow]:
    return [rows[0], copy.copy(rows[0]), *rows[2:]]


ROW_CASES: dict[str, tuple[Mutation, int]] = {  # mutation, position of the failing row
    "metric_in_catalog": (_at(1, metric="members_lost"), 1),
    "value_present": (_at(1, value=None), 1),
    "value_non_negative": (_at(1, value=-24310), 1),
    "target_positive": (_at(1, target=0), 1),
    "achievement_pct_in_range": (_at(1, achievement_pct=1500), 1),
    "achievement_pct_consistent": (_at(0, achievement_pct=150), 0),
    "organization_present": (_at(1, organization=None), 1),
    "organization_canonical": (_at(1, organization="Liên đoàn Lao động huyện Đông Anh"), 1),
    "qualifier_allowed": (_at(1, qualifier="approximately"), 1),
    "period_well_formed": (_at(1, period="năm 2023"), 1),
    "evidence_contains_figure": (_at(1, value=24300), 1),
    "natural_key_unique": (_duplicate, 1),
    "unit_known": (_at(1, unit="con gà"), 1),
    "detail_present": (_at(3, detail=None), 3),
    "evidence_offsets_match": (_at(1, evidence_start=3), 1),
}


@pytest.mark.parametrize("name", sorted(ROW_CASES))
def test_each_row_expectation_catches_its_bad_row(name: str) -> None:
    mutate, bad = ROW_CASES[name]
    article = make_article()
    rows = mutate(make_rows(article))
    report = run([article], rows)
    found = outcome(report, "metric_rows", name)
    assert found.failed == 1 and found.example, found
    others = [(o.expectation, o.failed) for o in report.outcomes
              if o.failed and o.expectation != name]
    assert others == [], f"only {name} should fail"
    held = [q for q in report.quarantined if q.kind == "metric"]
    # nothing disappears: every row is kept or quarantined
    assert len(report.rows_ok) + len(held) == len(rows)
    if found.severity == "critical":
        assert len(held) == 1 and held[0].row == rows[bad].to_json()
        assert held[0].suite == "metric_rows" and held[0].expectation == name
        assert held[0].reason.startswith(f"{name}: ") and len(held[0].reason) > len(name) + 5
        assert held[0].article_url == URL
        assert rows[bad] not in report.rows_ok or name == "natural_key_unique"
        assert report.failed_share == pytest.approx(1 / len(rows), abs=1e-4)
    else:
        assert held == [] and report.rows_ok == rows and report.warnings == 1


def test_a_duplicate_keeps_its_first_copy() -> None:
    article = make_article()
    rows = _duplicate(make_rows(article))
    report = run([article], rows)
    assert report.rows_ok[0] is rows[0] and rows[1] not in [r for r in report.rows_ok if r is rows[1]]
    assert "duplicate of row #0" in report.quarantined[0].reason


# --- every article expectation ---

ArticleMutation = Callable[[CleanArticle], list[CleanArticle]]


def _art(**changes: object) -> ArticleMutation:
    return lambda a: [replace(a, **changes)]


ENGLISH = ("The district labour federation held its annual review meeting with delegates from "
           "every grassroots union, discussing recruitment, welfare and training for the year. ") * 3
MOJIBAKE = "Ä‘oÃ n viÃªn cÃ´ng Ä‘oÃ n"

ARTICLE_CASES: dict[str, ArticleMutation] = {
    "url_present": _art(url=""),
    "url_unique": lambda a: [a, replace(a, title=a.title + " (bản in)")],
    "title_present": _art(title="  "),
    "body_long_enough": _art(text="Hội nghị diễn ra trang trọng tại hội trường huyện."),
    "no_related_heading": lambda a: [replace(a, text=a.text + "\nCó thể bạn quan tâm\nTrao quà Tết")],
    "no_related_title_in_body": lambda a: [replace(
        a, text=a.text + "\nCông nhân khu công nghiệp nhận hàng nghìn suất quà Tết ấm áp",
        related_titles=["Công nhân khu công nghiệp nhận hàng nghìn suất quà Tết ấm áp"])],
    "no_image_marker": lambda a: [replace(a, text=a.text + "\n![](http://sample.test/anh.jpg)")],
    "published_present": _art(published=None),
    "published_in_range": _art(published=datetime.combine(date.today() + timedelta(days=3),
                                                          datetime.min.time())),
    "text_vietnamese": _art(text=ENGLISH),
    "no_mojibake": lambda a: [replace(a, text=a.text + "\n" + MOJIBAKE)],
}


@pytest.mark.parametrize("name", sorted(ARTICLE_CASES))
def test_each_article_expectation_catches_its_bad_article(name: str) -> None:
    good = make_article()
    articles = ARTICLE_CASES[name](good)
    bad = articles[-1]
    rows = make_rows(good)
    for r in rows:
        r.article_url = bad.url
    report = run(articles, rows)
    found = outcome(report, "articles", name)
    assert found.failed == 1 and found.example, found
    article_failures = [(o.expectation, o.failed) for o in report.outcomes
                        if o.failed and o.suite == "articles" and o.expectation != name]
    assert article_failures == [], f"only {name} should fail among article expectations"
    held = [q for q in report.quarantined if q.kind == "article"]
    held_rows = [q for q in report.quarantined if q.kind == "metric"]
    assert len(report.rows_ok) + len(held_rows) == len(rows)
    if found.severity == "warning":
        assert held == [] and bad in report.articles_ok and report.warnings >= 1
        return
    assert len(held) == 1 and held[0].expectation == name and held[0].suite == "articles"
    assert held[0].reason.startswith(f"{name}: ") and held[0].row["title"] == bad.title
    if name == "url_unique":  # the first copy stays, and so do the rows of that URL
        assert report.articles_ok == [articles[0]] and held_rows == []
        return
    assert report.articles_ok == [] and report.rows_ok == []
    assert all("its article was quarantined" in q.reason and q.expectation == name
               for q in held_rows) and len(held_rows) == len(rows)
    assert report.failed_share == 1.0 and report.threshold_exceeded


def test_every_expectation_in_the_suite_files_has_a_crafted_case() -> None:
    names = suite_names()
    assert set(names["metric_rows"]) == set(ROW_CASES)
    assert set(names["articles"]) == set(ARTICLE_CASES)


def test_suite_files_carry_severity_and_description() -> None:
    for path in sorted(expectations_dir().glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for item in suite["expectations"]:
            meta = item["meta"]
            assert meta["severity"] in ("critical", "warning") and item["severity"] == meta["severity"]
            assert len(meta["description"]) > 20 and meta["reason"] and meta["name"]


def test_known_metrics_default_is_the_catalog_and_can_be_widened() -> None:
    from union_news.catalog import default_catalog

    suite = json.loads((expectations_dir() / "metric_rows.json").read_text(encoding="utf-8"))
    assert set(suite["meta"]["parameters"]["known_metrics"]) == set(default_catalog().metrics)
    article = make_article()
    rows = make_rows(article)
    rows[1] = replace(rows[1], metric="members_lost")
    assert run([article], rows).rows_quarantined == 1
    widened = run([article], rows, known_metrics=set(default_catalog().metrics) | {"members_lost"})
    assert widened.rows_quarantined == 0


# --- run level ---

def test_threshold_exceeded_above_the_share_and_message_names_the_worst() -> None:
    article = make_article()
    rows = make_rows(article)
    rows[1] = replace(rows[1], unit="con gà")
    rows[2] = replace(rows[2], unit="con gà")
    rows[3] = replace(rows[3], qualifier="roughly")
    report = run([article], rows, max_failed_share=0.5)
    assert report.failed_share == pytest.approx(0.6) and report.threshold_exceeded
    assert [o.expectation for o in report.worst(2)] == ["unit_known", "qualifier_allowed"]
    message = quality_failure_message(report)
    assert "60.0%" in message and "metric_rows.unit_known" in message and "50%" in message
    assert not run([article], rows, max_failed_share=0.6).threshold_exceeded


def test_default_threshold_comes_from_settings() -> None:
    from union_news.settings import load_settings

    report = run([make_article()], make_rows(make_article()))
    assert report.max_failed_share == float(load_settings()["quality"]["max_failed_share"])


def test_markdown_has_one_line_per_expectation_and_names_the_data_docs(tmp_path: Path) -> None:
    article = make_article()
    rows = make_rows(article)
    rows[1] = replace(rows[1], value=-24310)
    report = run([article], rows, data_docs_dir=str(tmp_path / "docs"))
    index = Path(report.data_docs_path or "")
    assert index.name == "index.html" and index.is_file()
    pages = list((tmp_path / "docs" / "validations").rglob("*.html"))
    assert {p.stem for p in pages} == {"articles", "metric_rows"}
    html = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert "Values are not negative" in html and "-24310" in html
    md = report.to_markdown()
    assert str(index) in md
    lines = [line for line in md.splitlines() if line.startswith("| metric_rows") or
             line.startswith("| articles")]
    assert len(lines) == len(report.outcomes)
    bad = next(line for line in lines if "value_non_negative" in line)
    assert "| critical | 5 | 1 |" in bad and "-24310" in bad


def test_empty_batch() -> None:
    report = run([], [])
    assert report.failed_share == 0 and not report.threshold_exceeded and report.quarantined == []


# --- figures as Vietnamese writes them ---

@pytest.mark.parametrize(("value", "spelling"), [
    (13855, "13.855"), (13855, "13855"), (91.66, "91,66"), (82_500_000, "82,5 triệu"),
    (1_800_000_000, "1,8 tỷ"), (1_200_000_000, "1 tỷ 200 triệu"), (-1446, "1.446"),
    (500_000, "500 nghìn"), (500_000, "500.000"),
])
def test_figure_spellings(value: float, spelling: str) -> None:
    assert spelling in figure_spellings(value)


@pytest.mark.parametrize(("value", "text", "found"), [
    (1, "Có 01 tập thể được tặng Cờ thi đua", True),
    (82_500_000, "trị giá 82,5 triệu đồng", True),
    (82_500_000, "trị giá 82.500.000 đồng", True),
    (13855, "tổng số 13.855 đoàn viên", True),
    (13855, "tổng số 113.855 đoàn viên", False),
    (13855, "tổng số 13.8551 đoàn viên", False),
    (1855, "tổng số 13.855 đoàn viên", False),
    (5, "năm 2015 có 15 lớp", False),
    (676, "kết nạp 676/650 đoàn viên", True),
    (1_800_000_000, "hơn 1,8 Tỷ đồng", True),
])
def test_figure_in_text(value: float, text: str, found: bool) -> None:
    assert figure_in_text(value, text) is found


# --- import cost and the Prefect side ---

def test_importing_quality_the_task_and_cli_does_not_import_great_expectations() -> None:
    code = (
        "import sys, importlib\n"
        "for name in ('union_news.quality', 'tasks.validate', 'union_news.cli', 'flows.ingest'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        if name in ('union_news.quality', 'tasks.validate'):\n"
        "            raise\n"
        "        print('skipped', name, exc, file=sys.stderr)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('great_expectations', 'pandas'))\n"
        "print(bad[:3])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_validate_task_publishes_the_artifact_and_a_failing_batch_fails_the_flow(
        prefect_server) -> None:
    from prefect import flow
    from prefect.states import Completed, Failed

    from tasks.validate import quality_failure_message as message_of
    from tasks.validate import validate

    @flow(name="quality-gate-test")
    def gate(articles: list[CleanArticle], rows: list[MetricRow]):
        report = validate(articles, rows)
        if report.threshold_exceeded:
            return Failed(message=message_of(report))
        return Completed(message="quality ok")

    article = make_article()
    good = make_rows(article)
    bad = [replace(r, qualifier="roughly") for r in good]
    with prefect_server.settings():
        ok_state = gate(articles=[article], rows=good, return_state=True)
        failed_state = gate(articles=[article], rows=bad, return_state=True)
    assert ok_state.is_completed()
    assert failed_state.is_failed() and "metric_rows.qualifier_allowed" in failed_state.message
    for state in (ok_state, failed_state):
        artifacts = prefect_server.artifacts(str(state.state_details.flow_run_id))
        quality = [a for a in artifacts if a["key"] == "data-quality"]
        assert quality and quality[0]["type"] == "markdown"
        assert "| metric_rows | qualifier_allowed | critical |" in quality[0]["data"]


# --- any batch: nothing disappears, nothing crashes ---

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ROW_FIELDS = st.fixed_dictionaries({
    "metric": st.sampled_from(["members_total", "gifts", "money_vnd", "members_change", "bogus", ""]),
    "value": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                       st.integers(-10**12, 10**12)),
    "target": st.one_of(st.none(), st.floats(-1e6, 1e6), st.just(0)),
    "achievement_pct": st.one_of(st.none(), st.floats(-50, 5000)),
    "qualifier": st.sampled_from(["exact", "over", "", "roughly"]),
    "organization": st.one_of(st.none(), st.sampled_from([ORG, "LĐLĐ huyện", "  ", "Tổng LĐLĐ Việt Nam"])),
    "period": st.one_of(st.none(), st.sampled_from(["2023", "2018-2023", "2023-13-01", "x"])),
    "unit": st.one_of(st.none(), st.sampled_from(["đoàn viên", "VND", "%", "con gà", ""])),
    "evidence": st.text(max_size=60),
    "evidence_start": st.integers(-5, 500),
    "evidence_end": st.integers(-5, 500),
    "article_url": st.sampled_from([URL, "http://elsewhere.test/a", None]),
})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking re-runs GX: minutes
@given(st.lists(_ROW_FIELDS, max_size=12), st.booleans())
def test_any_batch_splits_into_kept_and_quarantined(fields: list[dict], with_article: bool) -> None:
    rows = [MetricRow(**f) for f in fields]
    report = run([make_article()] if with_article else [], rows)
    held = [q for q in report.quarantined if q.kind == "metric"]
    assert len(report.rows_ok) + len(held) == len(rows)
    assert report.errors == []
    names = {n for ns in suite_names().values() for n in ns}
    assert all(q.expectation in names and q.reason for q in held)


def test_the_suites_readme_lists_every_expectation() -> None:
    readme = (expectations_dir() / "README.md").read_text(encoding="utf-8")
    for names in suite_names().values():
        for name in names:
            assert f"`{name}`" in readme


def test_deferred_data_docs_are_written_once_for_every_batch(tmp_path: Path) -> None:
    """A run validates batch after batch and writes the Data Docs once at its end: nothing is
    rendered before ``build_deferred_data_docs``, then every batch's results are there."""
    from union_news.quality import build_deferred_data_docs

    docs = tmp_path / "docs"
    reports = []
    for n, value in enumerate((-24310, -312)):
        article = make_article(f"{URL}?batch={n}")
        rows = make_rows(article)
        rows[1] = replace(rows[1], value=value)
        reports.append(run([article], rows, data_docs_dir=str(docs), defer_data_docs=True))
    index = docs.resolve() / "index.html"
    assert [r.data_docs_path for r in reports] == [str(index)] * 2
    assert not index.exists()  # deferred: nothing rendered yet
    assert build_deferred_data_docs() == str(index)
    assert index.is_file()
    pages = list((docs / "validations").rglob("*.html"))
    assert len(pages) == 4  # two batches x two suites
    html = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert "-24310" in html and "-312" in html
    assert build_deferred_data_docs() is None  # nothing left to write


def test_the_validator_process_reports_what_in_process_validation_does(tmp_path: Path) -> None:
    """The flow validates in a process of its own; the report must be the same as validating in
    the caller (rows kept, quarantined with the same reasons, outcomes), and its Data Docs are
    written when the run finishes."""
    from union_news.pipeline import Validator

    article = make_article()
    rows = make_rows(article)
    rows[1] = replace(rows[1], value=-24310)
    rows[3] = replace(rows[3], metric="not_a_key")
    local = run([article], rows)

    def view(report: QualityReport) -> tuple:
        return (
            report.rows_ok,
            [(q.kind, q.expectation, q.reason) for q in report.quarantined],
            [(o.suite, o.expectation, o.checked, o.failed, o.example) for o in report.outcomes],
            report.failed_share,
            report.threshold_exceeded,
        )

    validator = Validator(process=True)
    validator.options["data_docs_dir"] = str(tmp_path / "docs")
    try:
        remote = validator.validate([article], rows)
        assert view(remote) == view(local)
        assert len(remote.quarantined) == 2
        # the validator process never ran the modules GX imports for other expectations, nor
        # GX's SQL support
        from union_news.quality.runner import HIDDEN_MODULES, UNUSED_MODULES, is_loaded

        names = UNUSED_MODULES + HIDDEN_MODULES
        assert [validator._executor.submit(is_loaded, name).result()
                for name in names] == [False] * len(names)
        index = validator.finish()
        assert index == str((tmp_path / "docs").resolve() / "index.html")
        assert Path(index).is_file()
    finally:
        validator.close()


def test_an_in_process_validator_closed_before_finish_leaves_nothing_for_the_next_run(
    tmp_path: Path,
) -> None:
    """With ``validator_process = false`` the results wait in this process for the Data Docs;
    a run that ends before ``finish`` must not hand them to the next run's Data Docs."""
    from union_news.pipeline import Validator
    from union_news.quality import build_deferred_data_docs

    validator = Validator(process=False)
    validator.options["data_docs_dir"] = str(tmp_path / "docs")
    article = make_article()
    validator.validate([article], make_rows(article))
    validator.close()  # the run failed before finish()
    assert build_deferred_data_docs() is None
    assert not (tmp_path / "docs").exists()


def test_two_passes_give_the_rows_one_complete_pass_gives() -> None:
    """``run_suite`` runs BASIC for every expectation and COMPLETE only for those that found
    unexpected values: each expectation's success, counts and failing rows are those of one
    COMPLETE pass over the same frame, with real Great Expectations."""
    from union_news.quality import frames, runner

    article = make_article()
    rows = make_rows(article)
    rows[1] = replace(rows[1], value=-24310)          # value_non_negative
    rows[2] = replace(rows[2], organization="công đoàn huyện x")  # organization_canonical
    rows[4] = replace(rows[4], detail=None)           # detail_present (warning)
    folder = str(expectations_dir())
    frame = frames.rows_frame(rows, [article])
    parameters = dict(runner.read_suite(Path(folder) / "metric_rows.json").parameters)
    parameters["tomorrow"] = (date.today() + timedelta(days=1)).isoformat()

    two = runner.run_suite(folder, "metric_rows", frame, parameters)
    runtime = runner._runtime(folder)
    batch = runtime.batch_definitions["metric_rows"].get_batch(batch_parameters={"dataframe": frame})
    one = batch.validate(runtime.suites["metric_rows"], result_format="COMPLETE",
                         expectation_parameters=parameters)

    def view(result) -> dict:
        out = {}
        for r in result.results:
            data = r.result or {}
            out[r.expectation_config.meta["name"]] = (
                r.success, data.get("element_count"), data.get("missing_count"),
                data.get("unexpected_count"), data.get("unexpected_index_list") or [])
        return out

    assert view(two) == view(one)
    assert two.success == one.success and two.statistics == one.statistics
    failing = {n for n, v in view(two).items() if v[4]}
    assert failing == {"value_non_negative", "organization_canonical", "detail_present"}
    # the failing ones carry their COMPLETE result (the full unexpected list for Data Docs)
    assert all("unexpected_list" in r.result for r in two.results
               if r.expectation_config.meta["name"] in failing)


def test_memoised_configurations_give_great_expectations_own_results() -> None:
    """While a suite runs, ``runner._ValidationMemo`` builds an expectation's ``configuration``
    once per expectation object, dumps plain metric ids without GX's JSON conversion, and keeps
    row_condition filters and frame fingerprints for the frame; the results (every
    expectation's success, counts, unexpected values and indexes, the statistics) are those of
    GX's own code, on batches with failing rows and articles in both suites; outside a
    validation GX's property is untouched (a new object each read)."""
    import contextlib

    from union_news.quality import frames, runner

    article = make_article()
    rows = make_rows(article)
    rows[0] = replace(rows[0], value=-5)                          # value_non_negative
    rows[1] = replace(rows[1], organization="công đoàn huyện x")  # organization_canonical
    rows[2] = replace(rows[2], unit="con voi")                    # unit_in_catalog
    rows[3] = replace(rows[3], detail=None)                       # detail_present (warning)
    rows[4] = replace(rows[4], evidence_start=-3)
    bad_article = replace(make_article("http://sample.test/b.html"), title="", text="ngắn")
    articles = [article, bad_article, article]
    folder = str(expectations_dir())
    inputs = {
        "metric_rows": frames.rows_frame(rows + rows[:2], articles),
        "articles": frames.articles_frame(articles),
    }

    def results(memo: bool) -> dict:
        out = {}
        for suite, frame in inputs.items():
            parameters = dict(runner.read_suite(Path(folder) / f"{suite}.json").parameters)
            parameters["tomorrow"] = (date.today() + timedelta(days=1)).isoformat()
            with contextlib.ExitStack() as stack:
                if not memo:
                    stack.enter_context(pytest.MonkeyPatch.context()).setattr(
                        runner._MEMO, "during", contextlib.nullcontext)
                result = runner.run_suite(folder, suite, frame, parameters).to_json_dict()
            result.pop("meta")  # run time and identifiers
            for r in result["results"]:
                r["expectation_config"].pop("id", None)
            out[suite] = result
        return out

    memo = runner._MEMO
    before = (memo.reuses, memo.plain_ids, memo.filters_reused, memo.fingerprints_reused)
    with_memo = results(True)
    after = (memo.reuses, memo.plain_ids, memo.filters_reused, memo.fingerprints_reused)
    # each shortcut served: configurations, ids, row_condition filters, fingerprints
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    without = results(False)
    assert with_memo == without
    failed = {r["expectation_config"]["meta"]["name"] for s in with_memo.values()
              for r in s["results"] if r["result"].get("unexpected_count")}
    assert {"value_non_negative", "organization_canonical", "detail_present"} <= failed
    assert any(s["statistics"]["unsuccessful_expectations"] for s in with_memo.values())
    suite = runner._runtime(folder).suites["metric_rows"]
    expectation = suite.expectations[0]
    assert expectation.configuration is not expectation.configuration  # GX's own, outside


def test_plain_metric_ids_are_great_expectations_own() -> None:
    """``IDDict.to_id`` dumped without GX's conversion (during a suite run) gives GX's id for
    every plain value, and values GX converts (NaN, numpy numbers, dates, sets) go GX's way."""
    from datetime import date

    import numpy as np
    from great_expectations.core.id_dict import IDDict

    from union_news.quality import runner

    runner._runtime(str(expectations_dir()))  # installs the memo
    cases = [
        {"column": "value", "batch_id": "b-1"},
        {"column": "value", "row_condition": {"type": "comparison", "operator": "IN",
                                              "parameter": ["awards", "gifts"]}, "n": 3},
        {"a": 1.5, "b": float("inf"), "c": None, "d": True, "e": (1, "x"), "f": [{"g": 0}]},
        {"a": float("nan"), "b": 1},
        {"a": np.int64(3), "b": np.float64(0.1)},
        {"a": date(2024, 1, 5), "b": {"x"}},
        {"only": "one key"},
        {},
    ]
    for case in cases:
        expected = IDDict(case).to_id()
        with runner._MEMO.during():
            got = IDDict(case).to_id()
        assert got == expected, case
    assert runner._plain_json(cases[2]) and not runner._plain_json(cases[3])
    assert not runner._plain_json(cases[4]) and not runner._plain_json(cases[5])


def test_deferred_modules_stay_unloaded_until_used() -> None:
    """In a fresh interpreter (as in the validator process): with ``defer_unused_imports``
    Great Expectations validates and writes Data Docs without running scipy.stats, Altair or
    jsonschema and without SQLAlchemy, and a deferred module still works in full when
    something uses it."""
    code = """
import sys, tempfile
from dataclasses import replace
sys.path.insert(0, 'tests')
from union_news.quality import runner, validate_batch, build_deferred_data_docs
runner.defer_unused_imports()
from test_quality import make_article, make_rows
article = make_article()
rows = make_rows(article)
rows[1] = replace(rows[1], value=-24310)
with tempfile.TemporaryDirectory() as docs:
    report = validate_batch([article], rows, data_docs_dir=docs, defer_data_docs=True)
    index = build_deferred_data_docs()
    print(len(report.quarantined), bool(index), 'great_expectations' in sys.modules)
print([runner.is_loaded(n) for n in runner.UNUSED_MODULES], 'sqlalchemy' in sys.modules)
import scipy.stats
print(round(float(scipy.stats.norm.cdf(0.0)), 2), runner.is_loaded('scipy.stats'))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["1 True True", "[False, False, False] False", "0.5 True"]


def test_stubbed_modules_never_run_and_a_suite_gets_its_expectations(tmp_path: Path) -> None:
    """In a fresh interpreter with ``defer_unused_imports``: the Spark, SQL and file-reading
    pandas data sources and the core expectation modules no suite uses are stand-ins whose code never
    ran (using one of their classes raises), the suites' own expectation classes are real, and
    a suite compiled later with another expectation type gets that type imported for real."""
    suite = {"name": "extra", "expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "x"},
         "meta": {"name": "x_unique", "severity": "critical"}},
        {"type": "expect_column_max_to_be_between", "kwargs": {"column": "x", "max_value": 2},
         "meta": {"name": "x_max", "severity": "warning"}},
    ]}
    (tmp_path / "extra.json").write_text(json.dumps(suite), encoding="utf-8")
    code = f"""
import sys
from union_news.quality import runner, expectations_dir
runner.defer_unused_imports()
runner.warm_up(str(expectations_dir()))
fluent = 'great_expectations.datasource.fluent.'
core = runner.CORE_EXPECTATIONS
print([runner.is_stub(fluent + n) for n in ('spark_datasource', 'pandas_filesystem_datasource',
      'pandas_s3_datasource', 'sql_datasource', 'postgres_datasource', 'pandas_datasource')])
print([runner.is_stub(core + n) for n in ('column_median_to_be_between',
      'column_values_to_be_unique', 'column_values_to_be_between', 'column_values_to_not_be_null')])
import great_expectations as gx
try:
    gx.expectations.ExpectColumnMedianToBeBetween(column='x')
except RuntimeError as exc:
    print('raises', 'not loaded in the validator process' in str(exc))
import pandas as pd
result = runner.run_suite({str(tmp_path)!r}, 'extra', pd.DataFrame({{'x': [1, 2, 2, 3]}}), {{}})
print([(r.expectation_config.meta['name'], r.success, r.result.get('unexpected_index_list'))
       for r in result.results])
print(runner.is_stub(core + 'column_values_to_be_unique'),
      gx.expectations.ExpectColumnValuesToBeUnique.__module__.endswith('to_be_unique'))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[True, True, True, True, True, False]",
        "[True, True, False, False]",
        "raises True",
        "[('x_unique', False, [1, 2]), ('x_max', False, None)]",
        "False True",
    ], out.stdout


def test_a_package_imported_before_is_not_hidden() -> None:
    """When the process already holds SQLAlchemy (its main module imported it), hiding its
    submodules would leave it half there: it stays whole."""
    code = """
import sqlalchemy
from union_news.quality import runner
runner.defer_unused_imports()
import sqlalchemy.dialects.sqlite
print(sqlalchemy.dialects.sqlite.__name__)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "sqlalchemy.dialects.sqlite"


# --- the quality frames' fast paths against the plain definitions they replaced ---

def _plain_vietnamese_share(text: str | None, sample: int = 4000) -> float | None:
    import unicodedata

    from union_news.quality.frames import _VI_LETTERS

    if not text:
        return None
    letters = [c for c in unicodedata.normalize("NFC", text[:sample]) if c.isalpha()]
    if not letters:
        return 0.0
    return round(sum(c in _VI_LETTERS for c in letters) / len(letters), 3)


_VI_ALPHABET = ("aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợ"
                "ùúủũụừứửữựỳýỷỹỵĐÀÁẠỚ \n\t\u00a0.,:;–“”…0123456789²½ßǅﬁΩЖ中\u0301\u0302\U0001d400")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet=_VI_ALPHABET, max_size=300), st.text(max_size=300)),
       st.sampled_from([4000, 7]))
def test_vietnamese_share_counts_what_the_plain_definition_counts(text: str, sample: int) -> None:
    from union_news.quality.frames import vietnamese_share

    assert vietnamese_share(text, sample) == _plain_vietnamese_share(text, sample)


def test_vietnamese_share_on_whole_articles() -> None:
    from union_news.quality.frames import vietnamese_share

    texts = [make_article().clean_text, ENGLISH, MOJIBAKE, "", "1.250 / 2023", "Đ" * 5000,
             "e\u0301" * 10 + ENGLISH]
    assert [vietnamese_share(t) for t in texts] == [_plain_vietnamese_share(t) for t in texts]
    assert vietnamese_share(make_article().clean_text) > 0.15 > vietnamese_share(ENGLISH)
