"""The mypyc-compiled extraction modules: same output as the sources, loaded only when current.

``hatch_build.py`` compiles them at install; ``union_news/_native.py`` loads them. With
``UNION_NEWS_REQUIRE_NATIVE=1`` (CI) a missing or unusable build fails these tests instead of
skipping them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from union_news import _native

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = bool(os.environ.get("UNION_NEWS_REQUIRE_NATIVE"))
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")


def _need_native() -> _native.NativeStatus:
    status = _native.status()
    if status.state != "active":
        message = f"compiled modules not in use: {_native.describe()}"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return status


def _run(args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_compiled_modules_are_the_ones_imported():
    status = _need_native()
    import union_news.catalog
    import union_news.extraction
    import union_news.numbers
    import union_news.organizations

    for module in (
        union_news.numbers,
        union_news.catalog,
        union_news.organizations,
        union_news.extraction,
    ):
        assert module.__file__.endswith(SUFFIX), module.__file__
        assert module.__name__ in status.modules


@pytest.mark.slow
def test_compiled_and_pure_python_give_identical_output():
    _need_native()
    native = json.loads(_run(["-m", "tests.native_corpus", "--texts", "400"]))
    pure = json.loads(
        _run(["-m", "tests.native_corpus", "--texts", "400"], {"UNION_NEWS_PURE_PYTHON": "1"})
    )
    assert (native["native"], pure["native"]) == ("active", "disabled")
    assert sum(map(len, native["rows"])) > 1000  # the corpus really produces rows
    assert sum(map(len, native["numbers"])) > 3000
    for key in ("numbers", "rows", "organizations"):
        assert len(native[key]) == len(pure[key])
        for i, (a, b) in enumerate(zip(native[key], pure[key], strict=True)):
            assert a == b, f"{key}[{i}] differs between compiled and pure Python"


def _stamp(tmp: Path, source: Path, **over: object) -> Path:
    """A .native/ in ``tmp`` for one module compiled from ``source``."""
    native = tmp / ".native"
    (native / "pkg").mkdir(parents=True)
    (native / "pkg" / f"mod{SUFFIX}").write_bytes(b"\0")
    (native / f"abc__mypyc{SUFFIX}").write_bytes(b"\0")
    stamp = {
        "format": _native.STAMP_FORMAT,
        "ext_suffix": SUFFIX,
        "python": sys.implementation.cache_tag,
        "mypy": "test",
        "shared": {"name": "abc__mypyc", "file": f"abc__mypyc{SUFFIX}"},
        "modules": {
            "pkg.mod": {
                "file": f"pkg/mod{SUFFIX}",
                "source": "pkg/mod.py",
                "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            }
        },
    }
    stamp.update(over)
    (native / "stamp.json").write_text(json.dumps(stamp))
    return native


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    path = tmp_path / "pkg" / "mod.py"
    path.write_text("X = 1\n")
    return path


def test_check_accepts_a_current_build(tmp_path, source, monkeypatch):
    monkeypatch.delenv("UNION_NEWS_PURE_PYTHON", raising=False)
    native = _stamp(tmp_path, source)
    status = _native.check(native, tmp_path)
    assert status.state == "active"
    assert status.files["pkg.mod"] == native / "pkg" / f"mod{SUFFIX}"
    assert status.files["abc__mypyc"] == native / f"abc__mypyc{SUFFIX}"


def test_check_refuses_an_edited_source(tmp_path, source, monkeypatch):
    monkeypatch.delenv("UNION_NEWS_PURE_PYTHON", raising=False)
    native = _stamp(tmp_path, source)
    source.write_text("X = 2\n")
    status = _native.check(native, tmp_path)
    assert status.state == "stale"
    assert "pkg/mod.py" in status.detail
    assert not status.files


def test_check_refuses_another_interpreter_and_a_missing_build(tmp_path, source, monkeypatch):
    monkeypatch.delenv("UNION_NEWS_PURE_PYTHON", raising=False)
    assert _native.check(tmp_path / ".native", tmp_path).state == "not-built"
    native = _stamp(tmp_path, source, ext_suffix=".cpython-399-x.so")
    assert _native.check(native, tmp_path).state == "incompatible"
    (native / "stamp.json").write_text("{not json")
    assert _native.check(native, tmp_path).state == "not-built"


def test_check_refuses_a_build_with_a_file_missing(tmp_path, source, monkeypatch):
    monkeypatch.delenv("UNION_NEWS_PURE_PYTHON", raising=False)
    native = _stamp(tmp_path, source)
    (native / f"abc__mypyc{SUFFIX}").unlink()
    status = _native.check(native, tmp_path)
    assert status.state == "not-built" and "abc__mypyc" in status.detail


def test_pure_python_can_be_forced(tmp_path, source, monkeypatch):
    native = _stamp(tmp_path, source)
    monkeypatch.setenv("UNION_NEWS_PURE_PYTHON", "1")
    assert _native.check(native, tmp_path).state == "disabled"


@pytest.mark.slow
def test_an_edited_module_runs_from_its_source(tmp_path):
    """A checkout whose extraction.py changed after the build imports every module from source
    (mixing a compiled module with edited sources it was built against would be wrong)."""
    _need_native()
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "union_news", copy / "union_news",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".native", copy / ".native")
    probe = (
        "import union_news.extraction as e, union_news.numbers as n\n"
        "from union_news import _native\n"
        "print(_native.status().state, e.__file__.endswith('.py'), n.__file__.endswith('.py'))\n"
    )
    env = {"PYTHONPATH": str(copy), "UNION_NEWS_PURE_PYTHON": ""}
    assert _run(["-c", probe], env, cwd=copy).split() == ["active", "False", "False"]
    with (copy / "union_news" / "extraction.py").open("a") as f:
        f.write("\n# edited after the build\n")
    assert _run(["-c", probe], env, cwd=copy).split() == ["stale", "True", "True"]
