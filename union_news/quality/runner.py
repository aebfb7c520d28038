"""Great Expectations plumbing: one ephemeral context per process, suites loaded from files once.

Great Expectations is imported inside these functions only (its import takes seconds); this
module itself is imported lazily by ``union_news.quality.validate_batch``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

_LOCK = threading.RLock()
_RESULT_FORMAT = "COMPLETE"


@dataclass(slots=True)
class ExpectationSpec:
    """An expectation as the suite file describes it (what the report and the quarantine need)."""

    name: str
    type: str
    column: str
    severity: str
    description: str
    reason: str
    show: tuple[str, ...]


@dataclass(slots=True)
class SuiteFile:
    name: str
    specs: list[ExpectationSpec]
    raw: dict[str, Any]

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.raw.get("meta", {}).get("parameters", {}))


def read_suite(path: Path) -> SuiteFile:
    """Parse a suite file (the Great Expectations suite JSON with our meta) without GX."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    specs: list[ExpectationSpec] = []
    for item in raw["expectations"]:
        meta = item.get("meta", {})
        severity = meta.get("severity") or item.get("severity") or "critical"
        if severity not in ("critical", "warning"):
            raise ValueError(f"{path.name}: {meta.get('name')}: severity must be critical|warning")
        specs.append(ExpectationSpec(
            name=meta["name"], type=item["type"], column=item["kwargs"]["column"],
            severity=severity, description=meta.get("description") or item.get("description", ""),
            reason=meta.get("reason") or meta["name"], show=tuple(meta.get("show", ())),
        ))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"{path.name}: expectation names must be unique")
    return SuiteFile(name=raw["name"], specs=specs, raw=raw)


@dataclass(slots=True)
class _Runtime:
    context: Any
    batch_definitions: dict[str, Any]
    suites: dict[str, Any]
    sites: set[str]


@lru_cache(maxsize=4)
def _runtime(expectations_dir: str) -> _Runtime:
    """The ephemeral context, one pandas asset per suite, the suites compiled (once per process)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("union_news_batch")
    batch_definitions: dict[str, Any] = {}
    suites: dict[str, Any] = {}
    for path in sorted(Path(expectations_dir).glob("*.json")):
        suite_file = read_suite(path)
        suite = gx.ExpectationSuite(name=suite_file.name, meta=suite_file.raw.get("meta", {}))
        for item in suite_file.raw["expectations"]:
            config = ExpectationConfiguration(
                type=item["type"], kwargs=dict(item["kwargs"]), meta=dict(item.get("meta", {})),
                severity=item.get("severity", item.get("meta", {}).get("severity", "critical")),
                description=item.get("description"),
            )
            suite.add_expectation(config.to_domain_obj())
        suites[suite_file.name] = context.suites.add(suite)
        asset = source.add_dataframe_asset(suite_file.name)
        batch_definitions[suite_file.name] = asset.add_batch_definition_whole_dataframe("batch")
    return _Runtime(context, batch_definitions, suites, set())


def warm_up(expectations_dir: str) -> None:
    """Import Great Expectations and compile the suites now (benchmarks time the rest apart)."""
    with _LOCK:
        _runtime(expectations_dir)


def run_suite(expectations_dir: str, suite_name: str, frame: Any,
              parameters: dict[str, Any]) -> Any:
    """Validate ``frame`` against a suite; the ExpectationSuiteValidationResult (COMPLETE)."""
    with _LOCK:
        runtime = _runtime(expectations_dir)
        batch = runtime.batch_definitions[suite_name].get_batch(batch_parameters={"dataframe": frame})
        # COMPLETE for unexpected_index_list (the rows to quarantine); Data Docs show the
        # failing values (dropping the partial lists saves nothing measurable).
        return batch.validate(runtime.suites[suite_name], result_format=_RESULT_FORMAT,
                              expectation_parameters=parameters)


def build_data_docs(expectations_dir: str, results: dict[str, Any], docs_dir: str,
                    run_name: str | None = None) -> str:
    """Write one batch's validation results into a filesystem Data Docs site; index.html."""
    now = datetime.now(UTC)
    return build_data_docs_for(
        expectations_dir, [(run_name or f"batch-{now:%Y%m%dT%H%M%S%fZ}", results)], docs_dir
    )


def build_data_docs_for(expectations_dir: str, batches: list[tuple[str, dict[str, Any]]],
                        docs_dir: str) -> str:
    """Write several batches' results (``(run name, results per suite)``) into a filesystem
    Data Docs site with one build; the index.html path."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    base = str(Path(docs_dir).resolve())
    with _LOCK:
        runtime = _runtime(expectations_dir)
        site = f"site_{abs(hash(base))}"
        if site not in runtime.sites:
            runtime.context.add_data_docs_site(site, {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": base},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            })
            runtime.sites.add(site)
        identifiers: list[Any] = []
        suites: set[str] = set()
        for run_name, results in batches:
            run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
            for suite_name, result in results.items():
                identifier = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                    run_id=run_id, batch_identifier=suite_name,
                )
                runtime.context.validation_results_store.set(identifier, result)
                identifiers.append(identifier)
                suites.add(suite_name)
        identifiers += [ExpectationSuiteIdentifier(name=name) for name in sorted(suites)]
        runtime.context.build_data_docs(site_names=[site], resource_identifiers=identifiers)
    return str(Path(base) / "index.html")
