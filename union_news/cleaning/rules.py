"""Line-level rules shared by the HTML and plain-text cleaners.

Everything here works on one line (a paragraph) of text and knows nothing about a particular
site: what a related-news heading, a headline, a byline, a listing time stamp or several glued
headlines look like.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from functools import lru_cache

DEFAULT_RELATED_HEADINGS: tuple[str, ...] = (
    "Có thể bạn quan tâm",
    "Nên xem",
    "Tin khác",
    "Tin liên quan",
    "Bài liên quan",
    "Đọc thêm",
    "Xem thêm",
    "Ý kiến bạn đọc",
    "Phiên bản di động",
    "Tin cùng chuyên mục",
    "Tin mới nhất",
    "Tin đọc nhiều",
    "Đọc nhiều",
    "Bài viết liên quan",
)

# Hostile-input limits: a news article's text is under 50,000 characters and its title under
# 300; far longer text is not an article and would only cost time (line rules, extraction).
MAX_TEXT_CHARS = 200_000
MAX_TITLE_CHARS = 2_000
_MAX_GLUED_CHARS = 3_000  # several run-together headlines are a few hundred characters

SENTENCE_END = ".!?…:;"
CLOSING = "\"'”’»)]"
_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")
_TOKEN = re.compile(r"\S+")
# "Hoạt động 20/04/2025 22:49": a listing's category label followed by date and time.
_TIMESTAMP = re.compile(
    r"^(?:[^\d\n]{0,40}\s)?\d{1,2}/\d{1,2}/\d{4}(?:\s*[-,|]?\s*\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_IMAGE_MARKER = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*\|?\s*$")
# words after which a capitalised word usually continues the same headline (objects of a verb
# or preposition), so a glue point is not assumed there
_CONTINUERS = frozenset(
    [
        "của",
        "cho",
        "tại",
        "với",
        "và",
        "các",
        "những",
        "về",
        "ở",
        "trong",
        "từ",
        "đến",
        "dựng",
        "là",
        "được",
        "bởi",
        "theo",
        "trên",
        "dưới",
        "sau",
        "trước",
        "giữa",
        "vì",
        "do",
        "khi",
        "nơi",
        "thành",
        "vào",
        "ra",
        "lên",
        "xuống",
        "hội",
        "chức",
        "đoàn",
        "tỉnh",
        "thành",
        "phố",
        "quận",
        "huyện",
        "xã",
        "phường",
        "thị",
        "ngành",
        "viên",
    ]
)
# common nouns Vietnamese capitalises inside a sentence (feasts, seasons, honorifics): a
# capital here rarely starts a new headline
_MIDSENTENCE_CAPITALS = frozenset({"Tết", "Xuân", "Đảng", "Bác"})


def check_text_size(text_chars: int, title: str | None = None) -> None:
    """Raise ``ValueError`` (with the reason) for a text or title too long to be an article."""
    if text_chars > MAX_TEXT_CHARS:
        raise ValueError(
            f"text too long for an article: {text_chars:,} characters (limit {MAX_TEXT_CHARS:,})"
        )
    if title and len(title) > MAX_TITLE_CHARS:
        raise ValueError(f"title too long: {len(title):,} characters (limit {MAX_TITLE_CHARS:,})")


def norm(text: str) -> str:
    """Lower-case, NFC, punctuation dropped and spaces collapsed: a key to compare lines.

    Short texts (headings, titles, related headlines: normalised several times a page, and the
    same headlines on many pages) are remembered; paragraphs are not (bounded memory)."""
    if len(text) <= _NORM_CACHED_CHARS:
        return _norm_cached(text)
    return _norm(text)


_NORM_CACHED_CHARS = 200


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(_PUNCT.sub(" ", text).split())


_norm_cached = lru_cache(maxsize=4096)(_norm)


def collapse(text: str) -> str:
    """NFC, whitespace runs made one space, ends stripped (``str.split`` and ``\\s`` agree on
    what whitespace is)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def heading_keys(headings: Iterable[str] | None) -> frozenset[str]:
    return _heading_keys(tuple(headings or DEFAULT_RELATED_HEADINGS))


@lru_cache(maxsize=64)
def _heading_keys(headings: tuple[str, ...]) -> frozenset[str]:
    """Worked out once per list of headings (every page of a source has the same list)."""
    return frozenset(norm(h) for h in headings if h)


def is_related_heading(line: str, keys: frozenset[str]) -> bool:
    """A line that is exactly a related-news heading (``Tin khác``, ``Xem thêm:`` ...)."""
    if len(line) > 60:
        return False
    return norm(line) in keys


def is_timestamp(line: str) -> bool:
    """A listing time stamp such as ``Hoạt động 20/04/2025 22:49``."""
    return len(line) <= 70 and bool(_TIMESTAMP.match(line.strip()))


_DATELINE = re.compile(
    r"^(?:(?:thứ\s+\w+|chủ nhật)\s*,?\s*)?(?:ngày\s+)?\d{1,2}/\d{1,2}/\d{4}"
    r"(?:\s*[-,|]?\s*\d{1,2}:\d{2}(?::\d{2})?)?(?:\s*\(?GMT[+-]\d{1,2}\)?)?$",
    re.I,
)


def is_dateline(line: str) -> bool:
    """A publication date line: ``Thứ hai, 20/04/2025 22:49 (GMT+7)``."""
    return len(line) <= 60 and bool(_DATELINE.match(line.strip()))


def is_image_marker(line: str) -> bool:
    """A markdown image left by a text extractor: ``![]() |`` or ``![alt](src)``."""
    return bool(_IMAGE_MARKER.match(line.strip()))


def ends_sentence(line: str) -> bool:
    s = line.rstrip().rstrip(CLOSING).rstrip()
    return bool(s) and s[-1] in SENTENCE_END


def has_inner_sentence_break(line: str) -> bool:
    """True when a full stop ends one sentence and another starts (``... năm 2020. Các ...``)."""
    return bool(re.search(r"[.!?…][\"'”’)]?\s+[\"'“(]?[A-ZĐÀ-Ỹ0-9]", line))


def is_name_like(line: str, max_words: int = 5) -> bool:
    """A byline: a short run of capitalised words (``Bảo Thoa``, ``Nguyễn Văn An (tổng hợp)``)."""
    s = re.sub(r"\s*\([^)]{1,30}\)\s*$", "", line.strip())
    s = re.sub(r"^(?:Bài và ảnh|Bài|Ảnh|Theo|Tác giả)\s*[:\-–]?\s*", "", s)
    if not s or len(s) > 50 or any(ch.isdigit() for ch in s):
        return False
    words = s.replace("-", " ").split()
    if not 2 <= len(words) <= max_words:
        return False
    return all(w[0].isupper() and w.strip(".").isalpha() for w in words)


def similar(a: str, b: str, threshold: float = 0.85) -> bool:
    na, nb = norm(a), norm(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    if min(len(na), len(nb)) / max(len(na), len(nb)) < threshold:
        return False
    return SequenceMatcher(None, na, nb, autojunk=False).ratio() >= threshold


def _glue_points(words: list[str]) -> list[int]:
    """Indexes of words that could start a new headline glued onto the previous one."""
    points = []
    for i in range(1, len(words)):
        prev, word = words[i - 1], words[i]
        # a headline starts with a capital letter; a number or an opening quote after a word
        # usually continues the same headline
        head = word
        if not head[0].isupper() or head.rstrip(",.:;") in _MIDSENTENCE_CAPITALS:
            continue
        prev_core = prev.rstrip(CLOSING)
        if not prev_core or prev_core[-1] in ",;:-–—(":
            continue
        prev_upper = prev_core[0].isupper() and prev_core == prev  # inside a proper-noun run
        if prev_upper and head[0].isupper() and not prev.endswith(("”", '"')):
            continue
        if prev_core.lower() in _CONTINUERS:
            continue
        points.append(i)
    return points


def split_glued_headlines(line: str, min_chars: int = 25) -> list[str]:
    """Best-effort split of run-together headlines at capitalised words after a word end."""
    line = line.strip().rstrip("|").strip()
    words = line.split()
    pieces: list[str] = []
    start = 0
    for i in _glue_points(words):
        left = " ".join(words[start:i])
        right = " ".join(words[i:])
        if len(left) >= min_chars and len(right) >= min_chars:
            pieces.append(left)
            start = i
    pieces.append(" ".join(words[start:]))
    return [p for p in pieces if p]


def looks_like_glued_headlines(
    line: str, known_titles: Iterable[str] = (), *, by_shape: bool = True
) -> bool:
    """Several related headlines run together on one line (no sentence inside, glue points).

    ``known_titles`` are related headlines found elsewhere on the page; a line made of them is
    glued headlines whatever its shape.
    """
    s = line.strip()
    if len(s) < 40 or len(s) > _MAX_GLUED_CHARS or has_inner_sentence_break(s):
        return False
    known = [norm(t) for t in known_titles if len(t) >= 20]
    if known:
        ns = norm(s)
        covered = sum(len(t) for t in known if t in ns)
        if covered >= 0.6 * len(ns):
            return True
    if not by_shape:
        return False
    if s.endswith("|"):
        return len(split_glued_headlines(s)) >= 2
    if ends_sentence(s) or len(s) > 500:
        return False
    pieces = split_glued_headlines(s)
    return len(pieces) >= 2 and len(s) >= 90 and all(len(p) <= 200 for p in pieces)


def word_count(text: str) -> int:
    return len(_TOKEN.findall(text))
