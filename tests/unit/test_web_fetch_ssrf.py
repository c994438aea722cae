"""web_fetch never becomes a way into the user's own network (issue 5, SSRF): a refusal
reaches the model; opening one address or name keeps the rest closed, and metadata is never
opened; redirects and DNS answers are checked at every hop, and the connection goes to the
answer that was checked. (Every spelling of a private address: test_web_fetch_ssrf_spellings.py.)"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from parley.tools.web import WebFetchTool
from parley.tools.web.fetcher import WebFetcher
from parley.tools.web.netguard import NetPolicy, URLRefused, parse_ipv4_legacy
from web_kit import LOOPBACK, ScriptedDNS, Site, serve_site


async def test_refusal_reaches_the_model_as_a_failed_result() -> None:
    tool = WebFetchTool(WebFetcher(policy=NetPolicy()))
    out = await tool.run({"url": "http://[::ffff:127.0.0.1]/admin"})
    assert not out.ok
    assert '"status": "failed"' in out.content and "IPv4-mapped" in out.content


OTHER_PRIVATE = [
    "http://127.0.0.2/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://0.0.0.0/",
    "http://localhost/",
    "http://10.0.0.1/",
    "http://169.254.169.254/",
]


@pytest.mark.parametrize("url", OTHER_PRIVATE)
async def test_opening_one_address_keeps_the_others_closed(url: str) -> None:
    page = await WebFetcher(policy=LOOPBACK, dns=ScriptedDNS({})).fetch(url)
    assert page.error is not None and page.error.startswith("refused: ")


def test_metadata_stays_closed_even_when_its_network_is_opened() -> None:
    policy = NetPolicy.parse("169.254.0.0/16,100.64.0.0/10,::ffff:0:0/96,64:ff9b::/96,2002::/16")
    policy.check_address(ipaddress.ip_address("169.254.1.1"), "169.254.1.1")
    policy.check_address(ipaddress.ip_address("::ffff:a9fe:101"), "::ffff:a9fe:101")
    for addr in (
        "169.254.169.254",
        "100.100.100.200",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
    ):
        with pytest.raises(URLRefused, match="metadata"):
            policy.check_address(ipaddress.ip_address(addr), addr)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with serve_site() as s:
        yield s


async def test_redirect_from_allowed_host_to_refused_one(site: Site) -> None:
    target = "http://169.254.169.254/latest/meta-data/"
    page = await WebFetcher(policy=LOOPBACK).fetch(site.url(f"redirect?to={target}"))
    assert page.error is not None
    assert page.error.startswith("refused: redirect to http://169.254.169.254/")
    assert "metadata" in page.error
    assert [r["path"] for r in site.requests] == ["/redirect"]


async def test_redirect_to_a_name_that_resolves_privately_is_refused(site: Site) -> None:
    dns = ScriptedDNS({"docs.test": [["127.0.0.1"]], "evil.test": [["10.9.8.7"]]})
    start = site.url(f"redirect?to=http://evil.test:{site.port}/site/npm-ping.html", "docs.test")
    page = await WebFetcher(policy=LOOPBACK, dns=dns).fetch(start)
    assert page.error is not None and "10.9.8.7" in page.error and "private" in page.error
    assert dns.lookups == ["docs.test", "evil.test"]
    assert [r["path"] for r in site.requests] == ["/redirect"]


async def test_dns_answer_changing_after_the_check_cannot_redirect_the_connection(
    site: Site,
) -> None:
    # First answer: the (opened) loopback site; every later answer: a private address.
    dns = ScriptedDNS({"docs.test": [["127.0.0.1"], ["10.0.0.1"]]})
    fetcher = WebFetcher(policy=LOOPBACK, dns=dns)
    page = await fetcher.fetch(site.url("site/npm-ping.html", "docs.test"))
    # One lookup, checked, and the socket went to that checked address: the site saw it.
    assert page.error is None and page.title == "npm-ping"
    assert dns.lookups == ["docs.test"]
    assert site.requests[-1]["host"] == f"docs.test:{site.port}"
    # The next fetch gets the changed answer, and is refused before any connection.
    again = await fetcher.fetch(site.url("site/npm-ping.html", "docs.test"))
    assert again.error is not None and "10.0.0.1" in again.error
    assert len(site.requests) == 1


async def test_rebinding_the_other_way_is_refused_without_a_connection(site: Site) -> None:
    dns = ScriptedDNS({"docs.test": [["10.0.0.1"], ["127.0.0.1"]]})
    page = await WebFetcher(policy=LOOPBACK, dns=dns).fetch(
        site.url("site/npm-ping.html", "docs.test")
    )
    assert page.error is not None and "10.0.0.1" in page.error
    assert dns.lookups == ["docs.test"] and site.requests == []


async def test_a_mixed_answer_is_refused_whole(site: Site) -> None:
    dns = ScriptedDNS({"docs.test": [["127.0.0.1", "192.168.0.9"]]})
    page = await WebFetcher(policy=LOOPBACK, dns=dns).fetch(
        site.url("site/npm-ping.html", "docs.test")
    )
    assert page.error is not None and "192.168.0.9" in page.error
    assert site.requests == []


async def test_a_proxy_setting_does_not_route_around_the_check(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would connect on our behalf to wherever it likes; the fetcher ignores it.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9/")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9/")
    page = await WebFetcher(policy=LOOPBACK).fetch(site.url("site/npm-ping.html"))
    assert page.error is None and page.title == "npm-ping"


async def test_an_opened_hostname_may_resolve_privately(site: Site) -> None:
    opened = NetPolicy.parse("intranet.test")
    dns = ScriptedDNS({"intranet.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    ok = await WebFetcher(policy=opened, dns=dns).fetch(
        site.url("site/npm-ping.html", "intranet.test")
    )
    assert ok.error is None
    no = await WebFetcher(policy=opened, dns=dns).fetch(
        site.url("site/npm-ping.html", "other.test")
    )
    assert no.error is not None and "loopback" in no.error


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("0", "0.0.0.0"),
        ("8.8.8.8.", "8.8.8.8"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("4294967296", None),
        ("08.1.1.1", None),
    ],
)
def test_ipv4_is_parsed_as_inet_aton_and_browsers_do(host: str, expected: str | None) -> None:
    got = parse_ipv4_legacy(host)
    assert (str(got) if got else None) == expected
