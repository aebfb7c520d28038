"""A fault-injecting web server on 127.0.0.1 for fetch and discovery tests.

Every misbehaviour a news server shows crosses a real socket: 429 with ``Retry-After``, 503
before a 200, a read that stalls past the client's timeout, a 20 MB body, pages in windows-1258
or with a wrong or missing charset, redirect loops and chains, a redirect to a foreign host,
robots.txt rules and crawl delay, ETag / Last-Modified with 304, a PDF, an empty body, a
connection reset and a 404. Tests add their own listing pages, feeds and sitemaps with
:meth:`FaultSite.add`. Every request is recorded in :attr:`FaultSite.hits`.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import socket
import struct
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TONES = "\u0300\u0301\u0303\u0309\u0323"

VI_TEXT = (
    "Liên đoàn Lao động quận Mẫu tổ chức hội nghị tổng kết công tác năm, trao tặng 1.250 suất "
    "quà cho đoàn viên có hoàn cảnh khó khăn. Người lao động phấn khởi đón Tết, công đoàn cơ sở "
    "tiếp tục chăm lo đời sống, việc làm và thu nhập cho công nhân."
)


def encode_cp1258(text: str) -> bytes:
    """windows-1258 bytes of ``text``: tone marks as separate combining characters."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in parts if m in _TONES)
        base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in _TONES))
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def page_html(title: str, body: str = VI_TEXT, charset_meta: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    return (
        f"<!DOCTYPE html><html lang=vi><head>{meta}<title>{title}</title></head>"
        f"<body><article><h1>{title}</h1><p>{body}</p></article></body></html>"
    )


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hit:
    path: str
    at: float
    headers: dict[str, str]
    status: int = 0


ROBOTS = "User-agent: *\nDisallow: /private/\n"
ETAG = '"v1-abc"'
LAST_MODIFIED = "Tue, 05 Mar 2024 08:00:00 GMT"


class FaultSite:
    """Context manager: ``with FaultSite() as site: site.url('/ok')``."""

    def __init__(
        self,
        robots: str | None = ROBOTS,
        *,
        stall_s: float = 2.0,
        huge_bytes: int = 20_000_000,
        flaky_failures: int = 2,
        robots_status: int = 200,
    ) -> None:
        self.robots = robots
        self.robots_status = robots_status
        self.stall_s = stall_s
        self.huge_bytes = huge_bytes
        self.flaky_failures = flaky_failures
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self.counters: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def __enter__(self) -> FaultSite:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve ``body`` at ``path``; returns the absolute URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        hdrs = {"Content-Type": content_type} if content_type else {}
        hdrs.update(headers or {})
        self.routes[path] = Route(data, status, hdrs)
        return self.url(path)

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def count(self, path: str) -> int:
        with self._lock:
            self.counters[path] = self.counters.get(path, 0) + 1
            return self.counters[path]


def _make_handler(site: FaultSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FaultSite/1.0"

        def setup(self) -> None:
            super().setup()
            # headers and body go out as separate writes: without this, Nagle's algorithm and
            # the client's delayed ACK add ~40 ms to every keep-alive response
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            hit = Hit(path, time.monotonic(), {k.lower(): v for k, v in self.headers.items()})
            with site._lock:
                site.hits.append(hit)
            handler = _FAULTS.get(path) or _prefix_fault(path)
            if handler is not None:
                handler(self, site, hit)
            elif path in site.routes:
                r = site.routes[path]
                self.send(r.status, r.body, r.headers, hit)
            else:
                self.send(404, b"<html><body>not found</body></html>", _HTML, hit)

        def send(self, status: int, body: bytes, headers: dict[str, str], hit: Hit) -> None:
            hit.status = status
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler


_HTML = {"Content-Type": "text/html; charset=utf-8"}


def _ok_page(h: Any, site: FaultSite, hit: Hit) -> None:
    h.send(200, page_html("Trang " + hit.path).encode(), _HTML, hit)


def _robots(h: Any, site: FaultSite, hit: Hit) -> None:
    if site.robots is None:
        h.send(404, b"", {"Content-Type": "text/plain"}, hit)
    else:
        h.send(site.robots_status, site.robots.encode(), {"Content-Type": "text/plain"}, hit)


def _too_many(h: Any, site: FaultSite, hit: Hit) -> None:
    if site.count(hit.path) == 1:
        h.send(429, b"slow down", {"Retry-After": "1", "Content-Type": "text/plain"}, hit)
    else:
        _ok_page(h, site, hit)


def _too_many_forever(h: Any, site: FaultSite, hit: Hit) -> None:
    h.send(429, b"go away", {"Retry-After": "3600", "Content-Type": "text/plain"}, hit)


def _flaky(h: Any, site: FaultSite, hit: Hit) -> None:
    if site.count(hit.path) <= site.flaky_failures:
        h.send(503, b"busy", {"Content-Type": "text/plain"}, hit)
    else:
        _ok_page(h, site, hit)


def _always_500(h: Any, site: FaultSite, hit: Hit) -> None:
    h.send(500, b"boom", {"Content-Type": "text/plain"}, hit)


def _stall(h: Any, site: FaultSite, hit: Hit) -> None:
    body = page_html("Chậm").encode()
    hit.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body[:100])
    h.wfile.flush()
    time.sleep(site.stall_s)
    with contextlib.suppress(OSError):
        h.wfile.write(body[100:])


def _stall_headers(h: Any, site: FaultSite, hit: Hit) -> None:
    time.sleep(site.stall_s)
    with contextlib.suppress(OSError):
        _ok_page(h, site, hit)


def _huge(h: Any, site: FaultSite, hit: Hit, declare: bool) -> None:
    hit.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    if declare:
        h.send_header("Content-Length", str(site.huge_bytes))
    else:
        h.send_header("Connection", "close")
        h.close_connection = True
    h.end_headers()
    chunk = b"<p>" + b"x" * 65530 + b"</p>"
    sent = 0
    try:
        while sent < site.huge_bytes:
            part = chunk[: site.huge_bytes - sent]
            h.wfile.write(part)
            sent += len(part)
    except OSError:
        pass
    with site._lock:
        site.counters["huge_sent:" + hit.path] = sent


def _cp1258(h: Any, site: FaultSite, hit: Hit, header: str | None, meta: str | None) -> None:
    body = encode_cp1258(page_html("Công đoàn", VI_TEXT, meta))
    h.send(200, body, {"Content-Type": header} if header else {}, hit)


def _latin1_declared_utf8(h: Any, site: FaultSite, hit: Hit) -> None:
    body = page_html("Công đoàn", VI_TEXT, None).encode("utf-8")
    h.send(200, body, {"Content-Type": "text/html; charset=iso-8859-1"}, hit)


def _redirect(h: Any, hit: Hit, location: str, status: int = 302) -> None:
    h.send(status, b"", {"Location": location}, hit)


def _conditional(h: Any, site: FaultSite, hit: Hit) -> None:
    if hit.headers.get("if-none-match") == ETAG or (
        hit.headers.get("if-modified-since") == LAST_MODIFIED
    ):
        h.send(304, b"", {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}, hit)
        return
    headers = dict(_HTML, ETag=ETAG)
    headers["Last-Modified"] = LAST_MODIFIED
    h.send(200, page_html("Có ETag").encode(), headers, hit)


def _reset(h: Any, site: FaultSite, hit: Hit) -> None:
    hit.status = -1
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.close_connection = True
    h.wfile = _Sink()


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _reset_once(h: Any, site: FaultSite, hit: Hit) -> None:
    if site.count(hit.path) == 1:
        _reset(h, site, hit)
    else:
        _ok_page(h, site, hit)


@functools.lru_cache(maxsize=2)
def gzip_bomb(size: int) -> bytes:
    """``size`` bytes of HTML gzipped to a few kilobytes (cached: compressing takes a while)."""
    return gzip.compress(b"<p>" + b"0" * size, compresslevel=6)


def _gzip_bomb(h: Any, site: FaultSite, hit: Hit) -> None:
    body = gzip_bomb(site.huge_bytes)
    h.send(200, body, dict(_HTML, **{"Content-Encoding": "gzip"}), hit)


_FAULTS: dict[str, Any] = {
    "/gzip-bomb": _gzip_bomb,
    "/robots.txt": _robots,
    "/429": _too_many,
    "/429-forever": _too_many_forever,
    "/503-then-200": _flaky,
    "/500": _always_500,
    "/stall": _stall,
    "/stall-headers": _stall_headers,
    "/huge": lambda h, s, hit: _huge(h, s, hit, declare=False),
    "/huge-declared": lambda h, s, hit: _huge(h, s, hit, declare=True),
    "/cp1258": lambda h, s, hit: _cp1258(h, s, hit, "text/html; charset=windows-1258", None),
    "/cp1258-meta": lambda h, s, hit: _cp1258(h, s, hit, "text/html", "windows-1258"),
    "/cp1258-undeclared": lambda h, s, hit: _cp1258(h, s, hit, "text/html", None),
    "/cp1258-no-content-type": lambda h, s, hit: _cp1258(h, s, hit, None, None),
    "/cp1258-declared-utf8": lambda h, s, hit: _cp1258(h, s, hit, "text/html; charset=utf-8", None),
    "/cp1258-declared-cp1252": lambda h, s, hit: _cp1258(
        h, s, hit, "text/html; charset=windows-1252", None
    ),
    "/utf8-declared-latin1": _latin1_declared_utf8,
    "/loop/a": lambda h, s, hit: _redirect(h, hit, "/loop/b"),
    "/loop/b": lambda h, s, hit: _redirect(h, hit, "/loop/a", 301),
    "/redirect-ok": lambda h, s, hit: _redirect(h, hit, "/ok/target.html", 301),
    "/redirect-foreign": lambda h, s, hit: _redirect(h, hit, f"http://localhost:{s.port}/ok/x"),
    "/redirect-robots": lambda h, s, hit: _redirect(h, hit, "/private/secret.html"),
    "/conditional": _conditional,
    "/pdf": lambda h, s, hit: h.send(
        200, b"%PDF-1.4 ...", {"Content-Type": "application/pdf"}, hit
    ),
    "/empty": lambda h, s, hit: h.send(200, b"", _HTML, hit),
    "/reset": _reset,
    "/reset-once": _reset_once,
    "/private/secret.html": _ok_page,
}


def _prefix_fault(path: str) -> Any:
    if path.startswith("/ok/"):
        return _ok_page
    if path.startswith("/chain/"):
        # /chain/N redirects to /chain/N-1 ... /chain/0 is a page
        n = int(path.rsplit("/", 1)[1] or 0)
        if n <= 0:
            return _ok_page
        return lambda h, s, hit: _redirect(h, hit, f"/chain/{n - 1}")
    return None


__all__ = [
    "ETAG",
    "LAST_MODIFIED",
    "VI_TEXT",
    "FaultSite",
    "encode_cp1258",
    "formatdate",
    "page_html",
]
