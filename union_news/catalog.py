"""The metric catalog, loaded from ``data/catalog.yaml`` and compiled once.

The YAML file is the vocabulary (metrics-catalog.md as data): rules that give a figure its metric
key, the not-a-metric rules, period and organization cues. This module only turns it into
compiled regexes; it knows no metric by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import yaml

# The package's directory (not this file's: compiled, this module may load from .native/).
DEFAULT_PATH = Path(str(files("union_news"))) / "data" / "catalog.yaml"
# Patterns are lowercased and matched on lowercased text: IGNORECASE is several times slower
# on Vietnamese text in Python's re.
_FLAGS: Final = 0
_GROUP_REF: Final = re.compile(r"\{([a-z_]+)\}")

# Old-style tone placement -> new style, pairwise so offsets never move (thoả -> thỏa).
_TONE_PAIRS: Final = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
# Only at a syllable's end: "hoà" is old style, "hoàn" is not. After "q" the "u" belongs to the
# consonant ("quý", "quỹ" are already right).
_TONE_RE: Final = re.compile(r"(?<![qQ])[oOuU][àáảãạèéẻẽẹỳýỷỹỵÀÁẢÃẠÈÉẺẼẸỲÝỶỸỴ](?![^\W\d_])")


def lower_pattern(pattern: str) -> str:
    """Lowercase a regex except its escapes (``\\S``, ``\\W`` keep their meaning)."""
    return re.sub(r"\\.|[^\\]+", lambda m: m.group(0) if m.group(0)[0] == "\\" else m.group(0).lower(),
                  pattern)


def lower_text(text: str) -> str:
    """``text.lower()`` with every offset kept (a character whose lowercase is longer stays)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


# The same matches found from the tone mark (about twice as fast a scan as from o/u): the mark,
# an o/u before it not after q, and no letter after it.
_TONE_MARK: Final = re.compile(
    r"[àáảãạèéẻẽẹỳýỷỹỵÀÁẢÃẠÈÉẺẼẸỲÝỶỸỴ](?<=[oOuU].)(?<![qQ]..)(?![^\W\d_])"
)


def _pair_patterns() -> tuple[re.Pattern[str], ...]:
    """The ``_TONE_MARK`` matches that ``_TONE_PAIRS`` rewrites, one pattern per first letter
    (o, O, u, U): a pattern that starts with one literal character is scanned for it by the
    regex engine's fast literal loop, not by a character-class test at every position."""
    seconds: dict[str, set[str]] = {}
    for pair in _TONE_PAIRS:
        seconds.setdefault(pair[0], set()).update((pair[1], pair[1].upper()))
    return tuple(
        re.compile(rf"{first}(?<![qQ]{first})[{''.join(sorted(marks))}](?![^\W\d_])")
        for letter, marks in sorted(seconds.items()) for first in (letter, letter.upper()))


_TONE_PAIR_RES: Final = _pair_patterns()


def normalize(text: str) -> str:
    """Same-length normalisation used for matching (tone marks only; case is left to regex).

    Replaces what ``_TONE_RE`` matches (``hoà`` -> ``hòa``): the pairs of ``_TONE_PAIRS``, found
    with ``_TONE_PAIR_RES`` (the ``_TONE_MARK`` matches the table holds)."""
    found = [m.start() for pattern in _TONE_PAIR_RES for m in pattern.finditer(text)]
    if not found:
        return text
    found.sort()
    return _replace_pairs(text, found)


def _replace_pairs(text: str, starts: list[int]) -> str:
    """``text`` with the ``_TONE_PAIRS`` pair at each of ``starts`` (ascending) replaced, case
    kept; a position holding no pair of the table is left as it is."""
    parts: list[str] = []
    pos = 0
    for at in starts:
        src = text[at : at + 2]
        dst = _TONE_PAIRS.get(src.lower())
        if dst is None:
            continue
        parts += (text[pos:at], "".join(d.upper() if s.isupper() else d
                                        for s, d in zip(src, dst, strict=True)))
        pos = at + 2
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def _normalize_reference(text: str) -> str:
    """``normalize`` as ``_TONE_MARK`` finds the pairs (kept to test the two against each other)."""
    return _replace_pairs(text, [m.start() - 1 for m in _TONE_MARK.finditer(text)])


@dataclass(slots=True)
class Rule:
    """One way of recognising a metric: a unit after the figure and cues around it."""

    metric: str
    unit: re.Pattern[str] | None
    before: re.Pattern[str] | None = None
    after: re.Pattern[str] | None = None
    not_before: re.Pattern[str] | None = None
    not_after: re.Pattern[str] | None = None
    unit_cue: re.Pattern[str] | None = None
    sign_before: re.Pattern[str] | None = None
    kinds: frozenset[str] = frozenset({"count"})
    detail: str = "none"
    inherit: bool = False
    weight: int = 0


@dataclass(slots=True)
class Veto:
    """A not-a-metric rule: every given part must match for the figure to be dropped."""

    name: str
    before: re.Pattern[str] | None = None
    after: re.Pattern[str] | None = None
    unit: re.Pattern[str] | None = None
    unit_not: re.Pattern[str] | None = None
    sentence_before: re.Pattern[str] | None = None
    kinds: frozenset[str] | None = None  # figure kinds it applies to (None: all)
    unit_group: int = -1  # groups of ``Catalog.probe`` holding ``unit`` / ``unit_not`` (-1: none)
    unit_not_group: int = -1


_Pat = re.Pattern[str] | None
_Lits = tuple[str, ...] | None
# A rule as ``extraction._classify`` reads it (built by ``_plan``): order, rule, kinds,
# not_before (pattern, suffixes, literals, tail size), not_after (pattern, literals), before
# (pattern, suffixes, literals, tail size), after (pattern, literals), unit_cue (pattern,
# literals), sign_before (pattern, suffixes, tail size), weight. Typed element by element so
# that compiled code reads it natively.
RulePlan = tuple[int, "Rule", frozenset[str], _Pat, _Lits, _Lits, int | None, _Pat, _Lits, _Pat,
                 _Lits, _Lits, int | None, _Pat, _Lits, _Pat, _Lits, _Pat, _Lits, int | None, int]
# A veto as ``extraction._vetoed`` reads it: index, kinds, has sentence_before, unit group,
# unit_not group, after (pattern, literals), before (pattern, suffixes, literals, tail size).
VetoPlan = tuple[int, frozenset[str] | None, bool, int, int, _Pat, _Lits, _Pat, _Lits, _Lits,
                 int | None]
# A period kind as ``extraction._find_period`` reads it: kind, pattern, its literals, the
# period_not pattern, its literals.
PeriodPlan = tuple[str, re.Pattern[str], _Lits, _Pat, _Lits]


@dataclass(slots=True)
class ProbeVariant:
    """``Catalog.probe`` narrowed to the units that can follow a figure (``_build_dispatch``)."""

    match: Callable[[str, int], re.Match[str] | None] | None  # compiled when first needed
    plans: dict[str, list[tuple[int, list[RulePlan]]]]  # per figure kind, by unit group
    counts: tuple[int, ...]  # its groups of count units
    vetoes: dict[str, list[VetoPlan]]  # per figure kind


@dataclass(slots=True)
class OrgConfig:
    default_city: str
    mention: re.Pattern[str]
    national: re.Pattern[str]
    national_canonical: str
    sector: re.Pattern[str]
    not_actor_before: re.Pattern[str]
    giver_after: re.Pattern[str]
    levels: tuple[str, ...]
    known_names: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    grassroots: re.Pattern[str] | None = None
    known_lower: tuple[str, ...] = ()  # known_names and sectors lowercased, same order
    sectors_lower: tuple[str, ...] = ()
    not_actor_suffixes: tuple[str, ...] | None = None  # see ``required_suffixes``
    # per pattern (national, mention, sector, grassroots): strings one of which each of its
    # matches contains (``required_literals``; None: no prefilter), so a sentence holding none
    # is not scanned for it
    literals: dict[str, tuple[str, ...] | None] = field(default_factory=dict)


@dataclass(slots=True)
class Catalog:
    version: int
    window: int
    rules: list[Rule]
    vetoes: list[Veto]
    achievement: re.Pattern[str]
    subset: re.Pattern[str]
    period: dict[str, re.Pattern[str]]
    orgs: OrgConfig
    achievement_not_after: re.Pattern[str] | None = None
    # Per period kind: text right before a match that makes it no period (`từ 4 đến 8/3/2024`).
    period_not: dict[str, re.Pattern[str]] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    any_unit: re.Pattern[str] | None = None
    # Rules grouped by unit pattern (None: no unit), in rule order within a group, so a figure
    # tries each distinct unit once.
    by_unit: list[tuple[re.Pattern[str] | None, list[tuple[int, Rule]]]] = field(default_factory=list)
    # Every unit pattern (rules' and vetoes') as one optional lookahead group of ``probe``: one
    # ``probe.match`` at a figure's end says which units follow it (``m.regs[group]``).
    probe: re.Pattern[str] | None = None
    by_unit_groups: list[int] = field(default_factory=list)  # aligned with by_unit; -1: no unit
    count_unit_groups: tuple[int, ...] = ()  # groups of units a count can take
    # Hot-loop plans built once from the above (see ``_plan``): tuples, patterns with their
    # prefilters (``required_suffixes`` for cues anchored at the figure, else
    # ``required_literals``) and how much of the left context they read.
    veto_plan: list[VetoPlan] = field(default_factory=list)
    unit_plan: list[tuple[int, list[RulePlan]]] = field(default_factory=list)
    goal_plan: list[tuple[int, re.Pattern[str], tuple[str, ...] | None]] = field(
        default_factory=list)  # (veto index, sentence_before, its literals)
    period_lits: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    period_not_lits: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    period_prefixes: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    # ``probe`` narrowed by the first two characters after a figure's spaces (see
    # ``_build_dispatch``): those two -> variant index, else the first one -> variant index, else
    # ``probe_default``. A variant is [the ``match`` of a probe of only the units that can start
    # so (compiled when first needed: ``probe_match``), per figure kind the ``unit_plan`` of those
    # units and that kind, the groups of its count units, per figure kind the ``veto_plan``
    # that can apply], all in the variant's own group numbers: ``probe_groups[v]`` maps
    # ``probe``'s group of each of its units to its own (the units left out share one group
    # that never matches).
    probe_dispatch2: dict[str, int] = field(default_factory=dict)
    probe_dispatch: dict[str, int] = field(default_factory=dict)
    probe_variants: list[ProbeVariant] = field(default_factory=list)
    probe_bodies: list[str] = field(default_factory=list)
    probe_groups: list[dict[int, int]] = field(default_factory=list)
    probe_default: int = 0
    # Prefilters: first characters other than spaces of a ``rate`` match, endings of ``subset``;
    # per period kind in search order (as_of, term, year): (kind, pattern, its literals, the
    # period_not pattern, its literals).
    rate_first: frozenset[str] | None = None
    subset_suffixes: tuple[str, ...] | None = None
    period_plan: list[PeriodPlan] = field(default_factory=list)


def _expand(pattern: str, groups: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        return groups.get(m.group(1), m.group(0))

    for _ in range(3):  # groups may refer to groups
        pattern = _GROUP_REF.sub(sub, pattern)
    return pattern


def _compile(raw: Any, groups: dict[str, str], *, anchor_unit: bool = False) -> re.Pattern[str] | None:
    if raw is None:
        return None
    pattern = lower_pattern(_expand(str(raw).strip(), groups))
    if anchor_unit:
        pattern = rf"\s*(?:{pattern})(?![^\W_])"
    return re.compile(pattern, _FLAGS)


def _rule(raw: dict[str, Any], groups: dict[str, str]) -> Rule:
    return Rule(
        metric=str(raw["metric"]),
        unit=_compile(raw.get("unit"), groups, anchor_unit=True),
        before=_compile(raw.get("before"), groups),
        after=_compile(raw.get("after"), groups),
        not_before=_compile(raw.get("not_before"), groups),
        not_after=_compile(raw.get("not_after"), groups),
        unit_cue=_compile(raw.get("unit_cue"), groups),
        sign_before=_compile(raw.get("sign_before"), groups),
        kinds=frozenset(raw.get("kinds", ["count"])),
        detail=str(raw.get("detail", "none")),
        inherit=bool(raw.get("inherit", False)),
        weight=int(raw.get("weight", 0)),
    )


def _veto(raw: dict[str, Any], groups: dict[str, str]) -> Veto:
    return Veto(
        name=str(raw["name"]),
        before=_compile(raw.get("before"), groups),
        after=_compile(raw.get("after"), groups),
        unit=_compile(raw.get("unit"), groups, anchor_unit=True),
        unit_not=_compile(raw.get("unit_not"), groups, anchor_unit=True),
        sentence_before=_compile(raw.get("sentence_before"), groups),
        kinds=frozenset(raw["kinds"]) if raw.get("kinds") else None,
    )


def _orgs(raw: dict[str, Any]) -> OrgConfig:
    levels = tuple(level.lower() for level in raw["levels"])
    level_alt = "|".join(re.escape(level) for level in levels)
    fed = lower_pattern(raw["federation"])
    alias = lower_pattern(raw.get("alias", ""))
    head = rf"(?:{fed}|{alias}(?<!tổng {alias}))" if alias else fed  # literal first: fast scan
    words = r"[^\W\d_]+(?:\s+[^\W\d_]+|\s+-\s+[^\W\d_]+){0,3}"
    mention = re.compile(
        rf"(?P<head>{head})\s+(?P<level>{level_alt})(?![^\W_])(?:\s+(?P<name>{words}))?",
        _FLAGS,
    )
    known = tuple(sorted(raw.get("known_names", []), key=len, reverse=True))
    sectors = tuple(sorted(raw.get("sectors", []), key=len, reverse=True))
    cfg = OrgConfig(
        known_lower=tuple(k.lower() for k in known),
        sectors_lower=tuple(k.lower() for k in sectors),
        default_city=str(raw["default_city"]),
        mention=mention,
        national=re.compile(lower_pattern(raw["national"]), _FLAGS),
        national_canonical=str(raw["national_canonical"]),
        sector=re.compile(lower_pattern(raw["sector"]) + rf"\s+(?P<name>{words})", _FLAGS),
        not_actor_before=re.compile(lower_pattern(raw["not_actor_before"]), _FLAGS),
        giver_after=re.compile(lower_pattern(raw["giver_after"]), _FLAGS),
        levels=levels,
        known_names=known,
        sectors=sectors,
        grassroots=re.compile(lower_pattern(raw["grassroots"]) + r"(?P<name>(?:\s+[^\W_]+){0,10})",
                              _FLAGS) if raw.get("grassroots") else None,
    )
    cfg.not_actor_suffixes = required_suffixes(cfg.not_actor_before)
    cfg.literals = {"national": required_literals(cfg.national),
                    "mention": required_literals(cfg.mention),
                    "sector": required_literals(cfg.sector),
                    "grassroots": required_literals(cfg.grassroots)}
    return cfg


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and compile a catalog file (the bundled one by default)."""
    data = yaml.safe_load(Path(path or DEFAULT_PATH).read_text(encoding="utf-8"))
    groups = {k: _expand(str(v).strip(), {}) for k, v in (data.get("groups") or {}).items()}
    groups = {k: _expand(v, groups) for k, v in groups.items()}
    rules = [_rule(r, groups) for r in data["rules"]]
    period = {k: re.compile(lower_pattern(_expand(v, groups)), _FLAGS) for k, v in data["period"].items()}
    units = [r.unit.pattern for r in rules if r.unit is not None and "count" in r.kinds]
    cat = Catalog(
        version=int(data.get("version", 1)),
        window=int(data.get("window", 160)),
        rules=rules,
        vetoes=[_veto(v, groups) for v in data.get("not_metrics", [])],
        achievement=re.compile(lower_pattern(_expand(data["achievement"], groups)), _FLAGS),
        subset=re.compile(lower_pattern(_expand(data["subset"], groups)), _FLAGS),
        period=period,
        orgs=_orgs(data["organizations"]),
        achievement_not_after=_compile(data.get("achievement_not_after"), groups),
        period_not={k: re.compile(lower_pattern(_expand(v, groups)), _FLAGS)
                    for k, v in (data.get("period_not") or {}).items()},
        metrics=list(dict.fromkeys(r.metric for r in rules)),
        any_unit=re.compile("|".join(f"(?:{u})" for u in units), _FLAGS) if units else None,
        by_unit=_group_by_unit(rules),
    )
    _build_probe(cat)
    _plan(cat)
    _build_dispatch(cat)
    return cat


def _tail_size(pattern: re.Pattern[str] | None, size: int) -> int | None:
    """Patterns anchored at the figure (ending in ``$``) read only the last ``size`` characters."""
    return size if pattern is not None and pattern.pattern.endswith("$") else None


def _plan(cat: Catalog) -> None:
    lit = required_literals
    cat.goal_plan = [(i, v.sentence_before, lit(v.sentence_before))
                     for i, v in enumerate(cat.vetoes) if v.sentence_before is not None]
    cat.period_lits = {kind: lit(p) for kind, p in cat.period.items()}
    cat.period_not_lits = {kind: lit(p) for kind, p in cat.period_not.items()}
    cat.period_prefixes = {kind: required_prefixes(p) for kind, p in cat.period.items()}
    cat.rate_first = solid_starts(cat.period.get("rate"), 1)
    cat.subset_suffixes = required_suffixes(cat.subset)
    cat.period_plan = [(kind, cat.period[kind], cat.period_lits.get(kind), cat.period_not.get(kind),
                        cat.period_not_lits.get(kind))
                       for kind in ("as_of", "term", "year") if kind in cat.period]
    sfx = required_suffixes
    cat.veto_plan = [
        (i, v.kinds, v.sentence_before is not None, v.unit_group, v.unit_not_group,
         v.after, lit(v.after), v.before, sfx(v.before), lit(v.before), _tail_size(v.before, 80))
        for i, v in enumerate(cat.vetoes)
    ]
    cat.unit_plan = [
        (g, [(order, r, r.kinds, r.not_before, sfx(r.not_before), lit(r.not_before),
              _tail_size(r.not_before, 64), r.not_after, lit(r.not_after), r.before,
              sfx(r.before), lit(r.before), _tail_size(r.before, 64), r.after, lit(r.after),
              r.unit_cue, lit(r.unit_cue), r.sign_before, sfx(r.sign_before),
              _tail_size(r.sign_before, 64), r.weight)
             for order, r in rules])
        for (_, rules), g in zip(cat.by_unit, cat.by_unit_groups, strict=True)
    ]


def _build_probe(cat: Catalog) -> None:
    patterns: dict[str, int] = {}
    next_group = [1]

    def group(p: re.Pattern[str] | None) -> int:
        if p is None:
            return -1
        if p.pattern not in patterns:  # a unit's own groups come right after its lookahead's
            patterns[p.pattern] = next_group[0]
            next_group[0] += 1 + p.groups
        return patterns[p.pattern]

    cat.by_unit_groups = [group(unit) for unit, _ in cat.by_unit]
    cat.count_unit_groups = tuple(sorted({group(r.unit) for r in cat.rules
                                          if r.unit is not None and "count" in r.kinds}))
    for v in cat.vetoes:
        v.unit_group, v.unit_not_group = group(v.unit), group(v.unit_not)
    body = "".join(f"(?:(?=({p}))|)" for p in patterns)  # group n = n-th distinct pattern
    cat.probe = re.compile(body, _FLAGS)


_FIGURE_KINDS: Final = ("count", "vnd")  # the kinds of figure the rules classify


def _build_dispatch(cat: Catalog) -> None:
    """Probe variants by the first two characters after a figure's spaces.

    A unit can only match where those start with one of its ``solid_starts``: a variant's probe
    holds only the units that can, in its own group numbers (``probe_groups``); units of unknown
    starts stay in every variant. Each variant also holds, per figure kind, ``unit_plan`` cut to
    its units and the rules of that kind, and ``veto_plan`` without the vetoes of other kinds or
    whose unit cannot follow, both renumbered to its groups."""
    units: list[tuple[int, str, int, frozenset[str] | None]] = []  # group, pattern, inner, starts
    groups_of: dict[str, int] = {}
    for unit, g in zip((u for u, _ in cat.by_unit), cat.by_unit_groups, strict=True):
        if unit is not None:
            groups_of[unit.pattern] = g
    for v in cat.vetoes:
        for unit, g in ((v.unit, v.unit_group), (v.unit_not, v.unit_not_group)):
            if unit is not None:
                groups_of[unit.pattern] = g
    for pattern, g in sorted(groups_of.items(), key=lambda kv: kv[1]):
        compiled = re.compile(pattern, _FLAGS)
        units.append((g, pattern, compiled.groups, solid_starts(compiled, 2)))
    signatures: dict[tuple[int, ...], int] = {}
    count_groups = set(cat.count_unit_groups)

    def variant(key: str | None) -> int:
        active = tuple(g for g, _, _, starts in units
                       if starts is None or key is not None and key.startswith(tuple(starts)))
        if active not in signatures:
            # the variant's own group numbers: its units' lookaheads in order, then one group
            # that never matches, which stands for every unit left out (its end is always -1)
            local: dict[int, int] = {}
            body, n = [], 1
            for g, pattern, inner, _ in units:
                if g in active:
                    local[g] = n
                    body.append(f"(?:(?=({pattern}))|)")
                    n += 1 + inner
            body.append("(?:(?!)()|)")
            dead = n

            def here(g: int) -> int:
                return g if g < 0 else local.get(g, dead)

            plans: dict[str, list[tuple[int, list[RulePlan]]]] = {}
            vetoes: dict[str, list[VetoPlan]] = {}
            for kind in _FIGURE_KINDS:
                plans[kind] = [(here(g), mine) for g, rules in cat.unit_plan
                               if g < 0 or g in active
                               if (mine := [r for r in rules if kind in r[2]])]
                vetoes[kind] = [(v[0], v[1], v[2], here(v[3]), here(v[4]), v[5], v[6], v[7], v[8],
                                 v[9], v[10]) for v in cat.veto_plan
                                if (v[1] is None or kind in v[1]) and (v[3] < 0 or v[3] in active)]
            signatures[active] = len(cat.probe_variants)
            cat.probe_bodies.append("".join(body))
            cat.probe_groups.append(local)
            counts = tuple(local[g] for g in sorted(count_groups & set(active)))
            cat.probe_variants.append(ProbeVariant(None, plans, counts, vetoes))
        return signatures[active]

    cat.probe_variants, cat.probe_bodies, cat.probe_groups = [], [], []
    cat.probe_default = variant(None)
    starts = {s for *_, st in units if st is not None for s in st}
    cat.probe_dispatch = {c: variant(c) for c in sorted({s[0] for s in starts})}
    cat.probe_dispatch2 = {s: variant(s) for s in sorted(starts) if len(s) == 2}


def probe_match(cat: Catalog, variant: int) -> Callable[[str, int], re.Match[str] | None]:
    """The compiled ``match`` of a probe variant (compiled on first use)."""
    pv = cat.probe_variants[variant]
    found = pv.match
    if found is None:
        found = pv.match = re.compile(cat.probe_bodies[variant], _FLAGS).match
    return found


def _group_by_unit(rules: list[Rule]) -> list[tuple[re.Pattern[str] | None, list[tuple[int, Rule]]]]:
    groups: dict[str | None, tuple[re.Pattern[str] | None, list[tuple[int, Rule]]]] = {}
    for order, rule in enumerate(rules):
        key = rule.unit.pattern if rule.unit is not None else None
        groups.setdefault(key, (rule.unit, []))[1].append((order, rule))
    return list(groups.values())


# ---------------------------------------------------------------- literal prefilters

_MAX_SET: Final = 24  # alternatives kept when literal sets multiply out


def required_literals(pattern: re.Pattern[str] | None) -> tuple[str, ...] | None:
    """Strings one of which every match of ``pattern`` contains (None: no such guarantee known).

    A cheap ``in`` test on the searched text then skips most regex searches that cannot match.
    Read from the parsed pattern; anything unusual (case-insensitive parts, parser changes) gives
    None, which only means no prefilter."""
    if pattern is None or pattern.flags & re.IGNORECASE:
        return None
    try:
        import re._parser as sre_parse  # noqa: PLC0415  (CPython's own regex parser)

        found = _required(list(sre_parse.parse(pattern.pattern, pattern.flags)))
    except Exception:  # noqa: BLE001  (a private module: any surprise means no prefilter)
        return None
    if not found or min(map(len, found)) < 1:
        return None
    # A string holding a shorter one of the set adds nothing: `tặng` covers `trao tặng`.
    short = sorted(found, key=len)
    return tuple(s for i, s in enumerate(short) if not any(t in s for t in short[:i]))


def _better(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    if not a or "" in a:
        return b if b and "" not in b else None
    if not b or "" in b:
        return a
    return a if (min(map(len, a)), -len(a)) >= (min(map(len, b)), -len(b)) else b


def _finite(item: tuple[Any, Any]) -> set[str] | None:
    """Every string ``item`` can match, when few and fixed (None: not finite)."""
    from re import _constants as c  # noqa: PLC0415

    op, av = item
    if op is c.LITERAL:
        return {chr(av)}
    if op is c.IN:
        if all(o is c.LITERAL for o, _ in av):
            return {chr(v) for _, v in av}
        return None
    if op is c.SUBPATTERN:
        if av[1] & re.IGNORECASE:
            return None
        return _finite_seq(list(av[3]))
    if op is c.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            sub = _finite_seq(list(alt))
            if sub is None:
                return None
            out |= sub
        return out if len(out) <= _MAX_SET else None
    if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] == 0 and av[1] == 1:
        sub = _finite_seq(list(av[2]))
        return None if sub is None else sub | {""}
    return None


def _finite_seq(items: list[tuple[Any, Any]]) -> set[str] | None:
    out = {""}
    for item in items:
        sub = _finite(item)
        if sub is None:
            return None
        out = {a + b for a in out for b in sub}
        if len(out) > _MAX_SET:
            return None
    return out


def _required(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Best set of strings one of which any match of the sequence ``items`` contains."""
    from re import _constants as c  # noqa: PLC0415

    best: set[str] | None = None
    run: set[str] | None = {""}  # strings of the current run of finite items
    for op, av in items:
        if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
            best, run = _better(best, run), {""}  # zero-width: ends a run, requires nothing
            continue
        sub = _finite((op, av))
        if sub is not None and run is not None:
            grown = {a + b for a in run for b in sub}
            if len(grown) <= _MAX_SET:
                run = grown
                continue
        best, run = _better(best, run), ({""} if sub is None else sub)
        inner: set[str] | None = None
        if op is c.SUBPATTERN and not av[1] & re.IGNORECASE:
            inner = _required(list(av[3]))
        elif op is c.ATOMIC_GROUP:
            inner = _required(list(av))
        elif op is c.BRANCH:
            alts = [_required(list(alt)) for alt in av[1]]
            if all(a and "" not in a for a in alts):
                inner = set().union(*alts)  # type: ignore[arg-type]
                inner = inner if len(inner) <= _MAX_SET else None
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            inner = _required(list(av[2]))
        best = _better(best, inner)
    return _better(best, run)


_MAX_SUFFIXES: Final = 64


def required_suffixes(pattern: re.Pattern[str] | None) -> tuple[str, ...] | None:
    """For a pattern that ends in ``\\s*$``: strings one of which ``text.rstrip()`` ends with
    whenever ``pattern.search(text)`` matches (None: no such guarantee known).

    ``text.rstrip().endswith(suffixes)`` is then one C call that skips most searches of the
    cues anchored at the figure (``kết nạp\\s*$``)."""
    if pattern is None or pattern.flags & re.IGNORECASE or not pattern.pattern.endswith("$"):
        return None
    try:
        import re._constants as c  # noqa: PLC0415
        import re._parser as sre_parse  # noqa: PLC0415

        items = list(sre_parse.parse(pattern.pattern, pattern.flags))
        if not items or items[-1] != (c.AT, c.AT_END):
            return None
        items.pop()
        while items and _is_space_run(items[-1]):
            items.pop()
        found = _suffixes(items, lambda: None)
    except Exception:  # noqa: BLE001  (a private module: any surprise means no prefilter)
        return None
    if not found:
        return None
    out = {s.rstrip() for s in found}  # text.rstrip() loses the spaces a suffix ends with
    if "" in out:
        return None
    return tuple(sorted(out, key=len))


def _is_space_run(item: tuple[Any, Any]) -> bool:
    from re import _constants as c  # noqa: PLC0415

    spaces = ([(c.CATEGORY, c.CATEGORY_SPACE)], [(c.CATEGORY, c.CATEGORY_UNI_SPACE)])
    op, av = item
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        body = list(av[2])
        return len(body) == 1 and body[0][0] is c.IN and body[0][1] in spaces
    return op is c.IN and av in spaces


def _suffixes(items: list[tuple[Any, Any]], before: Any) -> set[str] | None:
    """Strings one of which any match of ``items`` ends with; ``before()`` gives those of the text
    before ``items`` when ``items`` can match the empty string."""
    from re import _constants as c  # noqa: PLC0415

    if not items:
        return before()
    if _is_space_run(items[-1]):  # spaces at the end are stripped from the text too
        return _suffixes(items[:-1], before)
    k = len(items)  # the longest run of finite items at the end
    while k > 0 and _finite(items[k - 1]) is not None:
        k -= 1
    if k < len(items):
        run = _finite_seq(items[k:])
        if run is not None and "" not in run:
            return run
        rest = _suffixes(items[:k], before)
        if run is None or rest is None:
            return None
        tails = {s for s in run if s} | rest
        return tails if len(tails) <= _MAX_SUFFIXES else None
    op, av = items[-1]

    def prev() -> set[str] | None:
        return _suffixes(items[:-1], before)

    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return prev()
    if op is c.SUBPATTERN and not av[1] & re.IGNORECASE:
        return _suffixes(list(av[3]), prev)
    if op is c.ATOMIC_GROUP:
        return _suffixes(list(av), prev)
    if op is c.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            sub = _suffixes(list(alt), prev)
            if sub is None:
                return None
            out |= sub
        return out if len(out) <= _MAX_SUFFIXES else None
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        body = _suffixes(list(av[2]), lambda: None)  # the last repetition ends the match
        if body is None:
            return None
        if av[0] >= 1:
            return body
        rest = prev()
        return None if rest is None else body | rest
    return None


_MAX_STARTS: Final = 4000  # steps of the walk in ``solid_starts`` before giving up


def solid_starts(pattern: re.Pattern[str] | None, size: int) -> frozenset[str] | None:
    """Strings of at most ``size`` characters one of which starts every match once its leading
    spaces are dropped (None: not known, or a match may be all spaces).

    A unit (``\\s*`` then its words) matched at a figure's end can then only match when the text
    after the figure's spaces starts with one of these (a shorter string: any continuation)."""
    if pattern is None or pattern.flags & re.IGNORECASE:
        return None
    try:
        import re._constants as c  # noqa: PLC0415
        import re._parser as sre_parse  # noqa: PLC0415

        found: set[str] = set()
        steps = [_MAX_STARTS]
        _starts(list(sre_parse.parse(pattern.pattern, pattern.flags)), "", size, found, steps, c)
    except Exception:  # noqa: BLE001  (unknown items, too many paths, a private module's surprise)
        return None
    if not found or "" in found:
        return None
    return frozenset(found)


def _starts(items: list[tuple[Any, Any]], acc: str, size: int, found: set[str], steps: list[int],
            c: Any) -> None:
    """Add to ``found`` what the matches of ``items`` after ``acc`` start with (``solid_starts``):
    every path through the pattern is walked until ``size`` characters are known."""
    steps[0] -= 1
    if steps[0] < 0:
        raise ValueError("too many paths")
    if len(acc) >= size:
        found.add(acc[:size])
        return
    if not items:
        found.add(acc)  # the match may end here: any continuation
        return
    (op, av), rest = items[0], items[1:]
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        _starts(rest, acc, size, found, steps, c)  # zero width: a superset
    elif _is_space_run((op, av)):
        if acc:
            found.add(acc)  # which space is not known
        else:
            _starts(rest, acc, size, found, steps, c)  # leading spaces are dropped
    elif op is c.LITERAL or (op is c.IN and all(o is c.LITERAL for o, _ in av)):
        for ch in [chr(av)] if op is c.LITERAL else [chr(v) for _, v in av]:
            _starts(rest, "" if not acc and ch.isspace() else acc + ch, size, found, steps, c)
    elif op is c.SUBPATTERN and not av[1] & re.IGNORECASE:
        _starts(list(av[3]) + rest, acc, size, found, steps, c)
    elif op is c.ATOMIC_GROUP:
        _starts(list(av) + rest, acc, size, found, steps, c)
    elif op is c.BRANCH:
        for alt in av[1]:
            _starts(list(alt) + rest, acc, size, found, steps, c)
    elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, high, body = av
        if low == 0:
            _starts(rest, acc, size, found, steps, c)
        if high != 0:
            once_more = (op, (max(low - 1, 0), high if high == c.MAXREPEAT else high - 1, body))
            _starts(list(body) + [once_more] + rest, acc, size, found, steps, c)
    elif acc:
        found.add(acc)  # an item of unknown characters after known ones
    else:
        raise ValueError("unknown first character")


def required_prefixes(pattern: re.Pattern[str] | None) -> tuple[str, ...] | None:
    """Strings one of which every match of ``pattern`` starts with (None: none known).

    ``iter_prefixed`` then finds the matches by ``str.find`` on these and ``match`` there: the
    same matches as ``finditer``, much faster for patterns that start with an alternation of
    words (the regex engine tries every position holding their first letters)."""
    if pattern is None or pattern.flags & re.IGNORECASE:
        return None
    try:
        import re._parser as sre_parse  # noqa: PLC0415

        found = _prefixes(list(sre_parse.parse(pattern.pattern, pattern.flags)))
    except Exception:  # noqa: BLE001  (a private module: any surprise means no prefilter)
        return None
    if not found or "" in found:
        return None
    short = sorted(found, key=len)  # a prefix starting with a shorter one adds nothing
    return tuple(s for i, s in enumerate(short) if not any(s.startswith(t) for t in short[:i]))


def _prefixes(items: list[tuple[Any, Any]]) -> set[str] | None:
    from re import _constants as c  # noqa: PLC0415

    out = {""}
    for op, av in items:
        if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            if out == {""}:
                continue  # zero width before any text
            return out
        sub = _finite((op, av))
        if sub is None:
            if op is c.SUBPATTERN and not av[1] & re.IGNORECASE:
                sub = _prefixes(list(av[3]))
            elif op is c.BRANCH:
                sub = set()
                for alt in av[1]:
                    one = _prefixes(list(alt))
                    if one is None:
                        return out
                    sub |= one
            if not sub:
                return out
            grown = {a + b for a in out for b in sub}
            return grown if len(grown) <= _MAX_SET else out
        grown = {a + b for a in out for b in sub}
        if len(grown) > _MAX_SET:
            return out
        out = grown
    return out


def may_hold(lits: tuple[str, ...] | None, text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` may hold a match of a pattern whose matches all contain one
    of ``lits`` (``required_literals``; None: no such guarantee, so it may)."""
    if lits is None:
        return True
    for lit in lits:  # noqa: SIM110  (a loop: compiled, faster than any() over a generator)
        if text.find(lit, start, end) >= 0:
            return True
    return False


def iter_prefixed(pattern: re.Pattern[str], prefixes: tuple[str, ...] | None, text: str,
                  start: int = 0, end: int | None = None) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text, start, end)`` when every match starts with one of ``prefixes``."""
    end = len(text) if end is None else end
    if prefixes is None:
        yield from pattern.finditer(text, start, end)
        return
    match = pattern.match
    nexts = [text.find(p, start, end) for p in prefixes]
    pos = start
    while True:
        at = -1
        for i, n in enumerate(nexts):
            if -1 < n < pos:
                n = nexts[i] = text.find(prefixes[i], pos, end)
            if n >= 0 and (at < 0 or n < at):
                at = n
        if at < 0:
            return
        m = match(text, at, end)
        if m is None:
            pos = at + 1
        else:
            yield m
            pos = m.end() if m.end() > at else at + 1


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The bundled catalog, compiled once per process."""
    return load_catalog(DEFAULT_PATH)
