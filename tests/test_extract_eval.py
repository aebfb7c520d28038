"""The extraction gate (eval/extract_eval.py --gate) run in-process, as CI runs it.

Seeds go through clean_document and extract_metrics and are scored against seeds-gold; every
sample-site article is rendered, cleaned and extracted and must give exactly its expected rows.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def _load_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_eval", ROOT / "eval" / "extract_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("extract_eval", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def extract_eval() -> ModuleType:
    return _load_eval()


def _shared_or_skip() -> Path:
    if not (SHARED / "seeds-gold" / "metrics.json").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the shared seeds at {SHARED}")
        pytest.skip(f"no shared seeds at {SHARED}")
    return SHARED


def test_gate_passes_on_seeds_and_sample_site(extract_eval: ModuleType) -> None:
    shared = _shared_or_skip()
    seeds = extract_eval.run_seeds(shared, from_gold=False, quiet=True)
    sample = extract_eval.run_sample(quiet=True)
    assert sample is not None, "union_news.sample_site must be importable"
    assert extract_eval.gate(seeds, sample) == []
    assert sample["articles"] >= 39 and sample["articles_exact"] == sample["articles"]
    assert seeds["f1"] >= extract_eval.BARS["f1"] and seeds["target_agreement"] == 1.0


def test_main_exits_zero_with_gate(
    extract_eval: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = _shared_or_skip()
    assert extract_eval.main(["--gate", "--quiet", "--no-sample", "--shared", str(shared)]) == 0
    assert '"gate_failures": []' in capsys.readouterr().out


def test_gate_reports_a_wrong_sample_article(extract_eval: ModuleType) -> None:
    seeds = {
        "f1": 1.0,
        "precision": 1.0,
        "org_agreement": 1.0,
        "target_agreement": 1.0,
        "detail_missing": 0,
    }
    sample = {"articles": 3, "articles_exact": 2, "detail_missing": 0}
    assert extract_eval.gate(seeds, sample) == ["sample site: 1 articles not exact"]
    assert extract_eval.gate({**seeds, "f1": 0.9}, None) == ["seeds f1 0.9 < 0.97"]
