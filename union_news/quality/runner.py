"""Great Expectations plumbing: one ephemeral context per process, suites loaded from files once.

Great Expectations is imported inside these functions only (its import takes seconds); this
module itself is imported lazily by ``union_news.quality.validate_batch``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

_LOCK = threading.RLock()
# A suite is validated in two passes: BASIC (success and counts) for every expectation, then
# COMPLETE (unexpected_index_list: the rows to quarantine) only for the expectations that found
# unexpected values. GX's cost is per expectation and metric, hardly per row, and COMPLETE adds
# two metrics to every expectation (index list and query); on a clean batch the second pass
# does not run at all.
_FIRST_PASS = "BASIC"
_RESULT_FORMAT = "COMPLETE"

# Modules Great Expectations imports at start but uses only in expectations and metrics these
# suites do not have (KL divergence, KS tests, JSON schema, Altair charts): a third of the
# validator's import time (6.3 -> 4.1 s CPU on the 2-core VM). ``defer_unused_imports`` makes them load on first use instead.
UNUSED_MODULES = ("scipy.stats", "altair", "jsonschema")
# SQLAlchemy is an extra of Great Expectations (its SQL data sources), imported whenever it is
# installed, as it is here for the warehouse: another fifth of the import. The validator
# validates pandas frames only, so its process hides it and GX starts as its base install does.
HIDDEN_MODULES = ("sqlalchemy",)
# Modules GX imports at start, by name, from a package ``__init__`` only, for what the validator
# never has: the Spark and SQL data sources and the pandas ones reading files (local, S3, GCS,
# Azure, DBFS), all from ``great_expectations.datasource.fluent`` (the batches are in-memory
# frames of a ``PandasDatasource``), and the ~50 expectation classes of
# ``great_expectations.expectations.core`` that no suite uses: together a third of the import.
# In the validator process they are stand-ins (``_StubModule``): the names exist, the code does
# not run, and using one of their classes raises. An expectation module a suite needs is
# imported for real when its suites are compiled (``_load_expectation_modules``).
STUBBED_MODULES = tuple(
    f"great_expectations.datasource.fluent.{kind}_{name}"
    for kind in ("spark", "pandas")
    for name in ("file_path_datasource", "filesystem_datasource", "dbfs_datasource",
                 "s3_datasource", "google_cloud_storage_datasource",
                 "azure_blob_storage_datasource")
) + tuple(
    f"great_expectations.datasource.fluent.{name}"
    for name in ("spark_datasource", "sql_datasource", "sqlite_datasource", "postgres_datasource",
                 "snowflake_datasource", "databricks_sql_datasource", "redshift_datasource",
                 "bigquery_datasource", "alloy_datasource", "aurora_datasource", "citus_datasource",
                 "neon_datasource", "sql_server_datasource", "fabric", "fabric_datasource")
)
CORE_EXPECTATIONS = "great_expectations.expectations.core.expect_"


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


class _ValidationMemo:
    """Work Great Expectations repeats while it validates one suite on one frame, done once.

    - ``Expectation.configuration``: GX rebuilds it (a pydantic ``dict()`` of the expectation,
      a class-name conversion and a new ``ExpectationConfiguration``) each time it is read, and
      reads it again for every domain, success and runtime keyword of every metric: about 47
      times per expectation and suite run, 40% of a batch's validation CPU. Validation builds
      each expectation from its configuration and reads it only, so the first configuration
      built for an expectation object is returned for that object again. And for every metric
      GX turns that configuration back into a new expectation (``to_domain_obj``: a pydantic
      validation, then the configuration rebuilt once more) only to read its runtime keywords:
      for the configurations this memo handed out, that expectation is built once too.
    - ``IDDict.to_id`` (the id of every metric's domain and value keywords, about 800 per
      batch): GX converts the keywords with ``convert_to_json_serializable`` (five numpy dtype
      tests for every None) before ``json.dumps``. Keywords made only of str, int, bool, None,
      finite floats, lists, tuples and str-keyed dicts are their own conversion, so they are
      dumped as they are (same JSON, same md5); anything else goes GX's way.
    - a ``row_condition`` filter (``DataFrame.query``: a parse of the expression and a copy of
      the rows, about 4 ms) is applied to the same frame for every metric of an expectation,
      and again in the second pass: the filtered frame is kept for the frame and condition.
      GX shares the unfiltered frame between metrics alike, so it is never modified.
    - the batch's fingerprint (``hash_pandas_dataframe``, in the batch markers) is computed
      each time a batch of the frame is made, twice or three times per suite run: it is kept
      for the frame object.

    All of it only while a suite runs (``active``, under ``_LOCK``) and forgotten after it;
    outside a validation GX's own code runs. ``tests/test_quality.py`` checks results are
    identical with and without it."""

    def __init__(self) -> None:
        self.active = False
        self.reuses = 0  # configurations returned again (how much GX rebuilding was saved)
        self.plain_ids = 0  # ids dumped without GX's conversion
        self.filters_reused = 0  # row_condition filters served again
        self.fingerprints_reused = 0  # frame fingerprints served again
        self._built: dict[int, tuple[Any, Any]] = {}  # id(expectation) -> (it, configuration)
        self._domain: dict[int, tuple[Any, Any]] = {}  # id(configuration) -> (it, expectation)
        self._handed_out: dict[int, Any] = {}  # id(configuration) -> configuration (from _built)
        self._filtered: dict[tuple[int, str, Any], tuple[Any, Any]] = {}  # -> (frame, filtered)
        self._fingerprints: dict[int, tuple[Any, str]] = {}  # id(frame) -> (frame, md5)
        self._original: Any = None

    def install(self) -> None:
        from great_expectations.core.id_dict import IDDict
        from great_expectations.execution_engine import pandas_execution_engine as engine
        from great_expectations.expectations.expectation import Expectation
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        if self._original is not None:
            return
        original = self._original = Expectation.configuration
        memo = self

        def build_configuration(expectation: Any) -> Any:
            built = original.fget(expectation)
            memo._handed_out[id(built)] = built
            return built

        def configuration(expectation: Any) -> Any:
            if not memo.active:
                return original.fget(expectation)
            return memo._recall(
                memo._built, id(expectation), expectation, build_configuration, "reuses"
            )

        Expectation.configuration = property(configuration, doc=original.__doc__)

        to_domain_obj = ExpectationConfiguration.to_domain_obj

        def domain_obj(config: Any) -> Any:
            if not memo.active or memo._handed_out.get(id(config)) is not config:
                return to_domain_obj(config)
            return memo._recall(memo._domain, id(config), config, to_domain_obj, "reuses")

        domain_obj.__doc__ = to_domain_obj.__doc__
        ExpectationConfiguration.to_domain_obj = domain_obj

        to_id = IDDict.to_id

        def plain_to_id(self: Any, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
            if memo.active:
                keys = set(self.keys() if id_keys is None else id_keys) - set(
                    self._id_ignore_keys if id_ignore_keys is None else id_ignore_keys)
                if len(keys) > 1:
                    data = {k: self[k] for k in keys}
                    if _plain_json(data):
                        memo.plain_ids += 1
                        return hashlib.md5(json.dumps(data, sort_keys=True).encode("utf-8"),
                                           usedforsecurity=False).hexdigest()
            return to_id(self, id_keys, id_ignore_keys)

        plain_to_id.__doc__ = to_id.__doc__
        IDDict.to_id = plain_to_id

        apply_filter = engine.PandasExecutionEngine._apply_row_condition_filter

        def row_condition_filter(self: Any, data: Any, row_condition: Any,
                                 domain_kwargs: dict) -> Any:
            if not memo.active:
                return apply_filter(self, data, row_condition, domain_kwargs)
            key = (id(data), repr(row_condition), domain_kwargs.get("condition_parser"))
            return memo._recall(
                memo._filtered,
                key,
                data,
                lambda frame: apply_filter(self, frame, row_condition, domain_kwargs),
                "filters_reused",
            )

        engine.PandasExecutionEngine._apply_row_condition_filter = row_condition_filter

        fingerprint = engine.hash_pandas_dataframe

        def hash_frame(df: Any) -> str:
            if not memo.active:
                return fingerprint(df)
            return memo._recall(
                memo._fingerprints, id(df), df, fingerprint, "fingerprints_reused"
            )

        engine.hash_pandas_dataframe = hash_frame

    def _recall(self, store: dict, key: Any, owner: Any, make: Any, counter: str) -> Any:
        """``make(owner)``, kept in ``store`` under ``key`` while ``owner`` (held by the entry,
        so its id is not reused) is the object it was made for; ``counter`` counts reuses."""
        hit = store.get(key)
        if hit is not None and hit[0] is owner:
            setattr(self, counter, getattr(self, counter) + 1)
            return hit[1]
        value = make(owner)
        store[key] = (owner, value)
        return value

    @contextmanager
    def during(self) -> Iterator[None]:
        """Memoised for the block (one suite run, under ``_LOCK``); forgotten after it."""
        self.active = True
        try:
            yield
        finally:
            self.active = False
            self._built.clear()
            self._domain.clear()
            self._handed_out.clear()
            self._filtered.clear()
            self._fingerprints.clear()


def _plain_json(value: Any) -> bool:
    """Whether ``value`` is JSON that GX's ``convert_to_json_serializable`` returns unchanged
    in what ``json.dumps`` writes: str, int, bool, None, finite or infinite floats (not NaN,
    which it turns into null), lists and tuples of them, dicts with str keys."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return value == value
    if kind is list or kind is tuple:
        return all(_plain_json(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    return False


_MEMO = _ValidationMemo()


@lru_cache(maxsize=4)
def _runtime(expectations_dir: str) -> _Runtime:
    """The ephemeral context, one pandas asset per suite, the suites compiled (once per process)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    _MEMO.install()
    _load_expectation_modules({item["type"] for path in Path(expectations_dir).glob("*.json")
                               for item in read_suite(path).raw["expectations"]})
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


class _HiddenFinder(importlib.abc.MetaPathFinder):
    """Says the named packages (and their submodules) are not installed."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = frozenset(names)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden from the validator)",
                                      name=name)
        return None


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds the named modules with the other finders and loads them lazily: the module object
    exists at once, its code runs when one of its attributes is first used."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = frozenset(names)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None:
                continue
            if spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return None  # namespace or legacy loader: import it as usual
            spec.loader = importlib.util.LazyLoader(spec.loader)
            return spec
        return None


class _Unavailable:
    """A class of a module the validator process does not load (see ``STUBBED_MODULES``)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{cls.__module__}.{cls.__qualname__} is not loaded in the validator "
                           "process (runner.STUBBED_MODULES)")


class _StubModule(types.ModuleType):
    """A module whose code does not run: every name imported from it is an ``_Unavailable``
    class of that name."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        stand_in = type(name, (_Unavailable,), {"__module__": self.__name__, "__qualname__": name})
        setattr(self, name, stand_in)
        return stand_in


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Gives the named modules (and the core expectation modules not ``allowed``) as stubs."""

    def __init__(self, names: tuple[str, ...], expectations: bool) -> None:
        self.names = frozenset(names)
        self.expectations = expectations
        self.allowed: set[str] = set()

    def stubs(self, name: str) -> bool:
        if name in self.allowed:
            return False
        return name in self.names or (self.expectations and name.startswith(CORE_EXPECTATIONS))

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if not self.stubs(name):
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec: Any) -> types.ModuleType:
        return _StubModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def _load_expectation_modules(types_used: set[str]) -> None:
    """Import for real the core expectation modules of ``types_used`` that are stubs (their
    classes register themselves with GX as they are defined), and put their classes where the
    stand-ins were in ``great_expectations.expectations(.core)``."""
    finder = next((f for f in sys.meta_path if isinstance(f, _StubFinder)), None)
    if finder is None:
        return
    for kind in sorted(types_used):
        name = CORE_EXPECTATIONS + kind.removeprefix("expect_")
        if not isinstance(sys.modules.get(name), _StubModule):
            continue
        finder.allowed.add(name)
        stub = sys.modules.pop(name)
        module = importlib.import_module(name)
        for package in ("great_expectations.expectations.core", "great_expectations.expectations"):
            namespace = sys.modules.get(package)
            for attr, value in list(vars(stub).items()):
                if namespace is not None and getattr(namespace, attr, None) is value:
                    setattr(namespace, attr, getattr(module, attr))


def defer_unused_imports(names: tuple[str, ...] = UNUSED_MODULES,
                         hidden: tuple[str, ...] = HIDDEN_MODULES,
                         stubbed: tuple[str, ...] = STUBBED_MODULES,
                         unused_expectations: bool = True) -> None:
    """Load ``names`` lazily in this process from now on and hide the packages ``hidden`` that
    are not imported yet (call it before importing Great Expectations). Only for a process that
    does nothing but validate and where one thread imports, such as the validator's: LazyLoader
    is not thread-safe before Python 3.12. A deferred module still loads in full the first time
    anything uses it, so no expectation loses what it needs. The modules ``stubbed`` (and, with
    ``unused_expectations``, the core expectation modules) become stand-ins whose code never
    runs, unless Great Expectations is imported already; the expectation modules a suite uses
    are imported for real when the suites are compiled."""
    with _LOCK:
        if any(isinstance(f, _LazyFinder) for f in sys.meta_path):
            return
        # a package already imported (by the parent's main module, say) stays usable: hiding
        # only its submodules not imported yet would leave it half there
        hide = tuple(n for n in hidden if n not in sys.modules)
        if hide:
            sys.meta_path.insert(0, _HiddenFinder(hide))
        if "great_expectations" not in sys.modules and (stubbed or unused_expectations):
            sys.meta_path.insert(0, _StubFinder(tuple(stubbed), unused_expectations))
        sys.meta_path.insert(0, _LazyFinder(tuple(names)))


def is_stub(name: str) -> bool:
    """Whether module ``name`` is a stand-in whose code never ran (``STUBBED_MODULES``)."""
    return isinstance(sys.modules.get(name), _StubModule)


def is_loaded(name: str) -> bool:
    """Whether module ``name`` has run its code in this process (not merely deferred)."""
    module = sys.modules.get(name)
    lazy = getattr(importlib.util, "_LazyModule", None)
    return (module is not None and (lazy is None or type(module) is not lazy)
            and not isinstance(module, _StubModule))


def warm_up(expectations_dir: str) -> None:
    """Import Great Expectations and compile the suites now (benchmarks time the rest apart)."""
    with _LOCK:
        _runtime(expectations_dir)


def run_suite(expectations_dir: str, suite_name: str, frame: Any,
              parameters: dict[str, Any]) -> Any:
    """Validate ``frame`` against a suite; the ExpectationSuiteValidationResult, in which every
    expectation that found unexpected values (or failed, or raised) has its COMPLETE result
    (``unexpected_index_list``: the rows to quarantine; Data Docs show the failing values) and
    every other its BASIC one (the same counts, no empty lists)."""
    import great_expectations as gx

    with _LOCK, _MEMO.during():
        runtime = _runtime(expectations_dir)
        suite = runtime.suites[suite_name]
        batch = runtime.batch_definitions[suite_name].get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format=_FIRST_PASS, expectation_parameters=parameters)
        again = {_name(r) for r in result.results if _needs_rows(r)}
        if not again:
            return result
        subset = gx.ExpectationSuite(
            name=suite.name, meta=suite.meta,
            expectations=[c for c in suite.expectation_configurations if c.meta.get("name") in again],
        )
        complete = batch.validate(subset, result_format=_RESULT_FORMAT,
                                  expectation_parameters=parameters)
        by_name = {_name(r): r for r in complete.results}
        result.results = [by_name.get(_name(r), r) for r in result.results]
        return result


def _name(result: Any) -> str | None:
    return result.expectation_config.meta.get("name")


def _needs_rows(result: Any) -> bool:
    """A first-pass result whose rows are wanted: it failed (or raised) or found any
    unexpected value (a ``mostly`` expectation may succeed with some)."""
    return not result.success or bool((result.result or {}).get("unexpected_count"))


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
