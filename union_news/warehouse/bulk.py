"""Many rows through one prepared statement, without SQLAlchemy's per-row parameter work.

``conn.execute(stmt, rows)`` runs a Core statement as one DBAPI ``executemany``, but first builds
a parameter dict for every row (``construct_params``) and runs every column's bind processor on
every value: for a load of a thousand metric rows that costs more CPU than SQLite spends
writing them. On SQLite :func:`executemany` compiles the Core statement once per engine, takes
the very bind processors SQLAlchemy would apply (each bound parameter's
``TypeEngine.dialect_impl(dialect).bind_processor``), applies them only to the columns that
have one (a date or datetime once per distinct value: a batch's load time is one value) and
hands the sqlite3 cursor of the connection (its transaction) plain tuples; a driver error comes
out as SQLAlchemy's ``DBAPIError``, as from ``conn.execute``. The SQL (compiled by SQLAlchemy,
bound parameters only), the bound values and so the stored data are the ones
``conn.execute(stmt, rows)`` gives. Other databases (PostgreSQL) take ``conn.execute(stmt,
rows)`` itself: SQLAlchemy's execution handles a dropped connection and psycopg's types there.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

__all__ = ["executemany"]


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    names: tuple[str, ...]  # bound columns, in the order of the statement's ``?``
    processors: tuple[tuple[int, str, Callable[[Any], Any], bool], ...]  # (index, name, fn, memo)


# Per dialect object (one per engine), per caller's statement key and column list.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[Hashable, _Prepared | None]] = (
    weakref.WeakKeyDictionary()
)


def _prepare(conn: Connection, stmt: Any, columns: tuple[str, ...]) -> _Prepared | None:
    dialect = conn.dialect
    if dialect.name != "sqlite":
        return None  # PostgreSQL: SQLAlchemy's execution (reconnect handling, psycopg's types)
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    if compiled.positiontup is None:
        return None
    names = tuple(compiled.positiontup)
    if sorted(names) != sorted(columns) or len(set(names)) != len(names):
        return None  # binds that are not exactly the row's columns: leave it to SQLAlchemy
    processors = []
    for i, name in enumerate(names):
        type_ = compiled.binds[name].type
        fn = type_.dialect_impl(dialect).bind_processor(dialect)
        if fn is not None:
            base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
            memo = isinstance(base, (DateTime, Date))
            processors.append((i, name, fn, memo))
    return _Prepared(compiled.string, names, tuple(processors))


def executemany(
    conn: Connection,
    key: Hashable,
    table: Table,
    make_stmt: Callable[[], Any],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Run ``make_stmt()`` (a Core INSERT/UPDATE/DELETE of ``table`` whose bound parameters are
    the rows' keys, e.g. an ``INSERT ... ON CONFLICT``) once per row, as one ``executemany``.

    ``key`` names the statement for the cache (with the rows' column names); every row has the
    same keys. Statements whose binds are not exactly those columns go through
    ``conn.execute(stmt, rows)``.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    cache = _PREPARED.setdefault(conn.dialect, {})
    cache_key = (key, columns)
    if cache_key not in cache:
        cache[cache_key] = _prepare(conn, make_stmt(), columns)
    prepared = cache[cache_key]
    if prepared is None:
        conn.execute(make_stmt(), list(rows))
        return
    names = prepared.names
    get = itemgetter(*names)
    values = [[get(r)] for r in rows] if len(names) == 1 else [list(get(r)) for r in rows]
    for i, _name, fn, memo in prepared.processors:
        if memo:
            # Dates and datetimes: one call per distinct value. The key holds the tzinfo, as
            # equal instants in two zones compare equal but may be stored differently.
            done: dict[Any, Any] = {}
            for v in values:
                x = v[i]
                try:
                    k = (x, getattr(x, "tzinfo", None))
                    v[i] = done[k] if k in done else done.setdefault(k, fn(x))
                except TypeError:  # unhashable: not a date, let the processor say what it is
                    v[i] = fn(x)
        else:
            for v in values:
                v[i] = fn(v[i])
    params = [tuple(v) for v in values]
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()  # the DBAPI cursor, in the connection's transaction
    try:
        cursor.executemany(prepared.sql, params)
    except dbapi.Error as exc:  # as SQLAlchemy raises it (callers handle SQLAlchemyError)
        raise DBAPIError.instance(
            prepared.sql, None, exc, dbapi.Error, hide_parameters=True, dialect=conn.dialect
        ) from exc
    finally:
        cursor.close()
