"""The warehouse: SQLAlchemy 2 + Alembic, the same code on SQLite and PostgreSQL.

What the load stage guarantees:

- **Idempotent**: every write is an ``INSERT ... ON CONFLICT`` on a natural key; loading the same
  batch twice writes nothing the second time (``LoadStats`` counts it as unchanged).
- **Replace as a whole**: an article whose content hash or extractor version changed has all
  its metric rows deleted and the new ones inserted; an unchanged article is not touched.
- **Atomic**: ``load_batch`` runs in one transaction: raw pages, articles, metric rows,
  quarantine and fetch log commit together or not at all (a crash or a failed statement leaves no
  trace of the batch).
- **Serialised**: loads into one warehouse take turns (``BEGIN IMMEDIATE`` on SQLite, an advisory
  transaction lock per schema on PostgreSQL), so concurrent runs never rebuild a fact from rows
  the other has not committed.
- **Migrated**: ``upgrade()`` runs the Alembic migrations (under a lock, so concurrent flows may
  call it at once).
- **No secrets**: a URL's password never appears in messages (see :class:`WarehouseError`).

Extension hook: :meth:`Warehouse._after_rows` runs inside the load transaction after the metric
rows are written; a derived table (e.g. facts) can be kept current there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from union_news.models import CleanArticle, FetchedPage, FetchFailure, MetricRow, QuarantinedRow
from union_news.secrets import mask_text, mask_url
from union_news.warehouse.bulk import executemany
from union_news.warehouse.schema import (
    TABLES,
    Article,
    FetchLogEntry,
    IngestWindow,
    MetricRowRecord,
    QuarantineEntry,
    RawPage,
    metadata,
)

__all__ = [
    "LoadBatch",
    "LoadStats",
    "PageState",
    "Warehouse",
    "WarehouseError",
    "WindowRecord",
    "article_hash",
    "row_key",
]

log = logging.getLogger(__name__)

WINDOW_STATUSES = ("running", "completed", "failed")
_CHUNK = 500  # parameters per IN (...) list and rows per multi-row INSERT
_LOCK_ID = 0x756E6577  # PostgreSQL advisory lock of the migrations ("unew")
_PAGE_SLICE = 50  # raw pages unpacked and stored at a time
# The newest migration in migrations/versions (tests check it is Alembic's head): a new
# migration changes it too.
HEAD_REVISION = "0002"
_LOAD_LOCK_ID = 0x756E6578  # PostgreSQL advisory lock of the loads, with the schema's hash


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message never holds a URL's password."""


@dataclass(frozen=True, slots=True)
class PageState:
    """What the warehouse knows of a stored page: conditional-GET validators and content hash."""

    etag: str | None
    last_modified: str | None
    content_hash: str | None


@dataclass(slots=True)
class LoadBatch:
    """One batch for :meth:`Warehouse.load_batch` (the flow's unit of work).

    ``retire`` lists article URLs whose stored article and rows must go (reprocessing: a stored
    page that no longer yields an accepted article). ``extractor_version`` defaults to
    ``union_news.extraction.EXTRACTOR_VERSION``.
    """

    pages: list[FetchedPage] = field(default_factory=list)
    articles: list[CleanArticle] = field(default_factory=list)
    rows: list[MetricRow] = field(default_factory=list)
    quarantined: list[QuarantinedRow] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    run_id: str | None = None
    extractor_version: str | None = None
    source: str | None = None
    retire: list[str] = field(default_factory=list)


@dataclass(slots=True)
class LoadStats:
    """What one load changed (``*_unchanged`` counts what was already there as it is)."""

    articles_inserted: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    rows_inserted: int = 0
    rows_deleted: int = 0
    rows_unchanged: int = 0
    quarantined: int = 0
    failures: int = 0
    pages_stored: int = 0
    articles_deleted: int = 0

    def __iadd__(self, other: LoadStats) -> LoadStats:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def changed(self) -> bool:
        return bool(
            self.articles_inserted
            or self.articles_updated
            or self.rows_inserted
            or self.rows_deleted
            or self.quarantined
            or self.failures
            or self.pages_stored
            or self.articles_deleted
        )

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class WindowRecord:
    """The recorded status of one window of one source."""

    source: str
    since: date
    until: date
    status: str
    run_id: str | None
    updated_at: datetime
    summary: dict[str, Any] | None = None

    @property
    def flow_run_id(self) -> str | None:
        """Alias of ``run_id`` (the flow run that recorded the status)."""
        return self.run_id


# --------------------------------------------------------------------------- keys and hashes


# What json.dumps(..., ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))
# writes, without building an encoder per call.
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))
_json_str = encode_basestring  # how that encoder writes a str (the C function json uses)


def _sha(parts: Iterable[Any]) -> str:
    payload = _JSON.encode(list(parts))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def row_key(row: MetricRow) -> str:
    """The metric row's primary key: a digest of ``MetricRow.natural_key()``."""
    key = list(row.natural_key())
    key[-1] = repr(float(key[-1]))  # 1.0 and 1 are the same figure; repr keeps full precision
    if all(isinstance(part, str) for part in key):  # always, for a MetricRow: the JSON directly
        payload = "[" + ",".join(map(_json_str, key)) + "]"
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return _sha(key)


def article_hash(article: CleanArticle) -> str:
    """Digest of everything the cleaner produced (what extraction depends on)."""
    data = article.to_json()
    data["related_links"] = list(article.related_links)
    return _sha([data])


def text_hash(value: str | None) -> str:
    return hashlib.sha256((value or "").encode("utf-8")).hexdigest()


def _body_and_hash(page: FetchedPage, utf8: bool = False) -> tuple[str | bytes | None, str | None]:
    """``page.body()`` and its :func:`text_hash`, the body as UTF-8 bytes when ``utf8`` allows.

    A packed body (``FetchedPage.pack``: ``text.encode("utf-8", "surrogatepass")``) holds the
    very bytes ``text_hash`` hashes unless the text had a lone surrogate (bytes ``ED A0``..
    ``ED BF``, which ``text_hash`` refuses as before): without an ``ED`` byte it is hashed as it
    unpacks and, with ``utf8``, stored without decoding and encoding it again.
    """
    if page.text is None and page.packed is not None:
        raw = zlib.decompress(page.packed)
        if b"\xed" not in raw:
            return (raw if utf8 else raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()
        text = raw.decode("utf-8", "surrogatepass")
        return text, text_hash(text)
    text = page.body()
    return text, None if text is None else text_hash(text)


def _quarantine_key(q: QuarantinedRow) -> str:
    return _sha([q.kind, q.suite, q.expectation, q.reason, q.article_url, q.row])


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _aware(value: datetime) -> datetime:
    """A time as the UTCDateTime columns return it (naive means UTC), to microseconds."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(value: datetime | None) -> datetime | None:
    """Wall-clock publication time: the page's own clock, tz dropped without conversion."""
    return value.replace(tzinfo=None) if value is not None and value.tzinfo else value


# --------------------------------------------------------------------------- the warehouse


class Warehouse:
    """A warehouse at a SQLAlchemy URL (``sqlite:///file.db``, ``postgresql+psycopg://...``).

    The engine is created on first use; the object pickles as its URL (Prefect may hash task
    inputs) and its ``repr`` masks the password.
    """

    def __init__(self, url: str):
        if not url:
            raise WarehouseError("no warehouse URL given")
        self.url = url
        self._engine: Engine | None = None

    # -- plumbing

    def __repr__(self) -> str:
        return f"Warehouse({mask_url(self.url)!r})"

    def __reduce__(self):
        return (type(self), (self.url,))

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        try:
            if self.url.startswith("sqlite"):
                engine = create_engine(self.url, connect_args={"timeout": 30})
                _sqlite_setup(engine)
            else:
                engine = create_engine(self.url, pool_pre_ping=True)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise WarehouseError(
                f"invalid warehouse URL {mask_url(self.url)}: {mask_text(str(exc))}"
            ) from None
        return engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    @contextmanager
    def _tx(self, what: str, write: bool = True) -> Iterator[Connection]:
        """One transaction; errors come out as :class:`WarehouseError` with secrets masked."""
        try:
            conn_cm = self.engine.connect()
            with conn_cm as conn:
                if write:
                    conn = conn.execution_options(union_news_write=True)
                with conn.begin():
                    yield conn
        except WarehouseError:
            raise
        except SQLAlchemyError as exc:
            message = f"{what} failed on {self.masked_url}: {_short(exc)}"
            raise WarehouseError(message) from _scrubbed(exc, self.url)

    # -- migrations

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (Alembic); safe to call from concurrent runs.

        A warehouse already at :data:`HEAD_REVISION` is not handed to Alembic: every run calls
        this, and importing Alembic and walking its scripts costs a third of a second."""
        if revision == "head" and self._at_head():
            return
        from alembic import command

        from union_news.warehouse.migrations import alembic_config

        with self._tx("migration") as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)

    def _at_head(self) -> bool:
        """Whether the schema is at :data:`HEAD_REVISION`, read without Alembic."""
        from sqlalchemy import inspect

        with self._tx("reading the schema revision", write=False) as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            version = Table("alembic_version", MetaData(), Column("version_num", String(32)))
            return conn.execute(select(version.c.version_num)).scalars().all() == [HEAD_REVISION]

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self._tx("reading the schema revision", write=False) as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        from alembic.script import ScriptDirectory

        from union_news.warehouse.migrations import alembic_config

        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    def table_counts(self) -> dict[str, int | None]:
        """Rows per warehouse table (``None`` for a table that does not exist yet)."""
        from sqlalchemy import inspect

        out: dict[str, int | None] = {}
        with self._tx("counting rows", write=False) as conn:
            present = set(inspect(conn).get_table_names())
            for name in TABLES:
                table = metadata.tables[name]
                out[name] = (
                    conn.execute(select(func.count()).select_from(table)).scalar_one()
                    if name in present
                    else None
                )
        return out

    # -- reads used by the flow

    def known_pages(self, urls: Iterable[str]) -> dict[str, PageState]:
        """Stored pages among ``urls``: their validators for a conditional GET."""
        wanted = sorted(set(urls))
        out: dict[str, PageState] = {}
        if not wanted:
            return out
        t = RawPage.__table__
        with self._tx("reading known pages", write=False) as conn:
            for part in _chunks(wanted):
                for r in conn.execute(
                    select(t.c.url, t.c.etag, t.c.last_modified, t.c.content_hash).where(
                        t.c.url.in_(part)
                    )
                ):
                    out[r.url] = PageState(r.etag, r.last_modified, r.content_hash)
        return out

    def failed_urls(self, source: str | None = None) -> list[str]:
        """URLs whose last fetch failed and that have not been fetched OK since."""
        t = FetchLogEntry.__table__
        query = select(t.c.url).where(t.c.resolved.is_(False)).order_by(t.c.url)
        if source is not None:
            query = query.where(t.c.source == source)
        with self._tx("reading the fetch log", write=False) as conn:
            return list(conn.execute(query).scalars())

    def fetch_log(self, source: str | None = None) -> list[dict[str, Any]]:
        t = FetchLogEntry.__table__
        query = select(t).order_by(t.c.url)
        if source is not None:
            query = query.where(t.c.source == source)
        with self._tx("reading the fetch log", write=False) as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def stored_pages(
        self, since: date | None = None, until: date | None = None, source: str | None = None
    ) -> Iterator[FetchedPage]:
        """Stored raw pages, for reprocessing without the network.

        With ``since``/``until`` only pages whose stored article was published in the window
        (both days included); without bounds every stored page. Read eagerly in one
        transaction, yielded in URL order.
        """
        p, a = RawPage.__table__, Article.__table__
        query = select(p).order_by(p.c.url)
        if since is not None or until is not None:
            query = query.join(a, a.c.url == p.c.url)
            if since is not None:
                query = query.where(a.c.published >= datetime.combine(since, datetime.min.time()))
            if until is not None:
                end = datetime.combine(until + timedelta(days=1), datetime.min.time())
                query = query.where(a.c.published < end)
        if source is not None:
            query = query.where(p.c.source == source)
        with self._tx("reading stored pages", write=False) as conn:
            records = list(conn.execute(query))
        for r in records:
            yield FetchedPage(
                url=r.url,
                final_url=r.final_url,
                status=r.status,
                text=r.text,
                content_type=r.content_type or "text/html",
                encoding=r.encoding,
                etag=r.etag,
                last_modified=r.last_modified,
                fetched_at=r.fetched_at,
                source=r.source,
            )

    # -- windows

    def record_window(
        self,
        source: str,
        since: date,
        until: date,
        status: str,
        run_id: str | None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        """Record (insert or overwrite) the status of one window of one source."""
        if status not in WINDOW_STATUSES:
            raise ValueError(f"window status must be one of {', '.join(WINDOW_STATUSES)}")
        values = {
            "source": source,
            "since": since,
            "until": until,
            "status": status,
            "run_id": run_id,
            "summary": _jsonable(summary) if summary is not None else None,
            "updated_at": _now(),
        }
        with self._tx("recording a window") as conn:
            stmt = self._insert(conn, IngestWindow)
            stmt = stmt.on_conflict_do_update(
                index_elements=["source", "since", "until"],
                set_={k: stmt.excluded[k] for k in ("status", "run_id", "summary", "updated_at")},
            )
            conn.execute(stmt, [values])

    def windows(self, source: str | None = None) -> list[WindowRecord]:
        """Recorded windows (of one source, or all), oldest first."""
        t = IngestWindow.__table__
        query = select(t).order_by(t.c.source, t.c.since, t.c.until)
        if source is not None:
            query = query.where(t.c.source == source)
        with self._tx("reading windows", write=False) as conn:
            return [
                WindowRecord(
                    r.source, r.since, r.until, r.status, r.run_id, r.updated_at, r.summary
                )
                for r in conn.execute(query)
            ]

    # -- query helpers (tests, reports)

    def metric_rows(
        self,
        article_url: str | None = None,
        metric: str | None = None,
        organization: str | None = None,
    ) -> list[dict[str, Any]]:
        """Metric rows as dicts, in natural-key order."""
        t = MetricRowRecord.__table__
        query = select(t).order_by(
            t.c.article_url, t.c.metric, t.c.organization, t.c.detail, t.c.period, t.c.value
        )
        for column, value in (
            ("article_url", article_url),
            ("metric", metric),
            ("organization", organization),
        ):
            if value is not None:
                query = query.where(t.c[column] == value)
        with self._tx("reading metric rows", write=False) as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def articles(self) -> list[dict[str, Any]]:
        t = Article.__table__
        with self._tx("reading articles", write=False) as conn:
            return [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.url))]

    def quarantine(self, article_url: str | None = None) -> list[dict[str, Any]]:
        t = QuarantineEntry.__table__
        query = select(t).order_by(t.c.article_url, t.c.kind, t.c.entry_key)
        if article_url is not None:
            query = query.where(t.c.article_url == article_url)
        with self._tx("reading the quarantine", write=False) as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def snapshot(self, lineage: bool = False, ignore: Iterable[str] = ()) -> dict[str, list[tuple]]:
        """Every table's rows as sorted tuples, for comparing two warehouses or two moments
        (the warehouse's tables and any derived table registered on the same metadata).

        Without ``lineage`` the columns that differ between two equal loads (load and update
        times, run ids) are left out; columns named in ``ignore`` always are."""
        volatile = set(ignore)
        if not lineage:
            volatile |= {
                "loaded_at",
                "stored_at",
                "updated_at",
                "resolved_at",
                "flow_run_id",
                "run_id",
                "at",
            }
        from sqlalchemy import inspect

        out: dict[str, list[tuple]] = {}
        with self._tx("reading a snapshot", write=False) as conn:
            present = set(inspect(conn).get_table_names())
            names = [*TABLES, *sorted(n for n in metadata.tables if n not in TABLES)]
            for name in (n for n in names if n in present):
                table = metadata.tables[name]
                cols = [c for c in table.c if c.name not in volatile]
                rows = conn.execute(select(*cols)).all()
                out[name] = sorted(
                    (
                        tuple(
                            json.dumps(v, sort_keys=True, ensure_ascii=False)
                            if isinstance(v, (dict, list))
                            else v
                            for v in r
                        )
                        for r in rows
                    ),
                    key=repr,
                )
        return out

    # -- the load

    def load_batch(self, batch: LoadBatch) -> LoadStats:
        """Load one batch in one transaction (see the module docstring for the guarantees)."""
        from union_news.extraction import EXTRACTOR_VERSION

        version = batch.extractor_version or EXTRACTOR_VERSION
        stats = LoadStats()
        with self._tx("loading a batch") as conn:
            self._lock_loads(conn)
            now = _now()
            self._store_pages(conn, batch, stats, now)
            affected: set[tuple[Any, ...]] = set()
            rows, orphans = _rows_by_article(batch)
            self._retire(conn, batch, stats, affected)
            self._store_articles(conn, batch, rows, version, stats, affected, now)
            quarantined = list(batch.quarantined) + orphans
            self._store_quarantine(conn, batch, quarantined, stats, now)
            self._store_failures(conn, batch, stats, now)
            self._after_rows(conn, affected)
        log.debug("loaded batch into %s: %s", self.masked_url, stats)
        return stats

    @staticmethod
    def _lock_loads(conn: Connection) -> None:
        """One load at a time per warehouse (PostgreSQL schema), held until the transaction ends.

        Two loads at once would otherwise rebuild a shared fact each from the rows it sees,
        without the other's uncommitted rows, and the second insert of that fact fails with a
        unique violation (or, after a delete, leaves a fact missing the other load's mentions).
        SQLite needs nothing: writes begin with ``BEGIN IMMEDIATE`` and so already wait.
        """
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:id, hashtext(current_schema()))"),
                {"id": _LOAD_LOCK_ID},
            )

    def _after_rows(self, conn: Connection, affected_keys: set[tuple[Any, ...]]) -> None:
        """Hook: runs inside ``load_batch``'s transaction after the metric rows are written.

        ``affected_keys`` holds ``(organization, metric, period, detail)`` of every metric row
        inserted or deleted by this batch (empty when nothing changed). A derived table (the
        facts of issue 9) can rebuild exactly those keys here with ``conn``; whatever it writes
        commits or rolls back with the batch. It rebuilds the facts of those keys
        (``union_news.facts.refresh_facts``).
        """
        if affected_keys:
            from union_news.facts import refresh_facts

            refresh_facts(conn, affected_keys)

    # -- load steps (all inside the batch transaction)

    def _insert(self, conn: Connection, model: type) -> Any:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            raise WarehouseError(
                f"unsupported database {conn.dialect.name!r}: use SQLite or PostgreSQL"
            )
        return insert(model.__table__)

    def _upsert(
        self,
        conn: Connection,
        model: type,
        key: str,
        rows: list[dict[str, Any]],
        update: bool,
        utf8_text: bool = False,
    ) -> None:
        """``INSERT ... ON CONFLICT (key)`` of ``rows`` (all with the same columns): ``DO UPDATE``
        every other column (``update``) or ``DO NOTHING``; one prepared ``executemany``.
        ``utf8_text``: the ``text`` column's values may be UTF-8 bytes (``CAST(? AS TEXT)``)."""
        table = model.__table__

        def statement() -> Any:
            stmt = self._insert(conn, model)
            if utf8_text:
                stmt = stmt.values(text=cast(bindparam("text", type_=Text), Text))
            if not update:
                return stmt.on_conflict_do_nothing(index_elements=[key])
            return stmt.on_conflict_do_update(
                index_elements=[key], set_={c: stmt.excluded[c] for c in rows[0] if c != key}
            )

        executemany(conn, ("upsert", table.name, key, update, utf8_text), table, statement, rows)

    def _existing(
        self, conn: Connection, column: Any, keys: Iterable[Any], *extra: Any
    ) -> list[Any]:
        out: list[Any] = []
        wanted = sorted(set(keys))
        for part in _chunks(wanted):
            out.extend(conn.execute(select(column, *extra).where(column.in_(part))).all())
        return out

    def _store_pages(
        self, conn: Connection, batch: LoadBatch, stats: LoadStats, now: datetime
    ) -> None:
        """Raw pages of the batch (the last copy of each URL), new or changed ones upserted in
        URL order. Bodies are unpacked :data:`_PAGE_SLICE` pages at a time, so a batch never
        holds all its pages' text at once (bounded memory whatever the batch size)."""
        latest: dict[str, FetchedPage] = {}
        for page in batch.pages:
            if not page.not_modified and (page.text is not None or page.packed is not None):
                latest[page.url] = page
        if not latest:
            return
        # SQLite stores a packed body's UTF-8 bytes as they unpack (CAST(? AS TEXT): the same
        # TEXT value as binding the decoded str, which sqlite3 would encode back to UTF-8).
        utf8 = conn.dialect.name == "sqlite"
        t = RawPage.__table__
        compared = (
            "final_url",
            "status",
            "content_type",
            "encoding",
            "etag",
            "last_modified",
            "content_hash",
        )
        seen: set[str] = set()
        for part in _chunks(sorted(latest), _PAGE_SLICE):
            pages: dict[str, dict[str, Any]] = {}
            for url in part:
                page = latest[url]
                text, digest = _body_and_hash(page, utf8)
                pages[url] = {
                    "url": url,
                    "final_url": page.final_url or url,
                    "source": page.source or batch.source,
                    "status": page.status,
                    "content_type": page.content_type,
                    "encoding": page.encoding,
                    "etag": page.etag,
                    "last_modified": page.last_modified,
                    "text": text,
                    "content_hash": digest,
                    "fetched_at": page.fetched_at,
                    "stored_at": now,
                }
            stored = {
                r.url: r
                for r in self._existing(conn, t.c.url, pages, *(t.c[c] for c in compared))
            }
            changed = [
                v
                for url, v in pages.items()
                if url not in stored or any(getattr(stored[url], c) != v[c] for c in compared)
            ]
            if changed:
                self._upsert(conn, RawPage, "url", changed, update=True, utf8_text=utf8)
            stats.pages_stored += len(changed)
            seen.update(pages)
            seen.update(v["final_url"] for v in pages.values())
        # A page that came back resolves its earlier fetch failures (under both URLs).
        self._resolve_failures(conn, seen, now)

    def _resolve_failures(self, conn: Connection, urls: Iterable[str], now: datetime) -> None:
        t = FetchLogEntry.__table__
        for part in _chunks(sorted(set(urls))):
            conn.execute(
                update(t)
                .where(t.c.url.in_(part), t.c.resolved.is_(False))
                .values(resolved=True, resolved_at=now)
            )

    def _retire(
        self, conn: Connection, batch: LoadBatch, stats: LoadStats, affected: set[tuple[Any, ...]]
    ) -> None:
        if not batch.retire:
            return
        keep = {a.url for a in batch.articles}
        urls = sorted(set(batch.retire) - keep)
        a, r = Article.__table__, MetricRowRecord.__table__
        for part in _chunks(urls):
            for row in conn.execute(
                select(r.c.organization, r.c.metric, r.c.period, r.c.detail).where(
                    r.c.article_url.in_(part)
                )
            ):
                affected.add(tuple(row))
            stats.rows_deleted += conn.execute(delete(r).where(r.c.article_url.in_(part))).rowcount
            stats.articles_deleted += conn.execute(delete(a).where(a.c.url.in_(part))).rowcount

    def _store_articles(
        self,
        conn: Connection,
        batch: LoadBatch,
        rows: dict[str, dict[str, MetricRow]],
        version: str,
        stats: LoadStats,
        affected: set[tuple[Any, ...]],
        now: datetime,
    ) -> None:
        articles: dict[str, CleanArticle] = {}
        for article in batch.articles:
            articles.setdefault(article.url, article)  # the first of two equal URLs wins
        if not articles:
            return
        a, r = Article.__table__, MetricRowRecord.__table__
        stored = {
            x.url: x
            for x in self._existing(
                conn, a.c.url, articles, a.c.content_hash, a.c.extractor_version
            )
        }
        fetched = {p.url: p.fetched_at for p in batch.pages if p.fetched_at is not None}
        missing = [u for u in articles if u not in fetched]
        if missing:  # reprocessing: the fetch time is the stored page's
            p = RawPage.__table__
            fetched.update(
                (x.url, x.fetched_at)
                for x in self._existing(conn, p.c.url, missing, p.c.fetched_at)
            )
        sources = {u: a.source or batch.source for u, a in articles.items()}
        new_values: list[dict[str, Any]] = []
        replace: list[str] = []
        compare: list[str] = []
        for url, article in sorted(articles.items()):
            digest = article_hash(article)
            old = stored.get(url)
            if old is not None and old.content_hash == digest and old.extractor_version == version:
                stats.articles_unchanged += 1
                compare.append(url)
                continue
            if old is None:
                stats.articles_inserted += 1
            else:
                stats.articles_updated += 1
                replace.append(url)
            new_values.append(
                {
                    "url": url,
                    "canonical_url": article.canonical_url,
                    "source": article.source or batch.source,
                    "title": article.title,
                    "author": article.author,
                    "published": _naive(article.published),
                    "fetched_at": fetched.get(url),
                    "content_hash": digest,
                    "extractor_version": version,
                    "clean_text": article.clean_text,
                    "captions": list(article.captions),
                    "related_titles": list(article.related_titles),
                    "related_links": list(article.related_links),
                    "flow_run_id": batch.run_id,
                    "loaded_at": now,
                }
            )
        if new_values:
            self._upsert(conn, Article, "url", new_values, update=True)

        to_insert: list[dict[str, Any]] = []
        # Changed articles: every stored row goes, every new row comes.
        for part in _chunks(replace):
            for row in conn.execute(
                select(r.c.organization, r.c.metric, r.c.period, r.c.detail).where(
                    r.c.article_url.in_(part)
                )
            ):
                affected.add(tuple(row))
            stats.rows_deleted += conn.execute(delete(r).where(r.c.article_url.in_(part))).rowcount
        new_urls = {v["url"] for v in new_values}
        for url in sorted(new_urls):
            to_insert.extend(
                _row_values(k, m, batch, version, now, sources[url])
                for k, m in rows.get(url, {}).items()
            )
        # Unchanged articles: normally nothing to do; rows that differ (another validation
        # outcome) are put right key by key.
        if compare:
            present: dict[str, set[str]] = {u: set() for u in compare}
            for x in self._existing(conn, r.c.article_url, compare, r.c.row_key):
                present[x.article_url].add(x.row_key)
            stale: list[str] = []
            for url in compare:
                wanted = rows.get(url, {})
                stats.rows_unchanged += len(present[url] & set(wanted))
                stale.extend(sorted(present[url] - set(wanted)))
                to_insert.extend(
                    _row_values(k, m, batch, version, now, sources[url])
                    for k, m in wanted.items()
                    if k not in present[url]
                )
            for part in _chunks(stale):
                for row in conn.execute(
                    select(r.c.organization, r.c.metric, r.c.period, r.c.detail).where(
                        r.c.row_key.in_(part)
                    )
                ):
                    affected.add(tuple(row))
                stats.rows_deleted += conn.execute(delete(r).where(r.c.row_key.in_(part))).rowcount
        if to_insert:
            self._upsert(conn, MetricRowRecord, "row_key", to_insert, update=False)
            stats.rows_inserted += len(to_insert)
            affected.update(
                (v["organization"], v["metric"], v["period"], v["detail"]) for v in to_insert
            )
        # A replaced article's old quarantine entries are stale too.
        if replace:
            q = QuarantineEntry.__table__
            for part in _chunks(replace):
                conn.execute(
                    delete(q).where(q.c.article_url.in_(part), q.c.kind.in_(("metric", "article")))
                )

    def _store_quarantine(
        self,
        conn: Connection,
        batch: LoadBatch,
        quarantined: list[QuarantinedRow],
        stats: LoadStats,
        now: datetime,
    ) -> None:
        if not quarantined:
            return
        values: dict[str, dict[str, Any]] = {}
        for q in quarantined:
            key = _quarantine_key(q)
            values.setdefault(
                key,
                {
                    "entry_key": key,
                    "kind": q.kind,
                    "suite": q.suite,
                    "expectation": q.expectation,
                    "reason": mask_text(q.reason),
                    "row": _jsonable(q.row),
                    "article_url": q.article_url,
                    "source": batch.source,
                    "flow_run_id": batch.run_id,
                    "at": now,
                },
            )
        t = QuarantineEntry.__table__
        present = {x.entry_key for x in self._existing(conn, t.c.entry_key, values)}
        fresh = [v for k, v in sorted(values.items()) if k not in present]
        if fresh:
            self._upsert(conn, QuarantineEntry, "entry_key", fresh, update=False)
        stats.quarantined += len(fresh)

    def _store_failures(
        self, conn: Connection, batch: LoadBatch, stats: LoadStats, now: datetime
    ) -> None:
        if not batch.failures:
            return
        values: dict[str, dict[str, Any]] = {}
        for f in batch.failures:
            values[f.url] = {  # the last failure of a URL in the batch wins
                "url": f.url,
                "source": f.source or batch.source,
                "error": f.error,
                "status": f.status,
                "attempts": f.attempts,
                "detail": mask_text(f.detail) if f.detail else None,
                "at": f.at or now,
                "resolved": False,
                "resolved_at": None,
                "flow_run_id": batch.run_id,
            }
        t = FetchLogEntry.__table__
        compared = ("source", "error", "status", "attempts", "detail", "resolved")
        stored = {
            x.url: x
            for x in self._existing(conn, t.c.url, values, t.c.at, *(t.c[c] for c in compared))
        }
        given = {f.url for f in batch.failures if f.at is not None}
        changed = [
            v
            for url, v in sorted(values.items())
            if url not in stored
            or any(getattr(stored[url], c) != v[c] for c in compared)
            or (url in given and stored[url].at != _aware(v["at"]))
        ]
        if changed:
            self._upsert(conn, FetchLogEntry, "url", changed, update=True)
        stats.failures += len(changed)


# --------------------------------------------------------------------------- helpers


def _rows_by_article(
    batch: LoadBatch,
) -> tuple[dict[str, dict[str, MetricRow]], list[QuarantinedRow]]:
    """Rows grouped by article and keyed by ``row_key`` (a repeated key keeps its first row);
    rows whose article is not in the batch are quarantined instead of failing the batch."""
    urls = {a.url for a in batch.articles}
    out: dict[str, dict[str, MetricRow]] = {}
    orphans: list[QuarantinedRow] = []
    for row in batch.rows:
        if row.article_url not in urls:
            orphans.append(
                QuarantinedRow(
                    kind="metric",
                    suite="load",
                    expectation="article_loaded",
                    reason="the row's article is not in the batch (held back or quarantined)",
                    row=row.to_json(),
                    article_url=row.article_url,
                )
            )
            continue
        out.setdefault(row.article_url, {}).setdefault(row_key(row), row)
    return out, orphans


def _row_values(
    key: str, row: MetricRow, batch: LoadBatch, version: str, now: datetime, source: str | None
) -> dict[str, Any]:
    return {
        "row_key": key,
        "article_url": row.article_url,
        "metric": row.metric,
        "value": float(row.value),
        "qualifier": row.qualifier,
        "target": None if row.target is None else float(row.target),
        "achievement_pct": None if row.achievement_pct is None else float(row.achievement_pct),
        "organization": row.organization,
        "detail": row.detail,
        "period": row.period,
        "unit": row.unit,
        "evidence": row.evidence,
        "evidence_start": row.evidence_start,
        "evidence_end": row.evidence_end,
        "source": source,
        "flow_run_id": batch.run_id,
        "extractor_version": version,
        "loaded_at": now,
    }


def _sqlite_setup(engine: Engine) -> None:
    """WAL, a busy timeout and foreign keys on every connection; writes take the lock up front
    (``BEGIN IMMEDIATE``) so two loads wait for each other instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.execute("PRAGMA foreign_keys = ON")
            if _is_file(engine):
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("union_news_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _is_file(engine: Engine) -> bool:
    db = engine.url.database
    return bool(db) and db != ":memory:" and not db.startswith("file::memory:")


def _short(exc: BaseException) -> str:
    """The first line of a database error (no SQL, no parameters), masked."""
    orig = getattr(exc, "orig", None)
    message = str(orig) if orig is not None else str(exc)
    first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return mask_text(f"{type(orig or exc).__name__}: {first}")


def _scrubbed(exc: BaseException, url: str) -> BaseException | None:
    """Keep the original error as the cause unless its text holds the URL's password."""
    from sqlalchemy.engine import make_url

    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001 - an unparsable URL: drop the cause to be safe
        return None
    if not password:
        return exc
    seen: BaseException | None = exc
    while seen is not None:
        if str(password) in str(seen) or str(password) in repr(seen):
            return None
        seen = seen.__cause__ or seen.__context__
    return exc
