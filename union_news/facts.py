"""From mentions to facts: one trustworthy figure per (organization, metric, period, detail).

The warehouse's metric table holds one row per *mention*: the same figure reported by a congress
report, a year-end review and a cluster survey is three rows. A **fact** is the figure chosen for
one key ``(organization, metric, period, detail)`` from all of its mentions, with the rule that
chose it, the mentions that support it and those that disagree with it.

Rounding tolerance (what "agree" means)
---------------------------------------
Every mention stands for an interval of true values; two mentions *agree* when their intervals
overlap, and *conflict* when they do not.

================================  ===================================  ========================
mention                           interval                             example
================================  ===================================  ========================
exact, precise                    ``[v, v]``                           ``7.512`` -> 7512..7512
exact, round (|v| >= 1000 and at  ``v ± min(unit/2, 5 % of |v|)``      ``7.500`` -> 7450..7550
least two trailing zeros)         (``unit``: place of the last
                                  non-zero digit, 100 for 7.500)
``over`` (trên, hơn), at_least    ``[v, v + s]``                       ``trên 7.500`` ->
(… trở lên)                                                            7500..8250
``nearly`` (gần)                  ``[v - s, v]``                       ``gần 300`` -> 270..300
``about`` (khoảng, xấp xỉ)        ``[v - s, v + s]``                   ``khoảng 50`` -> 45..55
================================  ===================================  ========================

with ``s = max(10 % of |v|, 1)`` (``QUALIFIED_SHARE``). Small round numbers (``300 CĐCS``) are
taken as written: journalists who round a small count say so (``gần 300``).

Choosing the value (``Fact.rule``)
----------------------------------
1. ``only_mention``: a single mention.
2. ``same_value``: every mention gives the same value with the same qualifier.
3. The *anchor* is the mention of the most recent article (published, then article URL, for a
   stable order); among the mentions that agree with the anchor, the one with the narrowest
   interval wins: ``most_precise`` when it is narrower than the anchor (``trên 7.500`` in a new
   article, ``7.512`` in an older one -> 7512), else ``most_recent`` (the anchor itself).

Mentions that agree with the chosen one *support* the fact (``mentions``, ``article_urls``).
A mention of *another* article that agrees with no figure of the chosen article is a
**conflict** (``Fact.conflicts``). Different values for one key inside a single article are not
a conflict: the catalog keeps one row per figure and merges an article's repeats, so two values
there are two parts (``12 giải thể thao và 8 hội diễn``), set aside in ``Fact.parts``; the
larger one stands for the article.

Pure logic: no I/O. The database side is :func:`refresh_facts` / :func:`count_conflicts`
(SQLAlchemy Core on the warehouse tables, imported inside the functions).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, func, insert, or_, select, tuple_

ROUND_MIN = 1000  # an exact figure below this is never read as rounded
ROUND_MIN_UNIT = 100  # ... nor one with fewer than two trailing zeros
ROUND_SHARE = 0.05  # an exact round figure stands for at most ±5 % around it
QUALIFIED_SHARE = 0.10  # trên/gần/khoảng/trở lên: the true value is within 10 % of the figure

RULE_ONLY = "only_mention"
RULE_SAME = "same_value"
RULE_PRECISE = "most_precise"
RULE_RECENT = "most_recent"
RULES = (RULE_ONLY, RULE_SAME, RULE_PRECISE, RULE_RECENT)

FactKey = tuple[str, str, str, str]  # (organization, metric, period, detail); None stored as ""


def fact_key(
    organization: str | None, metric: str, period: str | None, detail: str | None
) -> FactKey:
    """The key of a fact: ``None`` parts become ``""`` so keys compare and index simply."""
    return (organization or "", metric, period or "", detail or "")


@dataclass(frozen=True, slots=True)
class Mention:
    """One metric row as the fact logic sees it."""

    value: float
    article_url: str
    qualifier: str = "exact"
    published: datetime | None = None
    target: float | None = None
    achievement_pct: float | None = None
    unit: str | None = None
    evidence: str = ""
    row_key: str | None = None  # metric_rows.row_key


@dataclass(slots=True)
class Fact:
    """The chosen figure of one key, why, and who supports or contradicts it."""

    key: FactKey
    value: float
    qualifier: str
    rule: str
    chosen: Mention
    supporting: list[Mention] = field(default_factory=list)  # most recent first
    conflicts: list[Mention] = field(default_factory=list)  # most recent first
    parts: list[Mention] = field(default_factory=list)  # neither: other figures of one article

    @property
    def mentions(self) -> int:
        return len(self.supporting)

    @property
    def article_urls(self) -> list[str]:
        """Distinct URLs of the supporting articles, most recent first."""
        return list(dict.fromkeys(m.article_url for m in self.supporting))

    @property
    def conflict_urls(self) -> list[str]:
        return list(dict.fromkeys(m.article_url for m in self.conflicts))

    @property
    def has_conflict(self) -> bool:
        return bool(self.conflicts)


@lru_cache(maxsize=65536)
def rounding_unit(value: float) -> float:
    """Place value of the last non-zero digit: 7500 -> 100, 7512 -> 1, 91.66 -> 0.01, 0 -> 1."""
    if value == 0 or not math.isfinite(value):
        return 1.0
    exponent = Decimal(repr(abs(float(value)))).normalize().as_tuple().exponent
    return float(Decimal(1).scaleb(int(exponent)))


def is_round(value: float) -> bool:
    """An exact figure that may well be rounded: ``7.500``, ``1,8 tỷ``; not ``300`` or ``7.512``."""
    return abs(value) >= ROUND_MIN and rounding_unit(value) >= ROUND_MIN_UNIT


@lru_cache(maxsize=65536)
def interval(value: float, qualifier: str = "exact") -> tuple[float, float]:
    """The true values a mention is compatible with (see the module's tolerance table)."""
    v = float(value)
    slack = max(QUALIFIED_SHARE * abs(v), 1.0)
    if qualifier in ("over", "at_least"):
        return (v, v + slack)
    if qualifier == "nearly":
        return (v - slack, v)
    if qualifier == "about":
        return (v - slack, v + slack)
    if is_round(v):
        half = min(rounding_unit(v) / 2, ROUND_SHARE * abs(v))
        return (v - half, v + half)
    return (v, v)


def mention_interval(m: Mention) -> tuple[float, float]:
    return interval(m.value, m.qualifier)


def agree(a: Mention, b: Mention) -> bool:
    """True when the two mentions can describe the same true figure (intervals overlap)."""
    lo_a, hi_a = mention_interval(a)
    lo_b, hi_b = mention_interval(b)
    eps = 1e-9 * max(1.0, abs(a.value), abs(b.value))
    return lo_a <= hi_b + eps and lo_b <= hi_a + eps


def width(m: Mention) -> float:
    lo, hi = mention_interval(m)
    return hi - lo


def _recency(m: Mention) -> tuple[Any, ...]:
    """Sort key, larger = more recent; undated articles count as oldest, URL breaks ties."""
    published = m.published
    if published is not None and published.tzinfo is not None:
        published = published.replace(tzinfo=None) - (published.utcoffset() or _ZERO)
    return (published is not None, published or datetime.min, m.article_url, m.value)


_ZERO = datetime(2000, 1, 1) - datetime(2000, 1, 1)


def choose(key: FactKey, mentions: Sequence[Mention]) -> Fact:
    """Choose the fact of one key from its mentions (at least one)."""
    if not mentions:
        raise ValueError(f"no mentions for {key!r}")
    if len(mentions) == 1:  # most keys: no order to find
        anchor = mentions[0]
        return Fact(key, anchor.value, anchor.qualifier, RULE_ONLY, anchor, [anchor], [])
    ordered = sorted(mentions, key=_recency, reverse=True)
    anchor = ordered[0]
    if len(ordered) == 1:
        return Fact(key, anchor.value, anchor.qualifier, RULE_ONLY, anchor, [anchor], [])
    if all(m.value == anchor.value and m.qualifier == anchor.qualifier for m in ordered):
        return Fact(key, anchor.value, anchor.qualifier, RULE_SAME, anchor, list(ordered), [])
    compatible = [m for m in ordered if agree(m, anchor)]
    # narrowest interval wins; ties go to the most recent (stable sort keeps recency order)
    chosen = min(compatible, key=width)
    rule = RULE_PRECISE if width(chosen) < width(anchor) else RULE_RECENT
    own = [m for m in ordered if m.article_url == chosen.article_url]
    supporting, conflicts, parts = [], [], []
    for m in ordered:
        if agree(m, chosen):
            supporting.append(m)
        elif m.article_url == chosen.article_url or any(agree(m, x) for x in own):
            parts.append(m)
        else:
            conflicts.append(m)
    return Fact(key, chosen.value, chosen.qualifier, rule, chosen, supporting, conflicts, parts)


def build_facts(mentions: Iterable[tuple[FactKey, Mention]]) -> dict[FactKey, Fact]:
    """Group ``(key, mention)`` pairs by key and choose each key's fact."""
    groups: dict[FactKey, list[Mention]] = {}
    for key, mention in mentions:
        groups.setdefault(key, []).append(mention)
    return {key: choose(key, group) for key, group in groups.items()}


@lru_cache(maxsize=4096)
def period_bounds(period: str | None) -> tuple[date | None, date | None]:
    """First and last day a period covers: ``2020``, ``2018-2023``, ``2024-03``, ``2022-11-15``.

    Unknown forms give ``(None, None)``; reports then date the fact by its article.
    """
    if not period:
        return (None, None)
    text = period.strip()
    m = _PERIOD_YEARS.fullmatch(text)
    if m:
        first, last = int(m["a"]), int(m["b"] or m["a"])
        return (date(min(first, last), 1, 1), date(max(first, last), 12, 31))
    m = _PERIOD_MONTH.fullmatch(text)
    if m:
        year, month = int(m["y"]), int(m["m"])
        if 1 <= month <= 12:
            nxt = date(year + (month == 12), month % 12 + 1, 1)
            return (date(year, month, 1), date.fromordinal(nxt.toordinal() - 1))
        return (None, None)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return (None, None)
    return (day, day)


_PERIOD_YEARS = re.compile(r"(?P<a>\d{4})(?:\s*[-–]\s*(?P<b>\d{4}))?")
_PERIOD_MONTH = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})")


# --- database side -------------------------------------------------------------------------

_CHUNK = 200  # keys per IN (...) list: 4 bound values each, far below every backend's limit


@dataclass(slots=True)
class RefreshStats:
    """What one :func:`refresh_facts` call did."""

    keys: int = 0  # keys asked for
    facts: int = 0  # facts written (keys that still have mentions)
    removed: int = 0  # keys whose last mention is gone
    conflicts: int = 0  # facts written with at least one conflicting mention
    conflicting_mentions: int = 0


def as_key(item: Any) -> FactKey:
    """A key from a 4-tuple ``(organization, metric, period, detail)``, a mapping or a row."""
    if isinstance(item, tuple) and len(item) == 4:
        org, metric, period, detail = item
    elif isinstance(item, dict):
        org, metric = item.get("organization"), item["metric"]
        period, detail = item.get("period"), item.get("detail")
    else:
        org, metric = getattr(item, "organization", None), item.metric
        period, detail = getattr(item, "period", None), getattr(item, "detail", None)
    return fact_key(org, metric, period, detail)


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _tables() -> tuple[Any, Any, Any, Any]:
    from union_news.warehouse.facts_schema import fact_conflicts_table, facts_table
    from union_news.warehouse.schema import metadata

    return (
        metadata.tables["metric_rows"],
        metadata.tables["articles"],
        facts_table,
        fact_conflicts_table,
    )


def load_mentions(
    conn: Connection, keys: Iterable[Any] | None = None
) -> list[tuple[FactKey, Mention]]:
    """The mentions of ``keys`` (all keys when None) from ``metric_rows`` + ``articles``."""
    return _load_mentions(conn, None if keys is None else {as_key(k) for k in keys})


def _load_mentions(conn: Connection, wanted: set[FactKey] | None) -> list[tuple[FactKey, Mention]]:
    """:func:`load_mentions` of keys already made by :func:`as_key`."""
    m, a, _, _ = _tables()
    cols = (
        m.c.row_key,
        m.c.article_url,
        m.c.metric,
        m.c.value,
        m.c.qualifier,
        m.c.target,
        m.c.achievement_pct,
        m.c.organization,
        m.c.detail,
        m.c.period,
        m.c.unit,
        m.c.evidence,
        a.c.published,
    )
    base = select(*cols).select_from(m.outerjoin(a, a.c.url == m.c.article_url))
    if wanted is None:
        results = [conn.execute(base)]
    elif not wanted:
        return []
    else:
        # metric IN (...) AND organization IN (...) AND period IN (...): the (metric,
        # organization, period) index serves it; the exact keys are picked out below. Without
        # the period, each load would read back every earlier period of its bodies' metrics
        # (a backfill's cost would grow with the square of its size).
        conds = [m.c.metric.in_(sorted({k[1] for k in wanted}))]
        periods = sorted({k[2] for k in wanted if k[2]})
        if len(periods) <= 200:  # (more: no period filter, as bound parameters are limited)
            in_periods = m.c.period.in_(periods)
            if any(not k[2] for k in wanted):
                in_periods = or_(in_periods, m.c.period.is_(None), m.c.period == "")
            conds.append(in_periods)
        orgs = sorted({k[0] for k in wanted if k[0]})
        stmts = [base.where(*conds, m.c.organization.in_(chunk)) for chunk in _chunks(orgs, 600)]
        if any(not k[0] for k in wanted):
            stmts.append(
                base.where(*conds, or_(m.c.organization.is_(None), m.c.organization == ""))
            )
        results = (conn.execute(stmt) for stmt in stmts)
    out: list[tuple[FactKey, Mention]] = []
    append = out.append
    for result in results:
        # All rows at once, unpacked by position (the columns of ``cols``, in order).
        for (
            row_key,
            url,
            metric,
            value,
            qualifier,
            target,
            achievement_pct,
            org,
            detail,
            period,
            unit,
            evidence,
            published,
        ) in result.all():
            key = (org or "", metric, period or "", detail or "")  # fact_key()
            if wanted is not None and key not in wanted:
                continue
            append(
                (
                    key,
                    Mention(
                        float(value),
                        url,
                        qualifier or "exact",
                        published,
                        target,
                        achievement_pct,
                        unit,
                        evidence or "",
                        row_key,
                    ),
                )
            )
    return out


def _delete_keys(conn: Connection, table: Any, keys: list[FactKey]) -> None:
    """Delete the rows of ``table`` whose (organization, metric, period, detail) is in ``keys``.

    Each key is looked up on the table's key index: SQLite runs a row-value ``IN (VALUES ...)``
    list as a scan of the whole table (every load would read every fact), so there one
    prepared ``DELETE ... WHERE organization = ? AND ...`` runs per key (one ``executemany``);
    PostgreSQL gets the keys as four arrays (``unnest``), one statement whatever their number.
    """
    if not keys:
        return
    names = ("organization", "metric", "period", "detail")
    if conn.dialect.name == "sqlite":
        from sqlalchemy import bindparam

        from union_news.warehouse.bulk import executemany

        stmt = delete(table).where(*(table.c[n] == bindparam(n) for n in names))
        rows = [dict(zip(names, key, strict=True)) for key in keys]
        executemany(conn, ("delete keys", table.name), table, lambda: stmt, rows)
    elif conn.dialect.name == "postgresql":
        from sqlalchemy import Text, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        arrays = select(*(func.unnest(bindparam(n, type_=ARRAY(Text))) for n in names))
        cols = tuple_(*(table.c[n] for n in names))
        conn.execute(
            delete(table).where(cols.in_(arrays)),
            {n: list(part) for n, part in zip(names, zip(*keys, strict=True), strict=True)},
        )
    else:
        cols = tuple_(*(table.c[n] for n in names))
        for chunk in _chunks(keys):
            conn.execute(delete(table).where(cols.in_(chunk)))


def _upsert_facts(conn: Connection, table: Any) -> Any:
    """``INSERT INTO facts ... ON CONFLICT (key) DO UPDATE SET`` every other column."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table)
    key = [col.name for col in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=key,
        set_={col.name: stmt.excluded[col.name] for col in table.c if col.name not in key},
    )


def refresh_facts(conn: Connection, keys: Iterable[Any] | None = None) -> RefreshStats:
    """Rebuild the facts and conflicts of ``keys`` from the mention table, in ``conn``'s transaction.

    ``keys``: ``(organization, metric, period, detail)`` tuples (``None`` or ``""`` for a missing
    part), mappings or MetricRow-like objects; ``None`` rebuilds every fact. Keys whose mentions
    are all gone lose their fact. The caller commits (the warehouse calls this inside a load).
    """
    _, _, f, c = _tables()
    key_list = None if keys is None else sorted({as_key(k) for k in keys})
    stats = RefreshStats(keys=len(key_list) if key_list is not None else 0)
    if key_list is not None and not key_list:
        return stats
    facts = build_facts(_load_mentions(conn, None if key_list is None else set(key_list)))
    if key_list is None:
        stats.keys = len(facts)
        conn.execute(delete(c))
        conn.execute(delete(f))
    upsert = key_list is not None and conn.dialect.name in ("sqlite", "postgresql")
    if key_list is not None:
        removed = [k for k in key_list if k not in facts]
        _delete_keys(conn, c, key_list)
        # The facts still backed by mentions are written over in place below (an upsert: most
        # of a load's keys are new, and a lookup per key to delete nothing costs as much as the
        # insert); only the keys whose last mention went are deleted.
        _delete_keys(conn, f, removed if upsert else key_list)
        stats.removed = len(removed)
    fact_rows, conflict_rows = [], []
    for key, fact in sorted(facts.items()):
        org, metric, period, detail = key
        start, end = period_bounds(period)
        chosen = fact.chosen
        fact_rows.append(
            {
                "organization": org,
                "metric": metric,
                "period": period,
                "detail": detail,
                "value": fact.value,
                "qualifier": fact.qualifier,
                "unit": chosen.unit,
                "target": chosen.target,
                "achievement_pct": chosen.achievement_pct,
                "rule": fact.rule,
                "mentions": fact.mentions,
                "conflicts": len(fact.conflicts),
                "article_urls": fact.article_urls,
                "chosen_url": chosen.article_url,
                "chosen_row_key": chosen.row_key or "",
                "published": chosen.published,
                "period_start": start,
                "period_end": end,
                "evidence": chosen.evidence,
            }
        )
        for other in fact.conflicts:
            conflict_rows.append(
                {
                    "row_key": other.row_key or "",
                    "organization": org,
                    "metric": metric,
                    "period": period,
                    "detail": detail,
                    "fact_value": fact.value,
                    "fact_url": chosen.article_url,
                    "value": other.value,
                    "qualifier": other.qualifier,
                    "article_url": other.article_url,
                    "published": other.published,
                    "evidence": other.evidence,
                }
            )
        stats.conflicts += bool(fact.conflicts)
        stats.conflicting_mentions += len(fact.conflicts)
    stats.facts = len(fact_rows)
    from union_news.warehouse.bulk import executemany

    if upsert:
        executemany(conn, ("facts", "upsert"), f, lambda: _upsert_facts(conn, f), fact_rows)
    else:
        executemany(conn, "facts", f, lambda: insert(f), fact_rows)
    executemany(conn, "fact_conflicts", c, lambda: insert(c), conflict_rows)
    return stats


def _connection_of(target: Any) -> tuple[Any, bool]:
    """(connection, owned) from a Connection, an Engine or an object with ``.engine``."""
    if isinstance(target, Connection):
        return target, False
    engine = target if isinstance(target, Engine) else getattr(target, "engine", None)
    if engine is None:
        raise TypeError(f"need a Connection, an Engine or a Warehouse, not {type(target).__name__}")
    return engine.connect(), True


def conflict_summary(target: Any, keys: Iterable[Any] | None = None) -> dict[str, int]:
    """``{"facts", "facts_in_conflict", "conflicting_mentions"}`` over ``keys`` (None: all)."""
    _, _, f, _ = _tables()
    conn, owned = _connection_of(target)
    try:
        stmt = select(
            func.count(),
            func.coalesce(func.sum(case((f.c.conflicts > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(f.c.conflicts), 0),
        )
        if keys is None:
            totals = [tuple(conn.execute(stmt).one())]
        else:
            key_list = sorted({as_key(k) for k in keys})
            totals = [
                tuple(
                    conn.execute(
                        stmt.where(
                            tuple_(f.c.organization, f.c.metric, f.c.period, f.c.detail).in_(chunk)
                        )
                    ).one()
                )
                for chunk in _chunks(key_list)
            ]
    finally:
        if owned:
            conn.close()
    return {
        "facts": int(sum(t[0] for t in totals)),
        "facts_in_conflict": int(sum(t[1] for t in totals)),
        "conflicting_mentions": int(sum(t[2] for t in totals)),
    }


def count_conflicts(target: Any, keys: Iterable[Any] | None = None) -> int:
    """Facts (keys) whose mentions disagree beyond rounding, among ``keys`` (None: all).

    ``target``: a Connection (inside a load), an Engine, or a ``Warehouse`` (its ``.engine``).
    """
    return conflict_summary(target, keys)["facts_in_conflict"]
