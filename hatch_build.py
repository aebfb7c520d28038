"""Build hook: compile the extraction modules with mypyc when the project is built or installed.

The modules listed under ``[tool.hatch.build.targets.wheel.hooks.custom] modules`` (number
parsing, the catalog, organizations, extraction: pure Python, fully typed) are compiled to C
extension modules with mypyc. They run about 1.65x faster and give exactly the same rows (the
equivalence test in ``tests/test_native.py`` compares both on every CI run).

- A regular wheel (``uv build``) carries the compiled modules beside their sources; Python
  imports the compiled one.
- An editable install (``uv sync``, ``uv run``: the development checkout) gets them in
  ``.native/`` with a stamp of the sources they were compiled from; ``union_news/_native.py``
  loads them only while every source still matches its stamp, so an edited module runs as
  plain Python until the next build (``uv sync`` rebuilds when a listed module changes:
  ``[tool.uv] cache-keys``).

Compiling needs a C compiler and the Python headers. Without them, or with
``UNION_NEWS_PURE_PYTHON=1``, the build warns and the package stays pure Python: installing
never fails because of this hook.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

NATIVE_DIR = ".native"
STAMP = "stamp.json"
STAMP_FORMAT = 1


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compile_modules(root: Path, modules: list[str], workdir: Path) -> dict[str, Any]:
    """Compile ``modules`` (paths relative to ``root``) with mypyc inside ``workdir``.

    The package's sources are copied there first (its ``__init__`` left empty, so the loader
    of the development checkout is not part of the build). Returns the stamp: what was built,
    from which sources, for which interpreter."""
    for module in modules:
        if not (root / module).is_file():
            raise FileNotFoundError(f"native module {module} does not exist")
    packages = sorted({Path(m).parent for m in modules})
    for package in packages:
        (workdir / package).mkdir(parents=True, exist_ok=True)
        for src in (root / package).glob("*.py"):
            shutil.copy2(src, workdir / package / src.name)
        (workdir / package / "__init__.py").write_text("")
    cmd = [sys.executable, "-m", "mypyc", "--ignore-missing-imports", *modules]
    env = dict(os.environ, MYPYC_OPT_LEVEL=os.environ.get("MYPYC_OPT_LEVEL", "3"))
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"mypyc failed ({done.returncode}):\n{tail}")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    built: dict[str, Any] = {}
    for module in modules:
        rel = Path(module).with_suffix("")
        so = rel.with_name(rel.name + suffix)
        if not (workdir / so).is_file():
            raise RuntimeError(f"mypyc produced no {so}")
        built[".".join(rel.parts)] = {
            "file": so.as_posix(),
            "source": Path(module).as_posix(),
            "sha256": source_digest(root / module),
        }
    shared = [p.name for p in workdir.glob(f"*__mypyc{suffix}")]
    if len(shared) != 1:
        raise RuntimeError(f"expected one mypyc runtime library, found {shared}")
    import mypy.version

    return {
        "format": STAMP_FORMAT,
        "ext_suffix": suffix,
        "python": sys.implementation.cache_tag,
        "mypy": mypy.version.__version__,
        "shared": {"name": shared[0][: -len(suffix)], "file": shared[0]},
        "modules": built,
    }


class NativeBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        if os.environ.get("UNION_NEWS_PURE_PYTHON"):
            self.app.display_info("union-news: UNION_NEWS_PURE_PYTHON set, not compiling")
            return
        modules = list(self.config.get("modules", []))
        with tempfile.TemporaryDirectory(prefix="union-news-mypyc-") as tmp:
            work = Path(tmp)
            try:
                stamp = compile_modules(root, modules, work)
            except Exception as exc:  # never fail an install: pure Python works, only slower
                self.app.display_warning(
                    f"union-news: the extraction modules stay pure Python (slower): {exc}"
                )
                return
            if version == "editable":
                self._install_editable(root, work, stamp)
            else:
                self._add_to_wheel(root, work, stamp, build_data)
        self.app.display_info(f"union-news: compiled {', '.join(stamp['modules'])} with mypyc")

    def _install_editable(self, root: Path, work: Path, stamp: dict[str, Any]) -> None:
        dest = root / NATIVE_DIR
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir()
        (dest / ".gitignore").write_text("*\n")
        shutil.copy2(work / stamp["shared"]["file"], dest / stamp["shared"]["file"])
        for entry in stamp["modules"].values():
            target = dest / entry["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(work / entry["file"], target)
        # the stamp last: a half-written .native/ has none and is ignored
        (dest / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")

    def _add_to_wheel(
        self, root: Path, work: Path, stamp: dict[str, Any], build_data: dict[str, Any]
    ) -> None:
        keep = root / "build" / "native-wheel"
        if keep.exists():
            shutil.rmtree(keep)
        shutil.copytree(work, keep, ignore=shutil.ignore_patterns("*.c", "*.h", "*.o", "build"))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        force = build_data.setdefault("force_include", {})
        force[str(keep / stamp["shared"]["file"])] = stamp["shared"]["file"]
        for entry in stamp["modules"].values():
            force[str(keep / entry["file"])] = entry["file"]
