"""Sample articles: one YAML file each in ``articles/`` (see FORMAT.md), loaded and validated."""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from union_news.models import QUALIFIERS, MetricRow

ARTICLES_DIR = Path(__file__).resolve().parent / "articles"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
KINDS = ("article", "no_article")
_FILE_RE = re.compile(r"^(\d{4})-([a-z0-9]+(?:-[a-z0-9]+)*)\.ya?ml$")
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PERIOD_RE = re.compile(r"^(?:(?:19|20)\d\d|(?:19|20)\d\d-(?:19|20)\d\d|(?:19|20)\d\d-\d\d-\d\d)$")
_ROW_KEYS = {
    "metric",
    "value",
    "qualifier",
    "target",
    "achievement_pct",
    "organization",
    "detail",
    "period",
}
_DETAIL_METRICS = {"awards", "gifts", "money_vnd"}


class SampleFormatError(ValueError):
    """An article file does not follow FORMAT.md; the message names the file and the field."""


def slugify(text: str) -> str:
    """ASCII slug of a Vietnamese title: ``Trao 1.480 suất quà`` -> ``trao-1480-suat-qua``."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").lower()
    text = re.sub(r"[.,]", "", text)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def article_path(slug: str, article_id: int) -> str:
    return f"/{slug}-{article_id}.html"


@dataclass(frozen=True, slots=True)
class RelatedItem:
    """A headline of another article shown on the page (top box or trailing block)."""

    title: str
    path: str  # site path; a dead link (404) when the item names no sample article
    teaser: str | None = None
    published: datetime | None = None  # time stamp printed under the headline
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RelatedBlock:
    heading: str
    items: tuple[RelatedItem, ...]


@dataclass(frozen=True, slots=True)
class Image:
    src: str
    caption: str


@dataclass(slots=True)
class SampleArticle:
    """One article of the sample site, as FORMAT.md describes it."""

    id: int
    slug: str
    path: str
    title: str
    published: datetime
    author: str | None
    category: str
    lead: str | None
    paragraphs: list[str]  # lead first, then the text paragraphs: the body a cleaner keeps
    captions: list[str]
    related_titles: list[str]  # top and bottom
    expected: list[MetricRow]
    kind: str = "article"
    blocks: list[str | Image] = field(default_factory=list)  # text paragraphs and images in order
    related_top: list[RelatedItem] = field(default_factory=list)
    related_bottom: list[RelatedBlock] = field(default_factory=list)
    source_file: Path | None = None

    @property
    def url_path(self) -> str:
        return self.path


def _fail(path: Path, msg: str) -> SampleFormatError:
    return SampleFormatError(f"{path.name}: {msg}")


def _text(path: Path, value: Any, name: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, f"{name} must be a non-empty string")
    return " ".join(value.split())


def _parse_published(path: Path, value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M")
        except ValueError:
            raise _fail(path, f"published {value!r} is not 'YYYY-MM-DD HH:MM'") from None
    return dt.replace(tzinfo=TZ) if dt.tzinfo is None else dt.astimezone(TZ)


def _dead_path(title: str) -> str:
    # a stable id far from the sample ids: the link answers 404, as old related links do
    return article_path(slugify(title)[:80].rstrip("-"), 90000 + zlib.crc32(title.encode()) % 9999)


def _item(path: Path, raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or "title" not in raw:
        raise _fail(path, f"{where}: each item needs a title")
    unknown = set(raw) - {"title", "id", "teaser", "time"}
    if unknown:
        raise _fail(path, f"{where}: unknown item keys {sorted(unknown)}")
    out = {"title": _text(path, raw["title"], f"{where} title"), "id": raw.get("id")}
    out["teaser"] = _text(path, raw.get("teaser"), f"{where} teaser", optional=True)
    out["time"] = _parse_published(path, raw["time"]) if raw.get("time") else None
    if out["id"] is not None and not isinstance(out["id"], int):
        raise _fail(path, f"{where}: id must be an integer")
    return out


def _row(path: Path, raw: Any, metrics: set[str]) -> MetricRow:
    if not isinstance(raw, dict):
        raise _fail(path, "expected: each row must be a mapping")
    unknown = set(raw) - _ROW_KEYS
    if unknown:
        raise _fail(path, f"expected: unknown row keys {sorted(unknown)}")
    metric = raw.get("metric")
    if metric not in metrics:
        raise _fail(path, f"expected: metric {metric!r} is not in the catalog")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(path, f"expected: {metric} value {value!r} is not a number")
    qualifier = raw.get("qualifier", "exact")
    if qualifier not in QUALIFIERS:
        raise _fail(path, f"expected: qualifier {qualifier!r} not one of {QUALIFIERS}")
    for key in ("target", "achievement_pct"):
        v = raw.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise _fail(path, f"expected: {metric} {key} {v!r} is not a number")
    period = raw.get("period")
    if period is not None and not _PERIOD_RE.match(str(period)):
        raise _fail(path, f"expected: period {period!r} is not YYYY, YYYY-YYYY or YYYY-MM-DD")
    org = raw.get("organization")
    if not org:
        raise _fail(path, f"expected: {metric} {value} has no organization")
    detail = raw.get("detail")
    if metric in _DETAIL_METRICS and not detail:
        raise _fail(path, f"expected: {metric} {value} needs a detail (catalog)")
    return MetricRow(
        metric=metric,
        value=float(value),
        qualifier=qualifier,
        target=None if raw.get("target") is None else float(raw["target"]),
        achievement_pct=None
        if raw.get("achievement_pct") is None
        else float(raw["achievement_pct"]),
        organization=str(org),
        detail=None if detail is None else str(detail),
        period=None if period is None else str(period),
        article_url=None,
    )


def _catalog_metrics() -> set[str]:
    from union_news.catalog import default_catalog

    return set(default_catalog().metrics)


_TOP_LEVEL = {
    "id",
    "slug",
    "title",
    "published",
    "author",
    "category",
    "lead",
    "related_top",
    "paragraphs",
    "related_bottom",
    "expected",
    "kind",
}


def load_article(path: Path, metrics: set[str] | None = None) -> dict[str, Any]:
    """Read and validate one article file; related ids are resolved by the caller."""
    metrics = metrics if metrics is not None else _catalog_metrics()
    m = _FILE_RE.match(path.name)
    if not m:
        raise _fail(path, "file name must be <4-digit id>-<slug>.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise _fail(path, "not a YAML mapping")
    unknown = set(data) - _TOP_LEVEL
    if unknown:
        raise _fail(path, f"unknown keys {sorted(unknown)}")
    aid, slug = data.get("id"), data.get("slug")
    if not isinstance(aid, int) or f"{aid:04d}" != m.group(1):
        raise _fail(path, f"id {aid!r} does not match the file name")
    if not isinstance(slug, str) or not _SLUG_RE.match(slug) or slug != m.group(2):
        raise _fail(path, f"slug {slug!r} does not match the file name or is not a-z0-9-")
    kind = data.get("kind", "article")
    if kind not in KINDS:
        raise _fail(path, f"kind {kind!r} not one of {KINDS}")
    blocks: list[str | Image] = []
    for i, p in enumerate(data.get("paragraphs") or []):
        if isinstance(p, dict):
            if set(p) - {"image", "caption"} or not p.get("image"):
                raise _fail(path, f"paragraph {i}: an image is {{image: ..., caption: ...}}")
            blocks.append(Image(str(p["image"]), _text(path, p.get("caption"), "caption")))
        else:
            blocks.append(_text(path, p, f"paragraph {i}"))
    if kind == "article" and not any(isinstance(b, str) for b in blocks):
        raise _fail(path, "an article needs text paragraphs")
    top = [_item(path, x, "related_top") for x in data.get("related_top") or []]
    bottom = []
    for j, block in enumerate(data.get("related_bottom") or []):
        if not isinstance(block, dict) or not block.get("heading") or not block.get("items"):
            raise _fail(path, f"related_bottom[{j}] needs a heading and items")
        items = [_item(path, x, f"related_bottom[{j}]") for x in block["items"]]
        bottom.append((_text(path, block["heading"], "heading"), items))
    if not top and not bottom:
        raise _fail(path, "every page shows related headlines (related_top / related_bottom)")
    expected = [_row(path, r, metrics) for r in data.get("expected") or []]
    if kind == "no_article" and expected:
        raise _fail(path, "a no_article page has no expected rows")
    return {
        "id": aid,
        "slug": slug,
        "title": _text(path, data.get("title"), "title"),
        "published": _parse_published(path, data.get("published")),
        "author": _text(path, data.get("author"), "author", optional=True),
        "category": _text(path, data.get("category", "cong-doan"), "category"),
        "lead": _text(path, data.get("lead"), "lead", optional=kind != "article"),
        "blocks": blocks,
        "top": top,
        "bottom": bottom,
        "expected": expected,
        "kind": kind,
        "file": path,
    }


def _resolve(raw: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> RelatedItem:
    # an id missing from the loaded set (a partial articles_dir) is a dead link, like a title
    target = by_id.get(raw["id"]) if raw["id"] is not None else None
    path = article_path(target["slug"], target["id"]) if target else _dead_path(raw["title"])
    published = raw["time"] or (target["published"] if target else None)
    return RelatedItem(raw["title"], path, raw["teaser"], published, raw["id"])


def _load_all(directory: str) -> tuple[SampleArticle, ...]:
    files = sorted(p for p in Path(directory).glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    metrics = _catalog_metrics()
    raws = [load_article(p, metrics) for p in files]
    by_id: dict[int, dict[str, Any]] = {}
    paths: set[str] = set()
    for raw in raws:
        if raw["id"] in by_id:
            raise _fail(raw["file"], f"id {raw['id']} also used by {by_id[raw['id']]['file'].name}")
        path = article_path(raw["slug"], raw["id"])
        if path in paths:
            raise _fail(raw["file"], f"path {path} used twice")
        by_id[raw["id"]] = raw
        paths.add(path)
    out = []
    for raw in raws:
        top = [_resolve(x, by_id) for x in raw["top"]]
        bottom = [
            RelatedBlock(h, tuple(_resolve(x, by_id) for x in items)) for h, items in raw["bottom"]
        ]
        texts = [b for b in raw["blocks"] if isinstance(b, str)]
        out.append(
            SampleArticle(
                id=raw["id"],
                slug=raw["slug"],
                path=article_path(raw["slug"], raw["id"]),
                title=raw["title"],
                published=raw["published"],
                author=raw["author"],
                category=raw["category"],
                lead=raw["lead"],
                paragraphs=([raw["lead"]] if raw["lead"] else []) + texts,
                captions=[b.caption for b in raw["blocks"] if isinstance(b, Image)],
                related_titles=[i.title for i in top] + [i.title for b in bottom for i in b.items],
                expected=raw["expected"],
                kind=raw["kind"],
                blocks=raw["blocks"],
                related_top=top,
                related_bottom=bottom,
                source_file=raw["file"],
            )
        )
    return tuple(sorted(out, key=lambda a: a.id))


def load_sample_articles(
    articles_dir: str | Path | None = None, *, kinds: Collection[str] | None = None
) -> list[SampleArticle]:
    """Every page of the sample site by id, validated (see FORMAT.md; SampleFormatError).

    Special pages come too (kind ``no_article``: a page a cleaner must refuse); pass
    ``kinds=("article",)`` for the pages that clean to a body and extract exactly ``expected``.
    """
    directory = Path(articles_dir) if articles_dir is not None else ARTICLES_DIR
    articles = list(_load_all(str(directory.resolve())))
    return articles if kinds is None else [a for a in articles if a.kind in kinds]
