"""Serve the sample site on a free loopback port (ThreadingHTTPServer in a background thread).

Routes: ``/`` home, ``/<category>`` and ``/<category>/p<N>`` listings (newest first),
``/rss/<category>.rss`` (RSS 2.0), ``/sitemap.xml``, ``/robots.txt``, every article at
``/<slug>-<id>.html``; anything else is a 404 page. Every 200 answer carries ``ETag`` and
``Last-Modified`` and a conditional GET that matches gets ``304 Not Modified``.

    with SampleSite() as site:
        requests.get(site.base_url + "/cong-doan")
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from union_news.sample_site.model import SampleArticle, load_sample_articles
from union_news.sample_site.render import (
    listing_pages,
    render_article_html,
    render_home_html,
    render_listing_html,
    render_not_found_html,
    render_robots,
    render_rss,
    render_sitemap,
)

HTML = "text/html; charset=utf-8"
_LISTING = re.compile(r"^/([a-z0-9-]+?)(?:/p(\d+))?/?$")
_FEED = re.compile(r"^/rss/([a-z0-9-]+)\.rss$")


@dataclass(frozen=True, slots=True)
class Resource:
    body: bytes
    content_type: str
    last_modified: datetime
    etag: str


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the site answered (kept for tests: conditional GETs, request rates)."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    at: datetime


def _resource(text: str, content_type: str, modified: datetime) -> Resource:
    body = text.encode("utf-8")
    return Resource(body, content_type, modified, '"' + hashlib.sha1(body).hexdigest()[:20] + '"')


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away (a fetch worker exiting with a keep-alive connection open) is
    normal for a web server: not a traceback on stderr. Other errors are still printed."""

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - stdlib signature
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SampleSite:
    """The bundled sample site served on ``127.0.0.1:<free port>``.

    ``articles_dir`` overrides the bundled ``articles/``; ``per_page`` is the listing page size.
    All pages are rendered once at ``start()`` with absolute links to ``base_url``.
    """

    def __init__(
        self,
        articles_dir: str | Path | None = None,
        per_page: int = 10,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.articles_dir = articles_dir
        self.per_page = per_page
        self.host = host
        self.port = port
        self.articles: list[SampleArticle] = load_sample_articles(articles_dir)
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: dict[str, Resource] = {}
        self._not_found = b""

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(
                "SampleSite is not running: call start() or use it as a context manager"
            )
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> SampleSite:
        if self._server is not None:
            return self
        server = _QuietServer((self.host, self.port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._build_routes()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sample-site",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SampleSite:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- content -----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def article_urls(self, *, include_special: bool = True) -> list[str]:
        return [self.url(a.path) for a in self.articles if include_special or a.kind == "article"]

    def listing_urls(self, category: str = "cong-doan") -> list[str]:
        in_cat = [a for a in self.articles if a.category == category]
        pages = listing_pages(in_cat, self.per_page)
        return [
            self.url(f"/{category}" if p == 1 else f"/{category}/p{p}") for p in range(1, pages + 1)
        ]

    def _build_routes(self) -> None:
        base = self.base_url
        arts = self.articles
        newest = max((a.published for a in arts), default=datetime(2024, 6, 30, tzinfo=UTC))
        routes: dict[str, Resource] = {}
        for a in arts:
            routes[a.path] = _resource(render_article_html(a, base), HTML, a.published)
        for cat in sorted({a.category for a in arts}):
            in_cat = [a for a in arts if a.category == cat]
            cat_newest = max(a.published for a in in_cat)
            for page in range(1, listing_pages(in_cat, self.per_page) + 1):
                html = render_listing_html(in_cat, cat, page, self.per_page, base)
                assert html is not None
                res = _resource(html, HTML, cat_newest)
                routes[f"/{cat}" if page == 1 else f"/{cat}/p{page}"] = res
            routes[f"/rss/{cat}.rss"] = _resource(
                render_rss(in_cat, cat, base), "application/rss+xml; charset=utf-8", cat_newest
            )
        routes["/"] = _resource(render_home_html(arts, base), HTML, newest)
        routes["/sitemap.xml"] = _resource(
            render_sitemap(arts, base), "application/xml; charset=utf-8", newest
        )
        routes["/robots.txt"] = _resource(render_robots(base), "text/plain; charset=utf-8", newest)
        self._routes = routes
        self._not_found = render_not_found_html(base).encode("utf-8")

    def resolve(self, path: str) -> Resource | None:
        """The resource served at ``path`` (query string ignored), None for a 404."""
        path = urlsplit(path).path or "/"
        found = self._routes.get(path)
        if found is None and path.endswith("/") and path != "/":
            found = self._routes.get(path.rstrip("/"))
        if found is None and (m := _LISTING.match(path)) and m.group(2) == "1":
            found = self._routes.get(f"/{m.group(1)}")  # /cong-doan/p1 is page 1
        return found

    def _record(self, rec: RequestRecord) -> None:
        with self._lock:
            self.requests.append(rec)


def _not_modified(handler: BaseHTTPRequestHandler, res: Resource) -> bool:
    inm = handler.headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or res.etag in tags
    ims = handler.headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return res.last_modified.replace(microsecond=0) <= since
    return False


def _make_handler(site: SampleSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "SampleSite/1.0"
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body are separate writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every keep-alive response
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet: tests read site.requests instead

        def do_GET(self) -> None:  # noqa: N802
            self._answer(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

        def _answer(self, body: bool) -> None:
            res = site.resolve(self.path)
            if res is None:
                status, payload, ctype = 404, site._not_found, HTML
                headers: dict[str, str] = {}
            else:
                headers = {
                    "ETag": res.etag,
                    "Last-Modified": format_datetime(
                        res.last_modified.astimezone(UTC), usegmt=True
                    ),
                    "Cache-Control": "public, max-age=60",
                }
                if _not_modified(self, res):
                    status, payload, ctype = 304, b"", None
                else:
                    status, payload, ctype = 200, res.body, res.content_type
            site._record(
                RequestRecord(
                    self.command, self.path, status, dict(self.headers.items()), datetime.now(UTC)
                )
            )
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for k, v in headers.items():
                self.send_header(k, v)
            if status != 304:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body and status != 304:
                self.wfile.write(payload)

    return Handler
