"""Load the mypyc-compiled extraction modules of a development checkout, when they are current.

``hatch_build.py`` compiles a few pure-Python modules (numbers, catalog, organizations,
extraction) with mypyc. In an installed wheel the compiled modules sit beside their sources and
Python imports them by itself. In an editable install (``uv sync``) they are in ``.native/`` at
the project root with ``stamp.json``, which records the SHA-256 of each source they were
compiled from. ``install()`` (called by ``union_news/__init__``) puts a finder on
``sys.meta_path`` that loads them only if every source still matches and the interpreter is the
one they were built for; otherwise every module is imported from its source, unchanged, and
``status()`` says why. Set ``UNION_NEWS_PURE_PYTHON=1`` to always use the sources.

Rebuild after editing a compiled module: ``uv sync`` (it notices the change), or
``uv sync --reinstall-package union-news``.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NATIVE_DIR = ROOT / ".native"
STAMP_FORMAT = 1
REBUILD = "uv sync --reinstall-package union-news"


@dataclass(frozen=True)
class NativeStatus:
    """Whether the compiled modules are used: ``active``, ``disabled``, ``not-built``,
    ``stale`` (a source changed since the build) or ``incompatible`` (other interpreter)."""

    state: str
    detail: str
    modules: tuple[str, ...] = ()
    files: dict[str, Path] = field(default_factory=dict)


def check(native_dir: Path = NATIVE_DIR, root: Path = ROOT) -> NativeStatus:
    """What ``native_dir`` holds and whether it may be loaded for the sources under ``root``."""
    if os.environ.get("UNION_NEWS_PURE_PYTHON"):
        return NativeStatus("disabled", "UNION_NEWS_PURE_PYTHON is set")
    stamp_path = native_dir / "stamp.json"
    if not stamp_path.is_file():
        return NativeStatus("not-built", f"no {stamp_path} (needs a C compiler at install)")
    try:
        stamp: dict[str, Any] = json.loads(stamp_path.read_text())
        modules: dict[str, dict[str, str]] = stamp["modules"]
        shared: dict[str, str] = stamp["shared"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return NativeStatus("not-built", f"unreadable {stamp_path}: {exc}")
    names = tuple(sorted(modules))
    if (
        stamp.get("format") != STAMP_FORMAT
        or stamp.get("ext_suffix") != sysconfig.get_config_var("EXT_SUFFIX")
        or stamp.get("python") != sys.implementation.cache_tag
    ):
        return NativeStatus(
            "incompatible", f"built for {stamp.get('ext_suffix')}, not this interpreter", names
        )
    files: dict[str, Path] = {shared["name"]: native_dir / shared["file"]}
    for name, entry in modules.items():
        source = root / entry["source"]
        try:
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError:
            digest = ""
        if digest != entry["sha256"]:
            return NativeStatus("stale", f"{entry['source']} changed since the build", names)
        files[name] = native_dir / entry["file"]
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        return NativeStatus("not-built", f"missing {', '.join(missing)}", names)
    return NativeStatus("active", f"mypyc {stamp.get('mypy', '?')}", names, files)


class _NativeFinder:
    """Finds the compiled modules (and mypyc's runtime library) in ``.native/``."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)

    def invalidate_caches(self) -> None:
        pass


_status: NativeStatus | None = None


def install() -> NativeStatus:
    """Put the finder in front of the path finders (once) when the build is current."""
    global _status
    if _status is None:
        _status = check()
        if _status.state == "active":
            sys.meta_path.insert(0, _NativeFinder(_status.files))  # type: ignore[arg-type]
    return _status


def status() -> NativeStatus:
    """How ``union_news.extraction`` is running in this process (see ``NativeStatus``)."""
    current = install()
    spec = importlib.util.find_spec("union_news.extraction")
    origin = (spec.origin or "") if spec else ""
    if origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
        if current.state == "active":
            return current
        return NativeStatus("active", "compiled modules installed beside their sources")
    return current


def describe() -> str:
    """One line for logs and benchmark output."""
    s = status()
    if s.state == "active":
        return f"compiled (mypyc): {s.detail}"
    hint = "" if s.state == "disabled" else f"; rebuild with `{REBUILD}`"
    return f"pure Python ({s.state}: {s.detail}{hint})"
