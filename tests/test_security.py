"""Security (issue 8): parameterised SQL, masked secrets, a CLI that refuses what it cannot handle.

- Every SQL statement in ``union_news/``, ``tasks/`` and ``flows/`` is parameterised: an AST scan
  finds no SQL text built with f-strings, ``%``, ``+``, ``.format`` or ``join`` around
  ``text()``/``execute()``; and SQL-injection-looking strings loaded through
  ``Warehouse.load_batch`` come back verbatim, with every table still there (SQLite, PostgreSQL).
- A warehouse URL's password never appears in error messages, in the CLI's output, or in what
  Prefect records of a run (parameters, state, logs, artifacts).
- ``union-news clean`` refuses missing paths, directories, binary and unreadable files, ftp:// and
  file:// URLs with a one-line message, a non-zero exit and no traceback.

(Fetch-side host and private-address rules are tested with the fetcher, in test_fetch.py.)
"""

from __future__ import annotations

import ast
import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from union_news.cli import app
from union_news.models import CleanArticle, FetchedPage, FetchFailure, MetricRow, QuarantinedRow
from union_news.secrets import mask_text, mask_url

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cr3tPW"

# --------------------------------------------------------------------------- SQL is parameterised

_SQL_TEXT_CALLS = {"text", "exec_driver_sql", "executescript", "literal_column"}  # literal only
_SQL_EXEC_CALLS = {"execute", "executemany"}  # a statement object or a literal


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


class _Scope:
    """String assignments per name in one function (or module), to follow ``sql = f"..."``."""

    def __init__(self, node: ast.AST):
        self.assigned: dict[str, list[ast.expr]] = {}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign):
                for target in sub.targets:
                    if isinstance(target, ast.Name):
                        self.assigned.setdefault(target.id, []).append(sub.value)
            elif isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
                self.assigned.setdefault(sub.target.id, []).append(sub)  # sql += ...: built
            elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name) and sub.value:
                self.assigned.setdefault(sub.target.id, []).append(sub.value)


def _stringy(node: ast.AST, scope: _Scope, depth: int = 0) -> bool:
    """True when ``node`` is a string (a literal, an f-string, or a string built at run time)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Name) and depth < 3:
        return any(_stringy(v, scope, depth + 1) for v in scope.assigned.get(node.id, []))
    return _built(node, scope, depth)


def _built(node: ast.AST, scope: _Scope, depth: int = 0) -> bool:
    """True when ``node`` builds a string at run time (f-string, %, +, format, join).

    Query objects are built with methods and operators too (``select(t).join(a)``,
    ``t.c.value + 1``): only operations on strings count.
    """
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.AugAssign):
        return isinstance(node.op, (ast.Add, ast.Mod)) and (
            _stringy(node.value, scope, depth) or _stringy(node.target, scope, depth + 1)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _stringy(node.left, scope, depth)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _stringy(node.left, scope, depth) or _stringy(node.right, scope, depth)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, receiver = node.func.attr, node.func.value
        if method in {"format", "format_map"}:
            return True
        if method in {"join", "replace"}:
            return _stringy(receiver, scope, depth)
    if isinstance(node, ast.IfExp):
        return _built(node.body, scope, depth) or _built(node.orelse, scope, depth)
    if isinstance(node, ast.Name) and depth < 3:
        return any(_built(v, scope, depth + 1) for v in scope.assigned.get(node.id, []))
    return False


def _literal(node: ast.AST, scope: _Scope, depth: int = 0) -> bool:
    """True when ``node`` can only be a literal string."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return not any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.IfExp):
        return _literal(node.body, scope, depth) and _literal(node.orelse, scope, depth)
    if isinstance(node, ast.Name) and depth < 3:
        values = scope.assigned.get(node.id, [])
        return bool(values) and all(_literal(v, scope, depth + 1) for v in values)
    return False


def sql_findings(source: str, filename: str = "<source>") -> list[str]:
    """SQL text built from strings at run time in ``source``: one line per finding."""
    tree = ast.parse(source, filename)
    findings: list[str] = []
    scopes = [tree] + [
        n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    seen: set[int] = set()
    for scope_node in reversed(scopes):  # innermost function first
        scope = _Scope(scope_node)
        for node in ast.walk(scope_node):
            if not isinstance(node, ast.Call) or id(node) in seen:
                continue
            name = _call_name(node)
            args = list(node.args[:1]) + [
                k.value for k in node.keywords if k.arg in {"statement", "sql", "text", "query"}
            ]
            if name not in _SQL_TEXT_CALLS | _SQL_EXEC_CALLS or not args:
                continue
            seen.add(id(node))
            arg = args[0]
            where = f"{filename}:{node.lineno}: {name}({ast.unparse(arg)[:80]})"
            if name in _SQL_TEXT_CALLS and not _literal(arg, scope):
                findings.append(f"{where}: SQL text must be a literal with bound parameters")
            elif name in _SQL_EXEC_CALLS and _built(arg, scope):
                findings.append(f"{where}: SQL built from strings")
    return findings


def project_sources() -> list[Path]:
    files = [p for d in ("union_news", "tasks", "flows") for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(files) > 30, "the project's source was not found"
    return files


def test_no_sql_is_built_from_strings_in_the_project() -> None:
    findings = [
        f
        for path in project_sources()
        for f in sql_findings(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert findings == []


def test_the_sql_scan_catches_what_it_is_meant_to_catch() -> None:
    bad = """
from sqlalchemy import text
def a(conn, name, table):
    conn.execute(text(f"SELECT * FROM metric_rows WHERE metric = '{name}'"))
    conn.execute("DELETE FROM %s" % table)
    conn.execute("SELECT 1 FROM " + table)
    sql = "SELECT * FROM {}".format(table)
    conn.execute(sql)
    conn.exec_driver_sql(f"DROP TABLE {table}")
    q = "SELECT 1"
    q += " WHERE x = " + name
    conn.execute(q)
    conn.execute(text(name))
    cur.executemany(" ".join(["INSERT", table]), [])
    head = "DELETE FROM "
    conn.execute(head + table)
"""
    good = """
from sqlalchemy import select, text
def b(conn, wh, name, write, stmt):
    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": 1})
    conn.execute(select(wh.c.metric).where(wh.c.metric == name))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
    cur.execute("PRAGMA foreign_keys = ON")
    conn.execute(stmt, [{"a": name}])
    query = select(wh)
    if name:
        query = query.join(wh, wh.c.a == wh.c.b).where(wh.c.value + 1 > 2)
    conn.execute(query)
"""
    assert len(sql_findings(bad)) == 9, sql_findings(bad)
    assert sql_findings(good) == []


# --------------------------------------------------------------------------- injection round trip

INJECTIONS = [
    "'; DROP TABLE metric_rows; --",
    "Robert'); DROP TABLE articles;--",
    "1' OR '1'='1",
    '" OR ""="',
    "\\'; SELECT pg_sleep(5); --",
    ":value :metric %s %(x)s ? $1 {0} {{x}}",
    "/* */ -- ; BEGIN; COMMIT; `x` [y]",
    "LĐLĐ huyện 'Gia Lâm'; DELETE FROM quarantine WHERE 1=1; --",
]


def _hostile_batch(tag: str):
    from union_news.warehouse import LoadBatch

    url = f"https://example.vn/bai-{tag}.html?q=';DROP TABLE raw_pages;--"
    inj = INJECTIONS
    title = f"Tiêu đề {inj[0]}"
    text = "\n".join(
        f"Đoạn {i}: LĐLĐ huyện Gia Lâm kết nạp 12 đoàn viên. {s}" for i, s in enumerate(inj)
    )
    article = CleanArticle(
        url=url,
        title=title,
        text=text,
        author=inj[1],
        published=datetime(2024, 3, 12, 8, 30),
        captions=[inj[2]],
        related_titles=[inj[3]],
        related_links=[f"/x?{inj[4]}"],
        canonical_url=url,
        source=inj[7],
    )
    rows = [
        MetricRow(
            metric="members_admitted",
            value=12 + i,
            qualifier="exact",
            organization=s,
            detail=s,
            period="2024",
            unit=s,
            evidence=s,
            evidence_start=i,
            evidence_end=i + len(s),
            article_url=url,
        )
        for i, s in enumerate(inj)
    ]
    quarantined = [
        QuarantinedRow(
            kind="metric",
            suite="metric_rows",
            expectation=inj[5],
            reason=inj[0],
            row={"detail": inj[6], inj[1]: inj[2]},
            article_url=url,
        )
    ]
    page = FetchedPage(
        url=url,
        final_url=url,
        status=200,
        text=f"<p>{inj[0]}</p>{inj[5]}",
        content_type="text/html",
        etag=inj[2],
        last_modified=inj[3],
        fetched_at=datetime(2024, 3, 12, 9, 0),
        source=inj[7],
    )
    failure = FetchFailure(
        url=url.replace("bai-", "loi-"),
        error="http_500",
        status=500,
        detail=inj[4],
        source=inj[7],
        at=datetime(2024, 3, 12, 9, 0),
    )
    batch = LoadBatch(
        pages=[page],
        articles=[article],
        rows=rows,
        quarantined=quarantined,
        failures=[failure],
        run_id=inj[6],
        source=inj[7],
    )
    return batch, url, article, rows


def test_injection_strings_round_trip_verbatim(warehouse_url: str) -> None:
    pytest.importorskip("union_news.warehouse")
    from union_news.warehouse import Warehouse

    batch, url, article, rows = _hostile_batch("a")
    with Warehouse(warehouse_url) as wh:
        wh.upgrade()
        counts_before = wh.table_counts()
        stats = wh.load_batch(batch)
        assert stats.rows_inserted == len(rows)
        again = wh.load_batch(batch)  # the ON CONFLICT path with the same strings
        assert again.rows_inserted == 0 and again.rows_unchanged == len(rows)

        stored = wh.metric_rows(article_url=url)
        got = sorted(
            (r["organization"], r["detail"], r["unit"], r["evidence"], r["value"]) for r in stored
        )
        assert got == sorted((r.organization, r.detail, r.unit, r.evidence, r.value) for r in rows)
        for s in INJECTIONS:  # a filter value is a bound parameter, never SQL
            assert [r["detail"] for r in wh.metric_rows(organization=s)] == [s]
        assert wh.metric_rows(organization="' OR '1'='1") == []

        (stored_article,) = [a for a in wh.articles() if a["url"] == url]
        assert stored_article["title"] == article.title
        assert stored_article["author"] == article.author
        assert stored_article["clean_text"] == article.clean_text
        assert stored_article["captions"] == article.captions
        assert stored_article["related_titles"] == article.related_titles
        assert stored_article["source"] == INJECTIONS[7]

        (entry,) = wh.quarantine(article_url=url)
        assert entry["reason"] == INJECTIONS[0] and entry["expectation"] == INJECTIONS[5]
        assert entry["row"] == {"detail": INJECTIONS[6], INJECTIONS[1]: INJECTIONS[2]}
        (logged,) = [f for f in wh.fetch_log() if f["url"] == batch.failures[0].url]
        assert logged["detail"] == INJECTIONS[4]
        (page,) = list(wh.stored_pages(None, None))
        assert page.url == url and page.text == batch.pages[0].text and page.etag == INJECTIONS[2]

        counts_after = wh.table_counts()
        assert set(counts_after) == set(counts_before)  # no table dropped
        assert all(n is not None for n in counts_after.values()), counts_after
        assert counts_after["metric_rows"] == len(rows)


# --------------------------------------------------------------------------- secrets are masked


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://union:{SECRET}@127.0.0.1:1/x",
        f"postgresql://union:{SECRET}/with/slashes@db.example:5432/x",
        f"postgresql://union:{SECRET}:colon@db.example/x",
        f"postgresql://:{SECRET}@db.example/x",
        f"postgresql://union:{SECRET}%40at@[::1]:5432/x?sslmode=require",
        f"postgresql://union@db.example/x?password={SECRET}&sslmode=disable",
    ],
)
def test_mask_url_and_mask_text_hide_the_password(url: str) -> None:
    from sqlalchemy.engine import make_url

    assert SECRET in (make_url(url).password or "") + str(make_url(url).query)
    assert SECRET not in mask_url(url) and "***" in mask_url(url)
    message = f"(psycopg.OperationalError) connection to {url} failed; retrying {url}"
    assert SECRET not in mask_text(message)


def test_mask_text_hides_libpq_keyword_passwords_and_keeps_plain_urls() -> None:
    assert SECRET not in mask_text(f"host=db user=union password={SECRET} dbname=x")
    assert SECRET not in mask_text(f"password = '{SECRET} with space'")
    plain = "see http://127.0.0.1:4200/runs and sqlite:///warehouse.db"
    assert mask_text(plain) == plain and mask_url("sqlite:///w.db") == "sqlite:///w.db"


BAD_URLS = [
    f"postgresql+psycopg://union:{SECRET}@127.0.0.1:1/x",  # nothing listens
    f"postgresql+nosuchdriver://union:{SECRET}@127.0.0.1:1/x",  # unknown driver
    f"postgresql+psycopg://union:{SECRET}/slash@127.0.0.1:1/x",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_warehouse_errors_never_show_the_password(url: str) -> None:
    pytest.importorskip("union_news.warehouse")
    from union_news.warehouse import Warehouse, WarehouseError

    wh = Warehouse(url)
    assert SECRET not in repr(wh) and SECRET not in wh.masked_url
    with pytest.raises(WarehouseError) as err:
        wh.upgrade()
    chain, exc = [], err.value
    while exc is not None:  # the message and every chained cause
        chain.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    assert SECRET not in "\n".join(chain)


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("command", [["db", "status"], ["db", "upgrade"], ["report"]])
def test_cli_database_commands_never_print_the_password(
    command: list[str], url: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*command, "--warehouse", url])
    assert result.exit_code != 0
    output = result.output + "".join(
        str(a) for a in (result.exception.args if result.exception else ())
    )
    assert SECRET not in output
    assert "Traceback" not in result.output


def test_password_in_environment_url_is_masked_too(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNION_NEWS_WAREHOUSE_URL", BAD_URLS[0])
    result = CliRunner().invoke(app, ["db", "status"])
    assert result.exit_code != 0 and SECRET not in result.output


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_with_a_bad_warehouse_leaks_no_password_to_output_or_prefect(
    prefect_server, tmp_path, monkeypatch
) -> None:
    """``union-news demo --warehouse <url with password>`` through typer's CliRunner against a
    real Prefect server: the run fails (nothing listens) and neither the CLI's output nor the
    flow run's parameters, state, task runs, logs or artifacts hold the password."""
    monkeypatch.chdir(tmp_path)
    url = BAD_URLS[0]
    with prefect_server.settings():
        result = CliRunner().invoke(app, ["demo", "--warehouse", url])
    assert result.exit_code != 0, result.output
    assert SECRET not in result.output
    assert "***" in result.output  # the masked URL is what the user sees

    runs = [r for r in prefect_server.flow_runs() if r.get("flow_id")]
    assert runs, "the demo created no flow run"
    assert any(r["state_type"] == "FAILED" for r in runs), [r["state_type"] for r in runs]
    ids = [r["id"] for r in runs]
    recorded = {
        "flow_runs": runs,
        "task_runs": prefect_server.api(
            "POST", "/task_runs/filter", {"flow_runs": {"id": {"any_": ids}}, "limit": 200}
        ),
        "logs": prefect_server.api(
            "POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": ids}}, "limit": 200}
        ),
        "artifacts": [a for i in ids for a in prefect_server.artifacts(i)],
    }
    leaks = [name for name, value in recorded.items() if SECRET in json.dumps(value)]
    assert leaks == [], f"the password is stored by Prefect in: {leaks}"


# --------------------------------------------------------------------------- the CLI refuses


@pytest.fixture
def odd_inputs(tmp_path) -> dict[str, str]:
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "image.png").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    )
    (tmp_path / "zeros.bin").write_bytes(b"\x00" * 5000)
    return {
        "missing": str(tmp_path / "no" / "such" / "page.html"),
        "directory": str(tmp_path / "a-directory"),
        "binary": str(tmp_path / "image.png"),
        "nul bytes": str(tmp_path / "zeros.bin"),
        "unreadable": "/proc/self/mem",  # a regular file whose read fails
        "ftp": "ftp://example.vn/tin-tuc/bai-1.html",
        "file url": (tmp_path / "image.png").as_uri(),
        "file url etc": "file:///etc/passwd",
        "gopher": "gopher://127.0.0.1:70/1",
        "javascript": "javascript:alert(1)",
        "data": "data:text/html,<p>Tin khác</p>",
        "credentials in url": f"https://union:{SECRET}@127.0.0.1:1/bai.html",
        "loopback url": "http://127.0.0.1:1/bai.html",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "directory",
        "binary",
        "nul bytes",
        "unreadable",
        "ftp",
        "file url",
        "file url etc",
        "gopher",
        "javascript",
        "data",
        "credentials in url",
        "loopback url",
    ],
)
@pytest.mark.parametrize("command", ["clean", "extract"])
def test_cli_refuses_what_it_cannot_handle(odd_inputs, kind: str, command: str) -> None:
    target = odd_inputs[kind]
    result = CliRunner().invoke(app, [command, target])
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert any(w in message for w in ("Invalid value", "no article found", "cannot")), message
    assert SECRET not in message
    if kind == "unreadable" and Path(target).exists():
        assert "cannot be read" in message
