"""Screenshot a finished flow run in the Prefect UI with a real, headless browser.

Installs nothing: it needs Debian's ``chromium`` on PATH (``apt-get install -y chromium``) and the
``playwright`` Python package (a dev dependency; no browser download, it drives that chromium).
It opens ``<ui>/runs/flow-run/<id>``, waits until the run's name and state show, clicks the
Artifacts tab, waits for the artifacts' keys, and saves a PNG.

    uv run python scripts/screenshot_ui.py --ui http://127.0.0.1:4200 --flow-run <id> \
        --out artifacts/backfill-run.png

Exit status: 0 with the PNG written, 3 when chromium is absent (nothing done), 1 on failure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import urllib.request
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
NO_CHROMIUM = 3


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _api(ui: str, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{ui.rstrip('/')}/api{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def run_facts(ui: str, flow_run_id: str) -> tuple[str, str, list[str]]:
    """The run's name, state name and artifact keys, read from the API (what must be visible)."""
    run = _api(ui, "GET", f"/flow_runs/{flow_run_id}")
    arts = _api(ui, "POST", "/artifacts/filter",
                {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}})
    keys = sorted({a["key"] for a in arts if a.get("key")})
    return run["name"], run["state"]["name"], keys


def screenshot(ui: str, flow_run_id: str, out: Path, timeout_s: float = 45.0,
               width: int = 1400, height: int = 1100) -> Path:
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if exe is None:
        raise FileNotFoundError("chromium is not installed")
    name, state, keys = run_facts(ui, flow_run_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    ms = int(timeout_s * 1000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}", timeout=ms)
            page.get_by_text(name, exact=False).first.wait_for(timeout=ms)
            page.get_by_text(state, exact=True).first.wait_for(timeout=ms)
            _open_artifacts_tab(page, ms)
            for key in keys[:3]:
                page.get_by_text(key, exact=False).first.wait_for(timeout=ms)
            page.wait_for_timeout(500)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return out


def _open_artifacts_tab(page, ms: int) -> None:
    tab = page.get_by_role("tab", name="Artifacts")
    if tab.count() == 0:
        tab = page.get_by_text("Artifacts", exact=True)
    tab.first.click(timeout=ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ui", required=True, help="Prefect UI base URL, e.g. http://127.0.0.1:4200")
    parser.add_argument("--flow-run", required=True, help="the flow run id")
    parser.add_argument("--out", default="artifacts/flow-run.png", type=Path)
    parser.add_argument("--timeout", type=float, default=45.0, help="seconds to wait for the page")
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("chromium not found on PATH: no screenshot (apt-get install -y chromium)",
              file=sys.stderr)
        return NO_CHROMIUM
    try:
        path = screenshot(args.ui, args.flow_run, args.out, args.timeout)
    except Exception as exc:  # noqa: BLE001 - report any browser failure as one line
        print(f"screenshot failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
