"""Polite, defensive HTTP fetching: the only module (with discovery) that talks to the network.

A :class:`Fetcher` serves one source profile. It keeps one ``requests.Session`` per host, obeys
robots.txt (parsed with protego, cached per host, crawl delay honoured), spaces requests to a host
by a minimum delay, retries connection errors, timeouts, 429 and 5xx with exponential backoff and
full jitter (a ``Retry-After`` is honoured up to a cap), streams bodies and aborts them past a
size limit, checks the content type, decodes the charset (header, meta, then detection; Vietnamese
windows-1258 included), follows redirects itself (limited, kept on the profile's hosts) and sends
conditional requests. Security: only the profile's allowed hosts are fetched and, unless the
profile sets ``allow_private_addresses``, no host that resolves to (or connects to) a loopback,
private, link-local or otherwise non-global address.

Every call ends in a :class:`FetchedPage` or a :class:`FetchFailure` whose ``error`` is a short
kind: ``http_<status>``, ``timeout``, ``connection``, ``dns``, ``too_large``, ``empty_body``,
``robots``, ``bad_content_type``, ``bad_url``, ``host_not_allowed``, ``private_address``,
``too_many_redirects``.
"""

from __future__ import annotations

import codecs
import email.utils
import ipaddress
import random
import re
import socket
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from protego import Protego
from urllib3.exceptions import ReadTimeoutError

from union_news.models import FetchedPage, FetchFailure
from union_news.profiles import SourceProfile
from union_news.settings import load_settings

try:
    from importlib.metadata import version as _pkg_version

    __version__ = _pkg_version("union-news")
except Exception:  # noqa: BLE001 - running from a source tree without metadata
    __version__ = "0.1.0"

DEFAULT_USER_AGENT = f"union-news/{__version__} (+https://github.com/union-news/union-news)"
ROBOTS_AGENT = "union-news"

# Media types a page, a feed or a sitemap may come as.
ALLOWED_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "application/xml",
        "text/xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "text/plain",
    }
)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_CODES = frozenset({429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})

# Settings read with these fallbacks when defaults.toml lacks them.
FETCH_FALLBACKS: dict[str, Any] = {
    "user_agent": DEFAULT_USER_AGENT,
    "connect_timeout_s": 5.0,
    "read_timeout_s": 20.0,
    "total_timeout_s": 60.0,  # whole request, body included (a slow drip cannot hold a worker)
    "max_bytes": 5_000_000,
    "min_delay_s": 1.0,
    "max_retries": 4,
    "backoff_base_s": 1.0,
    "backoff_max_s": 60.0,
    "retry_after_max_s": 120.0,  # a longer Retry-After ends the attempt instead of waiting
    "max_redirects": 5,
    "obey_robots": True,
    "max_crawl_delay_s": 30.0,  # robots.txt crawl delays are honoured up to this
    "robots_max_bytes": 512_000,
}


def fetch_settings(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``[fetch]`` settings: fallbacks, then defaults.toml/env, then ``settings['fetch']``
    (or, when ``settings`` has no sections, its ``[fetch]`` keys)."""
    merged = dict(FETCH_FALLBACKS)
    merged.update(load_settings().get("fetch", {}))
    if settings:
        if "fetch" in settings:  # a whole settings dict, like load_settings() returns
            merged.update(settings.get("fetch") or {})
        else:  # just [fetch] keys
            merged.update({k: v for k, v in settings.items() if k in FETCH_FALLBACKS})
    ua = str(merged.get("user_agent") or DEFAULT_USER_AGENT)
    merged["user_agent"] = ua.replace("{version}", __version__)
    return merged


def is_private_address(ip: str) -> bool:
    """True for loopback, private, link-local, shared, reserved, multicast and unspecified IPs."""
    try:
        addr = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return True
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not addr.is_global or addr.is_multicast


def host_key(url: str) -> str:
    """``scheme://host[:port]`` of a URL: the unit for sessions, robots.txt and rate limits."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def _settle_environment(session: requests.Session, key: str) -> None:
    """Read the environment's proxy and CA-bundle settings once, for the host ``key`` this
    session serves, instead of at every request: with ``trust_env`` requests re-reads every
    environment variable twice per request (proxies for the URL, then again for redirects),
    a fifth of a loopback fetch's CPU. Same proxies (``*_proxy``, ``no_proxy``) and CA bundle
    (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``); ``~/.netrc`` credentials are not sent (a
    crawler has no business sending them to news sites)."""
    import os

    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(key + "/"))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


class _Refused(Exception):
    """The fetch ends without a page (``attempts`` = requests spent on the failing exchange)."""

    def __init__(self, kind: str, detail: str, status: int | None = None, attempts: int = 0):
        super().__init__(detail)
        self.kind, self.detail, self.status, self.attempts = kind, detail, status, attempts


@dataclass
class _Exchange:
    """One HTTP response as the retry loop hands it back (body read only for 2xx)."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes | None
    attempts: int
    media_type: str | None = None


@dataclass
class _RobotsEntry:
    parser: Protego | None  # None = allow everything
    disallow_all: bool = False
    reason: str = ""
    crawl_delay: float = 0.0


class SharedPace:
    """Request spacing shared by several processes (a run's worker processes fetching for one
    source): a request starts at least ``delay`` seconds after the previous one started,
    whichever process sent it. ``lock`` and ``last`` are a ``multiprocessing`` lock and a
    ``Value('d')`` created by the parent; ``time.monotonic`` is one clock for all processes.
    """

    def __init__(self, lock: Any, last: Any) -> None:
        self.lock, self.last = lock, last

    def wait(self, delay: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> float:
        """Wait for this process's turn; the seconds slept."""
        slept = 0.0
        with self.lock:
            previous = self.last.value
            if previous > 0 and delay > 0:
                wait = previous + delay - clock()
                if wait > 0:
                    sleep(wait)
                    slept = wait
            self.last.value = clock()
        return slept


def min_delay_for(profile: SourceProfile, settings: dict[str, Any] | None = None) -> float:
    """The spacing the profile (else the ``[fetch]`` settings) asks between two requests."""
    delay = (profile.fetch or {}).get("min_delay_s")
    return float(fetch_settings(settings)["min_delay_s"] if delay is None else delay)


@dataclass
class FetchStats:
    """Counters for benchmarks and the run log."""

    requests: int = 0
    retries: int = 0
    slept_s: float = 0.0
    request_times: dict[str, list[float]] = field(default_factory=dict)


class Fetcher:
    """Fetches pages for one source profile; ``close()`` (or ``with``) releases the sessions."""

    def __init__(
        self,
        profile: SourceProfile,
        settings: dict[str, Any] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        pace: SharedPace | None = None,
    ) -> None:
        self.profile = profile
        self._pace = pace  # spacing shared with other processes, if any
        self.settings = fetch_settings(settings)
        self._sleep, self._clock = sleep, clock
        delay = (profile.fetch or {}).get("min_delay_s")
        self.min_delay_s = float(self.settings["min_delay_s"] if delay is None else delay)
        self.user_agent: str = self.settings["user_agent"]
        self.stats = FetchStats()
        self._sessions: dict[str, requests.Session] = {}
        self._robots: dict[str, _RobotsEntry] = {}
        self._last_request: dict[str, float] = {}
        self._address_ok: dict[str, bool] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._rng = random.Random()

    # -- public API --------------------------------------------------------------------------

    def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedPage | FetchFailure:
        """GET ``url`` (conditionally when a validator is given): a page, or why there is none."""
        attempts = 0
        current = url
        seen: set[str] = set()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            for hop in range(int(self.settings["max_redirects"]) + 1):
                self._check_target(current)
                self._check_robots(current)
                seen.add(current)
                ex = self._exchange(current, headers)
                attempts += ex.attempts
                if ex.status in REDIRECT_CODES:
                    location = ex.headers.get("location")
                    if not location:
                        raise _Refused("http_" + str(ex.status), "redirect without Location")
                    nxt = urljoin(current, location.strip()).split("#")[0]
                    if nxt in seen:
                        raise _Refused(
                            "too_many_redirects", f"redirect loop: {current} -> {nxt}", ex.status
                        )
                    if hop == int(self.settings["max_redirects"]):
                        break
                    current = nxt
                    continue
                return self._finish(url, ex, attempts, etag, last_modified)
            raise _Refused(
                "too_many_redirects",
                f"more than {self.settings['max_redirects']} redirects (last {current})",
            )
        except _Refused as err:
            return FetchFailure(
                url=url,
                error=err.kind,
                status=err.status,
                attempts=attempts + err.attempts,
                detail=err.detail,
                source=self.profile.name,
                at=datetime.now(UTC),
            )

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def delay_for(self, url: str) -> float:
        """The minimum spacing between two requests to this URL's host."""
        entry = self._robots.get(host_key(url))
        crawl = entry.crawl_delay if entry else 0.0
        return max(self.min_delay_s, min(crawl, float(self.settings["max_crawl_delay_s"])))

    # -- checks ------------------------------------------------------------------------------

    def _check_target(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise _Refused("bad_url", f"not an http(s) URL: {url!r}")
        if parts.username or parts.password:
            raise _Refused("bad_url", f"URL with credentials refused: {parts.hostname}")
        host = parts.hostname.lower()
        if not self.profile.allows_host(host):
            raise _Refused(
                "host_not_allowed",
                f"host {host!r} is not among profile {self.profile.name!r}'s hosts "
                f"({', '.join(self.profile.hosts) or 'none'})",
            )
        if self.profile.allow_private_addresses:
            return
        key = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        if key not in self._address_ok:
            self._address_ok[key] = self._resolves_public(host, parts.port, parts.scheme)
        if not self._address_ok[key]:
            raise _Refused(
                "private_address",
                f"host {host!r} resolves to a private or loopback address; refused because "
                f"profile {self.profile.name!r} does not set allow_private_addresses",
            )

    def _resolves_public(self, host: str, port: int | None, scheme: str) -> bool:
        try:
            ipaddress.ip_address(host.strip("[]"))
            return not is_private_address(host.strip("[]"))
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, port or (443 if scheme == "https" else 80))
        except OSError as err:
            raise _Refused("dns", f"cannot resolve {host!r}: {err}") from err
        ips = {info[4][0] for info in infos}
        return bool(ips) and not any(is_private_address(ip) for ip in ips)

    def _check_robots(self, url: str) -> None:
        if not self.settings["obey_robots"]:
            return
        key = host_key(url)
        entry = self._robots.get(key)
        if entry is None:
            entry = self._robots[key] = self._load_robots(key)
        if entry.disallow_all:
            raise _Refused("robots", entry.reason)
        if entry.parser is not None and not entry.parser.can_fetch(url, ROBOTS_AGENT):
            raise _Refused("robots", f"robots.txt of {key} disallows {urlsplit(url).path}")

    def _load_robots(self, key: str) -> _RobotsEntry:
        url = key + "/robots.txt"
        for _ in range(int(self.settings["max_redirects"]) + 1):
            try:
                ex = self._exchange(url, {}, robots=True)
            except _Refused as err:
                if err.kind in {"private_address", "host_not_allowed"}:
                    raise  # a security refusal stands for the page as well
                if (
                    err.kind in {"http_429"}
                    or err.kind.startswith("http_5")
                    or err.kind
                    in {
                        "timeout",
                        "connection",
                        "dns",
                    }
                ):
                    # RFC 9309 2.3.1.4: an unreachable robots.txt means complete disallow.
                    return _RobotsEntry(
                        None, True, f"robots.txt of {key} unreachable ({err.kind}): not crawling"
                    )
                return _RobotsEntry(None)
            if ex.status in REDIRECT_CODES and ex.headers.get("location"):
                nxt = urljoin(url, ex.headers["location"])
                try:
                    self._check_target(nxt)
                except _Refused:
                    return _RobotsEntry(None)
                url = nxt
                continue
            if 200 <= ex.status < 300 and ex.body is not None:
                text = ex.body.decode("utf-8", errors="replace")
                parser = Protego.parse(text)
                crawl = parser.crawl_delay(ROBOTS_AGENT) or 0.0
                rate = parser.request_rate(ROBOTS_AGENT)
                if rate and rate.requests:
                    crawl = max(crawl, rate.seconds / rate.requests)
                return _RobotsEntry(parser, crawl_delay=float(crawl))
            return _RobotsEntry(None)  # 4xx: no robots.txt, everything allowed
        return _RobotsEntry(None)

    # -- one exchange, with rate limit and retries ------------------------------------------------

    def _session(self, key: str) -> requests.Session:
        with self._guard:
            session = self._sessions.get(key)
            if session is None:
                session = requests.Session()
                _settle_environment(session, key)
                session.headers.update(
                    {
                        "User-Agent": self.user_agent,
                        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,"
                        "text/plain;q=0.8,*/*;q=0.1",
                        "Accept-Language": "vi,en;q=0.5",
                    }
                )
                self._sessions[key] = session
            return session

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _wait_turn(self, url: str) -> None:
        key = host_key(url)
        delay = self.delay_for(url)
        last = self._last_request.get(key)
        if self._pace is not None:
            self.stats.slept_s += self._pace.wait(delay, self._clock, self._sleep)
        elif last is not None and delay > 0:
            wait = last + delay - self._clock()
            if wait > 0:
                self.stats.slept_s += wait
                self._sleep(wait)
        now = self._clock()
        self._last_request[key] = now
        self.stats.requests += 1
        self.stats.request_times.setdefault(key, []).append(now)

    def _backoff(self, attempt: int) -> float:
        base = float(self.settings["backoff_base_s"])
        cap = float(self.settings["backoff_max_s"])
        return self._rng.uniform(0, min(cap, base * (2 ** (attempt - 1))))

    def _exchange(self, url: str, headers: dict[str, str], robots: bool = False) -> _Exchange:
        key = host_key(url)
        tries = int(self.settings["max_retries"]) + 1
        last_kind, last_detail, last_status = "connection", "", None
        with self._lock(key):
            for attempt in range(1, tries + 1):
                self._wait_turn(url)
                retry_after: float | None = None
                try:
                    return self._one_request(key, url, headers, attempt, robots)
                except _Refused as err:
                    err.attempts = attempt
                    raise
                except _Retry as err:
                    last_kind, last_detail, last_status = err.kind, err.detail, err.status
                    retry_after = err.retry_after
                if attempt == tries:
                    break
                pause = self._backoff(attempt)
                if retry_after is not None:
                    if retry_after > float(self.settings["retry_after_max_s"]):
                        last_detail += (
                            f"; Retry-After {retry_after:.0f} s is beyond the "
                            f"{self.settings['retry_after_max_s']} s cap"
                        )
                        break
                    pause = max(pause, retry_after)
                self.stats.retries += 1
                self.stats.slept_s += pause
                self._sleep(pause)
        raise _Refused(
            last_kind, f"{last_detail} (after {attempt} attempt(s))", last_status, attempt
        )

    def _one_request(
        self, key: str, url: str, headers: dict[str, str], attempt: int, robots: bool
    ) -> _Exchange:
        timeout = (
            float(self.settings["connect_timeout_s"]),
            float(self.settings["read_timeout_s"]),
        )
        started = self._clock()
        try:
            resp = self._session(key).get(
                url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
            )
        except requests.exceptions.Timeout as err:
            raise _Retry("timeout", f"timed out: {err.__class__.__name__}") from err
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as err:
            raise _Retry("connection", f"connection failed: {_short(err)}") from err
        except requests.exceptions.RequestException as err:
            raise _Refused("connection", f"request failed: {_short(err)}") from err
        try:
            self._check_peer(resp)
            status = resp.status_code
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            if status in RETRY_CODES or 500 <= status < 600:
                raise _Retry(
                    f"http_{status}",
                    f"HTTP {status}",
                    status,
                    _retry_after(hdrs.get("retry-after")),
                )
            if not 200 <= status < 300:
                if robots or status in REDIRECT_CODES or status == 304:
                    return _Exchange(url, status, hdrs, None, attempt)
                raise _Refused(f"http_{status}", f"HTTP {status}", status)
            media = _media_type(hdrs.get("content-type"))
            if not robots and media is not None and media not in ALLOWED_TYPES:
                raise _Refused(
                    "bad_content_type", f"content type {media!r} is not a page or feed", status
                )
            limit = int(self.settings["robots_max_bytes" if robots else "max_bytes"])
            body = self._read_body(resp, hdrs, limit, started, robots)
            return _Exchange(url, status, hdrs, body, attempt, media)
        finally:
            resp.close()

    def _check_peer(self, resp: requests.Response) -> None:
        """Refuse a connection that ended on a private address (DNS rebinding safety net)."""
        if self.profile.allow_private_addresses:
            return
        try:
            sock = resp.raw._connection.sock  # type: ignore[union-attr]
            ip = sock.getpeername()[0]
        except Exception:  # noqa: BLE001 - not every transport exposes its socket
            return
        if is_private_address(ip):
            raise _Refused("private_address", f"connected to private address {ip}; refused")

    def _read_body(
        self,
        resp: requests.Response,
        hdrs: dict[str, str],
        limit: int,
        started: float,
        robots: bool,
    ) -> bytes:
        declared = hdrs.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            if robots:
                return b""
            raise _Refused("too_large", f"Content-Length {declared} exceeds {limit} bytes", 200)
        deadline = started + float(self.settings["total_timeout_s"])
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > limit:
                    if robots:
                        break
                    raise _Refused("too_large", f"body exceeds {limit} bytes; aborted", 200)
                chunks.append(chunk)
                if self._clock() > deadline:
                    raise _Retry(
                        "timeout", f"body not complete within {self.settings['total_timeout_s']} s"
                    )
        except requests.exceptions.ConnectionError as err:
            if any(isinstance(a, ReadTimeoutError) for a in err.args) or "timed out" in str(err):
                raise _Retry("timeout", "read timed out while receiving the body") from err
            raise _Retry("connection", f"connection broken in body: {_short(err)}") from err
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as err:
            raise _Retry("connection", f"body broken: {_short(err)}") from err
        return b"".join(chunks)

    # -- result ------------------------------------------------------------------------------

    def _finish(
        self,
        url: str,
        ex: _Exchange,
        attempts: int,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchedPage:
        now = datetime.now(UTC)
        if ex.status == 304:
            return FetchedPage(
                url=url,
                final_url=ex.url,
                status=304,
                text=None,
                etag=ex.headers.get("etag") or etag,
                last_modified=ex.headers.get("last-modified") or last_modified,
                fetched_at=now,
                source=self.profile.name,
                not_modified=True,
                attempts=attempts,
            )
        body = ex.body or b""
        if not body.strip():
            raise _Refused("empty_body", "the server sent an empty body", ex.status)
        text, encoding = decode_body(body, ex.headers.get("content-type"))
        return FetchedPage(
            url=url,
            final_url=ex.url,
            status=ex.status,
            text=text,
            content_type=ex.media_type or sniff_media_type(text),
            encoding=encoding,
            etag=ex.headers.get("etag"),
            last_modified=ex.headers.get("last-modified"),
            fetched_at=now,
            source=self.profile.name,
            attempts=attempts,
        )


class _Retry(Exception):
    def __init__(
        self, kind: str, detail: str, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(detail)
        self.kind, self.detail, self.status, self.retry_after = kind, detail, status, retry_after


def _short(err: BaseException) -> str:
    text = str(err)
    return text if len(text) <= 200 else text[:197] + "..."


def _media_type(header: str | None) -> str | None:
    if not header:
        return None
    return header.split(";")[0].strip().lower() or None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# -- charset -------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)["']""", re.I)
_LENIENT = {"latin-1", "iso8859-1", "cp1252", "iso8859-15", "cp1250"}
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
_VI_LETTERS = re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u1ea0-\u1ef9]")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'").lower()).name
    except LookupError:
        return None


def declared_charsets(body: bytes, content_type: str | None) -> list[str]:
    """Charsets declared by the Content-Type header, then a meta tag or XML declaration."""
    found: list[str] = []
    if content_type:
        m = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.I)
        if m and (c := _codec(m.group(1))):
            found.append(c)
    head = body[:4096]
    for pattern in (_XML_ENCODING, _META_CHARSET):
        m = pattern.search(head)
        if m and (c := _codec(m.group(1).decode("ascii", "ignore"))) and c not in found:
            found.append(c)
    return found


def _vi_score(text: str) -> int:
    nfc = unicodedata.normalize("NFC", text)
    stray = sum(1 for ch in nfc if unicodedata.combining(ch) or ch == "\ufffd")
    return len(_VI_LETTERS.findall(nfc)) - 3 * stray


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_body(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode a body to NFC text: BOM, declared charset (checked), else detection.

    A declaration is trusted only when the bytes decode under it; a declared Western single-byte
    charset loses to UTF-8 when the body is valid UTF-8 with non-ASCII bytes, and to windows-1258
    when that reads as Vietnamese (combining tone marks that compose).
    """
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return _nfc(
                body.decode(name if name != "utf-8" else "utf-8-sig", errors="replace")
            ), name
    for name in declared_charsets(body, content_type):
        if name in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            continue  # an ASCII-readable declaration cannot describe a UTF-16 body
        try:
            text = body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue  # the declaration is wrong: try the next one, then detection
        if name in _LENIENT or name.startswith("iso8859"):
            if (utf := _utf8(body)) is not None and not body.isascii():
                return _nfc(utf), "utf-8"
            vi = _try(body, "cp1258")
            if vi is not None and _vi_score(vi) > _vi_score(text) + 2:
                return _nfc(vi), "cp1258"
        return _nfc(text), name
    if (utf := _utf8(body)) is not None:
        return _nfc(utf), "utf-8"
    return _detect(body)


def _try(body: bytes, name: str) -> str | None:
    try:
        return body.decode(name)
    except UnicodeDecodeError:
        return None


def _detect(body: bytes) -> tuple[str, str]:
    import charset_normalizer

    options: list[tuple[str, str]] = []
    best = charset_normalizer.from_bytes(body).best()
    if best is not None and best.encoding:
        options.append((str(best), _codec(best.encoding) or best.encoding))
    if (vi := _try(body, "cp1258")) is not None:
        options.append((vi, "cp1258"))
    if not options:
        return _nfc(body.decode("utf-8", errors="replace")), "utf-8"
    text, name = max(options, key=lambda o: _vi_score(o[0]))
    return _nfc(text), name


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def sniff_media_type(text: str) -> str:
    """A media type for a body served without Content-Type."""
    head = text.lstrip()[:512].lower()
    if head.startswith("<?xml") or head.startswith("<rss") or head.startswith("<urlset"):
        return "application/xml"
    if "<html" in head or "<!doctype html" in head or "<body" in head or "<p" in head:
        return "text/html"
    return "text/plain"


def fetch_each(
    fetcher: Fetcher,
    candidates: list[Any],
    validators: dict[str, tuple[str | None, str | None]],
    *,
    pack: bool = False,
) -> list[FetchedPage | FetchFailure]:
    """A page or a failure per candidate, in order; conditional GETs where ``validators`` know
    the URL; pages tagged with the profile's name (and packed with ``pack``)."""
    out: list[FetchedPage | FetchFailure] = []
    for cand in candidates:
        etag, last_modified = validators.get(cand.url) or (None, None)
        got = fetcher.fetch(cand.url, etag=etag, last_modified=last_modified)
        if isinstance(got, FetchedPage):
            got.source = fetcher.profile.name
            if pack:
                got.pack()
        out.append(got)
    return out
