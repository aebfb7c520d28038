"""The fetcher against a fault-injecting server on loopback (tests/faultsite.py)."""

from __future__ import annotations

import time

import pytest

from tasks.fetch import fetch_all, fetch_pages
from tests.faultsite import ETAG, LAST_MODIFIED, VI_TEXT, FaultSite, gzip_bomb
from union_news import fetching
from union_news.fetching import Fetcher, decode_body, is_private_address
from union_news.models import Candidate, FetchedPage, FetchFailure
from union_news.profiles import SourceProfile

FAST = {
    "fetch": {
        "connect_timeout_s": 1.0,
        "read_timeout_s": 0.4,
        "total_timeout_s": 3.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "retry_after_max_s": 2.0,
        "max_bytes": 1_000_000,
        "max_redirects": 5,
    }
}


def profile(min_delay: float = 0.0, private: bool = True, hosts: list[str] | None = None):
    return SourceProfile(
        name="fault",
        hosts=hosts or ["127.0.0.1"],
        allow_private_addresses=private,
        fetch={"min_delay_s": min_delay},
    )


@pytest.fixture
def site():
    with FaultSite() as s:
        yield s


@pytest.fixture
def fetcher():
    with Fetcher(profile(), FAST) as f:
        yield f


def page(result) -> FetchedPage:
    assert isinstance(result, FetchedPage), result
    return result


def failure(result, kind: str) -> FetchFailure:
    assert isinstance(result, FetchFailure), result
    assert result.error == kind, result
    assert result.source == "fault" and result.detail
    return result


def test_plain_page_with_descriptive_user_agent(site, fetcher):
    got = page(fetcher.fetch(site.url("/ok/a.html")))
    assert got.status == 200 and got.attempts == 1 and got.source == "fault"
    assert VI_TEXT in got.text and got.encoding == "utf-8" and got.content_type == "text/html"
    assert got.final_url == got.url == site.url("/ok/a.html")
    ua = site.hits_for("/ok/a.html")[0].headers["user-agent"]
    assert ua.startswith("union-news/") and "+https://github.com/union-news/union-news" in ua


def test_429_waits_for_retry_after(site, fetcher):
    got = page(fetcher.fetch(site.url("/429")))
    assert got.attempts == 2
    first, second = site.hits_for("/429")
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 0.95


def test_retry_after_beyond_cap_gives_up_at_once(site, fetcher):
    started = time.monotonic()
    got = failure(fetcher.fetch(site.url("/429-forever")), "http_429")
    assert got.status == 429 and got.attempts == 1 and "Retry-After" in got.detail
    assert time.monotonic() - started < 1.0
    assert len(site.hits_for("/429-forever")) == 1


def test_503_then_200_is_retried(site, fetcher):
    got = page(fetcher.fetch(site.url("/503-then-200")))
    assert got.attempts == 3
    assert [h.status for h in site.hits_for("/503-then-200")] == [503, 503, 200]


def test_persistent_500_ends_after_the_retries(site, fetcher):
    got = failure(fetcher.fetch(site.url("/500")), "http_500")
    assert got.status == 500 and got.attempts == 3
    assert len(site.hits_for("/500")) == 3


@pytest.mark.parametrize("path", ["/stall", "/stall-headers"])
def test_stall_past_read_timeout(site, fetcher, path):
    started = time.monotonic()
    got = failure(fetcher.fetch(site.url(path)), "timeout")
    assert got.attempts == 3
    assert time.monotonic() - started < 3.0


def test_total_deadline_caps_a_slow_body(site):
    settings = {
        "fetch": dict(FAST["fetch"], read_timeout_s=5.0, total_timeout_s=0.3, max_retries=0)
    }
    site.stall_s = 0.6
    with Fetcher(profile(), settings) as f:
        started = time.monotonic()
        got = failure(f.fetch(site.url("/stall")), "timeout")
        assert "within 0.3 s" in got.detail
        # the attempt ends when the stalled chunk arrives and the deadline is checked
        assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("path", ["/huge", "/huge-declared"])
def test_20mb_body_is_aborted(site, fetcher, path):
    started = time.monotonic()
    got = failure(fetcher.fetch(site.url(path)), "too_large")
    assert got.attempts == 1 and "1000000" in got.detail
    assert time.monotonic() - started < 3.0
    deadline = time.monotonic() + 3
    while f"huge_sent:{path}" not in site.counters and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.counters[f"huge_sent:{path}"] < 20_000_000  # the client hung up early


@pytest.mark.parametrize(
    "path",
    [
        "/cp1258",
        "/cp1258-meta",
        "/cp1258-undeclared",
        "/cp1258-no-content-type",
        "/cp1258-declared-utf8",
        "/cp1258-declared-cp1252",
    ],
)
def test_windows_1258_decodes_right(site, fetcher, path):
    got = page(fetcher.fetch(site.url(path)))
    assert VI_TEXT in got.text, got.text[:300]
    assert "Công đoàn" in got.text
    assert got.encoding == "cp1258"
    assert got.content_type == "text/html"


def test_utf8_body_declared_latin1(site, fetcher):
    got = page(fetcher.fetch(site.url("/utf8-declared-latin1")))
    assert VI_TEXT in got.text and got.encoding == "utf-8"


def test_redirect_followed_on_same_host(site, fetcher):
    got = page(fetcher.fetch(site.url("/redirect-ok")))
    assert got.url == site.url("/redirect-ok")
    assert got.final_url == site.url("/ok/target.html")
    assert got.attempts == 2


def test_redirect_loop(site, fetcher):
    got = failure(fetcher.fetch(site.url("/loop/a")), "too_many_redirects")
    assert "loop" in got.detail
    assert len(site.hits_for("/loop/a")) == 1 and len(site.hits_for("/loop/b")) == 1


def test_redirect_chain_limit(site, fetcher):
    assert page(fetcher.fetch(site.url("/chain/5"))).final_url == site.url("/chain/0")
    got = failure(fetcher.fetch(site.url("/chain/15")), "too_many_redirects")
    assert "more than 5 redirects" in got.detail
    assert site.hits_for("/chain/10") and not site.hits_for("/chain/9")  # 5 hops: 15 -> 10


def test_redirect_to_foreign_host_is_refused(site, fetcher):
    got = failure(fetcher.fetch(site.url("/redirect-foreign")), "host_not_allowed")
    assert "localhost" in got.detail and "fault" in got.detail
    assert not site.hits_for("/ok/x")


def test_foreign_host_never_requested(site, fetcher):
    failure(fetcher.fetch(f"http://localhost:{site.port}/ok/y"), "host_not_allowed")
    failure(fetcher.fetch(f"ftp://127.0.0.1:{site.port}/ok/y"), "bad_url")
    failure(fetcher.fetch(f"http://user:pw@127.0.0.1:{site.port}/ok/y"), "bad_url")
    assert not site.hits


def test_robots_disallow_is_obeyed_directly_and_after_redirect(site, fetcher):
    got = failure(fetcher.fetch(site.url("/private/secret.html")), "robots")
    assert got.attempts == 0 and "disallows /private/secret.html" in got.detail
    failure(fetcher.fetch(site.url("/redirect-robots")), "robots")
    assert not site.hits_for("/private/secret.html")
    page(fetcher.fetch(site.url("/ok/b.html")))
    assert len(site.hits_for("/robots.txt")) == 1  # cached per host


def test_missing_robots_allows_everything():
    with FaultSite(robots=None) as site, Fetcher(profile(), FAST) as f:
        page(f.fetch(site.url("/private/secret.html")))


def test_unreachable_robots_means_full_disallow():
    with FaultSite(robots="oops", robots_status=503) as site, Fetcher(profile(), FAST) as f:
        got = failure(f.fetch(site.url("/ok/a.html")), "robots")
        assert "unreachable" in got.detail
        assert not site.hits_for("/ok/a.html")
        assert len(site.hits_for("/robots.txt")) == 3  # retried like any 5xx


def _gaps(site: FaultSite) -> list[float]:
    times = [h.at for h in site.hits]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_robots_crawl_delay_is_honoured():
    with FaultSite(robots="User-agent: *\nCrawl-delay: 0.3\n") as site:
        with Fetcher(profile(), FAST) as f:
            for i in range(4):
                page(f.fetch(site.url(f"/ok/{i}.html")))
            assert f.delay_for(site.url("/")) == pytest.approx(0.3)
            sent = f.stats.request_times[site.base_url]
        assert min(b - a for a, b in zip(sent[1:], sent[2:], strict=False)) >= 0.3 - 1e-6
        gaps = _gaps(site)  # arrival times on the server jitter by a few ms
        assert len(gaps) == 4 and min(gaps[1:]) >= 0.27


def test_min_delay_between_requests_to_a_host(site):
    with Fetcher(profile(min_delay=0.2), FAST) as f:
        for i in range(4):
            page(f.fetch(site.url(f"/ok/{i}.html")))
        sent = f.stats.request_times[site.base_url]
    assert min(b - a for a, b in zip(sent, sent[1:], strict=False)) >= 0.2 - 1e-6
    gaps = _gaps(site)
    assert len(gaps) == 4 and min(gaps) >= 0.17  # robots.txt counts as a request too


def test_default_delay_is_one_second_for_real_sites():
    real = SourceProfile(name="real", hosts=["example.org"], fetch={"min_delay_s": None})
    with Fetcher(real) as f:
        assert f.min_delay_s == 1.0


def test_conditional_get_gives_304(site, fetcher):
    first = page(fetcher.fetch(site.url("/conditional")))
    assert first.etag == ETAG and first.last_modified == LAST_MODIFIED
    again = page(fetcher.fetch(site.url("/conditional"), etag=ETAG))
    assert again.not_modified and again.status == 304 and again.text is None
    assert again.etag == ETAG
    by_date = page(fetcher.fetch(site.url("/conditional"), last_modified=LAST_MODIFIED))
    assert by_date.not_modified and by_date.last_modified == LAST_MODIFIED
    hits = site.hits_for("/conditional")
    assert hits[1].headers["if-none-match"] == ETAG
    assert hits[2].headers["if-modified-since"] == LAST_MODIFIED


def test_non_html_content_type_is_refused(site, fetcher):
    got = failure(fetcher.fetch(site.url("/pdf")), "bad_content_type")
    assert "application/pdf" in got.detail and got.attempts == 1


def test_empty_body(site, fetcher):
    failure(fetcher.fetch(site.url("/empty")), "empty_body")


def test_404(site, fetcher):
    got = failure(fetcher.fetch(site.url("/missing.html")), "http_404")
    assert got.status == 404 and got.attempts == 1


def test_connection_reset_is_retried(site, fetcher):
    got = failure(fetcher.fetch(site.url("/reset")), "connection")
    assert got.attempts == 3
    assert page(fetcher.fetch(site.url("/reset-once"))).attempts == 2


def test_connection_refused(fetcher):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = fetcher.fetch(f"http://127.0.0.1:{port}/ok/a.html")
    # robots.txt is unreachable first: per RFC 9309 nothing is fetched from that host
    failure(got, "robots")


def test_private_and_loopback_addresses_are_refused(site):
    with Fetcher(profile(private=False, hosts=["127.0.0.1", "localhost"]), FAST) as f:
        got = failure(f.fetch(site.url("/ok/a.html")), "private_address")
        assert "allow_private_addresses" in got.detail and got.attempts == 0
        failure(f.fetch(f"http://localhost:{site.port}/ok/a.html"), "private_address")
    assert not site.hits


def test_redirect_into_private_network_is_refused(site, monkeypatch):
    # Pretend 127.0.0.1 is a public address so the first hop is allowed; 127.0.0.2 stays private.
    real = fetching.is_private_address
    monkeypatch.setattr(fetching, "is_private_address", lambda ip: ip != "127.0.0.1" and real(ip))
    site.add("/to-private", b"", status=302, headers={"Location": f"http://127.0.0.2:{site.port}/"})
    with Fetcher(profile(private=False, hosts=["127.0.0.1", "127.0.0.2"]), FAST) as f:
        got = failure(f.fetch(site.url("/to-private")), "private_address")
        assert "127.0.0.2" in got.detail
    assert [h.path for h in site.hits] == ["/robots.txt", "/to-private"]


def test_is_private_address():
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.5",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "0.0.0.0",
        "100.64.0.1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "bogus",
    ]:
        assert is_private_address(ip), ip
    for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]:
        assert not is_private_address(ip), ip


def test_a_third_of_the_pages_failing_does_not_stop_the_run(site):
    good = [f"/ok/{i}.html" for i in range(12)]
    bad = {
        "/missing.html": "http_404",
        "/pdf": "bad_content_type",
        "/huge-declared": "too_large",
        "/loop/a": "too_many_redirects",
        "/private/secret.html": "robots",
        "/reset": "connection",
    }
    paths = good[:4] + list(bad)[:3] + good[4:8] + list(bad)[3:] + good[8:]
    cands = [Candidate(url=site.url(p), source="fault") for p in paths]
    pages, failures = fetch_pages.fn(profile(), cands, {}, FAST)
    assert [p.url for p in pages] == [site.url(p) for p in good]
    assert all(p.source == "fault" and VI_TEXT in p.text for p in pages)
    assert {f.url: f.error for f in failures} == {site.url(p): k for p, k in bad.items()}


def test_fetch_all_sends_validators_and_skips_duplicates(site):
    url = site.url("/conditional")
    cands = [Candidate(url=url, source="fault"), Candidate(url=url, source="fault")]
    pages, failures = fetch_all(profile(), cands, {url: (ETAG, None)}, FAST)
    assert not failures and len(pages) == 1 and pages[0].not_modified
    assert len(site.hits_for("/conditional")) == 1


def test_decode_body_edge_cases():
    assert decode_body("Đoàn".encode("utf-8-sig"))[0] == "Đoàn"
    assert decode_body("Đoàn viên".encode("utf-16"))[0] == "Đoàn viên"
    assert decode_body(b"plain ascii", "text/plain; charset=bogus-x") == ("plain ascii", "utf-8")
    decomposed = "Đoa\u0300n vie\u0302n"  # NFD input comes out NFC
    assert decode_body(decomposed.encode())[0] == "Đoàn viên"


def test_retry_after_http_date():
    from email.utils import formatdate

    secs = fetching._retry_after(formatdate(time.time() + 30, usegmt=True))
    assert 25 <= secs <= 31
    assert fetching._retry_after("7") == 7.0 and fetching._retry_after("soon") is None


def test_connection_landing_on_a_private_address_is_refused(site, monkeypatch):
    # DNS rebinding: the name looked public when checked, the socket ends on loopback.
    monkeypatch.setattr(Fetcher, "_resolves_public", lambda self, host, port, scheme: True)
    with Fetcher(profile(private=False), FAST) as f:
        got = failure(f.fetch(site.url("/ok/a.html")), "private_address")
        assert "connected to private address 127.0.0.1" in got.detail
        assert [h.path for h in site.hits] == ["/robots.txt"]  # its answer was never read
        f.settings["obey_robots"] = False
        got = failure(f.fetch(site.url("/ok/a.html")), "private_address")
        assert "connected to private address 127.0.0.1" in got.detail


def test_gzip_bomb_is_aborted_on_decoded_size(site, fetcher):
    assert len(gzip_bomb(site.huge_bytes)) < 100_000  # built before the clock runs
    got = failure(fetcher.fetch(site.url("/gzip-bomb")), "too_large")
    assert got.attempts == 1


def test_settings_sections_or_flat_keys():
    assert fetching.fetch_settings({"fetch": {"max_bytes": 7}})["max_bytes"] == 7
    assert fetching.fetch_settings({"max_bytes": 9, "unknown": 1})["max_bytes"] == 9
    assert fetching.fetch_settings(None)["max_redirects"] == 5


@pytest.fixture(scope="module")
def pool():
    from union_news.pipeline import WorkerPool

    workers = WorkerPool(2)
    yield workers
    workers.close()


def test_worker_processes_fetch_what_one_fetcher_does(site, pool):
    """A run with worker processes fetches there when the source asks no spacing: the same
    pages, failures with the same reasons, 304s for known validators, in candidate order."""
    from union_news.pipeline import _POOL

    good = [f"/ok/{i}.html" for i in range(12)]
    bad = {"/missing.html": "http_404", "/pdf": "bad_content_type", "/loop/a": "too_many_redirects",
           "/private/secret.html": "robots", "/reset": "connection"}
    paths = good[:5] + list(bad) + ["/conditional"] + good[5:] + [good[0]]  # and a duplicate
    cands = [Candidate(url=site.url(p), source="fault") for p in paths]
    validators = {site.url("/conditional"): (ETAG, None)}
    token = _POOL.set(pool)
    try:
        pages, failures = fetch_all(profile(), cands, validators, FAST)
    finally:
        _POOL.reset(token)
    assert [p.url for p in pages] == [site.url(p) for p in good[:5] + ["/conditional"] + good[5:]]
    assert pages[5].not_modified and pages[5].status == 304
    assert all(p.source == "fault" for p in pages)
    assert all(VI_TEXT in p.body() for p in pages if not p.not_modified)
    assert {f.url: f.error for f in failures} == {site.url(p): k for p, k in bad.items()}
    assert len(site.hits_for(f"/ok/{0}.html")) == 1  # the duplicate was fetched once
    # each worker reads robots.txt once for itself and keeps it between chunks
    assert 1 <= len(site.hits_for("/robots.txt")) <= pool.workers


def test_worker_processes_share_one_request_spacing(site, pool):
    """Requests sent by different worker processes keep the source's spacing between them
    (measured on the server): the pool is never faster than one polite fetcher."""
    paths = [f"/ok/p{i}.html" for i in range(8)]
    cands = [Candidate(url=site.url(p), source="fault") for p in paths]
    results = pool.fetch(profile(min_delay=0.25), cands, {}, FAST)
    assert [r.url for r in results] == [c.url for c in cands]
    starts = sorted(h.at for h in site.hits if h.path.startswith("/ok/p"))
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 8 and min(gaps) >= 0.24, gaps


class _Proxy:
    """A forward HTTP proxy on loopback that answers every request itself and records the
    absolute URLs it was asked for."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        asked = self.asked = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                asked.append(self.path)
                body = b"" if self.path.endswith("/robots.txt") else (
                    f"<html><body><p>{VI_TEXT}</p></body></html>".encode()
                )
                self.send_response(404 if not body else 200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("bypass", [False, True])
def test_proxy_settings_of_the_environment_are_honoured(site, monkeypatch, bypass):
    """Each host's session reads the proxy settings once (not at every request) and still
    sends its requests through ``http_proxy``, unless ``no_proxy`` names the host."""
    proxy = _Proxy()
    try:
        for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("http_proxy", proxy.url)
        if bypass:
            monkeypatch.setenv("no_proxy", "127.0.0.1")
        with Fetcher(profile(), FAST) as f:
            for _ in range(2):
                got = page(f.fetch(site.url("/ok/a.html")))
                assert VI_TEXT in got.text
        if bypass:
            assert proxy.asked == [] and len(site.hits_for("/ok/a.html")) == 2
        else:
            assert proxy.asked.count(site.url("/ok/a.html")) == 2
            assert site.hits_for("/ok/a.html") == []
    finally:
        proxy.close()
