"""No spelling of a private address gets a byte to it (issue 9: SSRF through Unicode dots).

Each URL below names a loopback listener that counts connections (`{port}` is its port),
a cloud metadata address, or another range that is not the public internet. Every one is
refused, fetched directly or reached by redirect from an opened host, and the connection
layer alone refuses the loopback ones; the listener proves that nothing reached it. The
loopback-only fixture would fail any test that tried another address for real. (Through
the gateway: tests/e2e/test_web_fetch_refused_through_gateway.py.)
"""

# The look-alike characters below are the attack under test.
# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest

from parley.http import new_web_session
from parley.tools.web.connguard import AddressRefused, GuardedResolver
from parley.tools.web.fetcher import WebFetcher
from parley.tools.web.netguard import NetPolicy, URLRefused
from web_kit import Counter, ScriptedDNS, serve_counter, serve_site

# url -> a word the refusal must contain
LOOPBACK = {
    # Full stops and digits that IDNA (UTS-46) maps to ASCII, as yarl and aiohttp do
    "http://127。0。0。1:{port}/": "loopback",  # U+3002 ideographic full stop
    "http://127．0．0．1:{port}/": "loopback",  # U+FF0E full-width full stop
    "http://127｡0｡0｡1:{port}/": "loopback",  # U+FF61 half-width ideographic full stop
    "http://①②⑦.0.0.1:{port}/": "loopback",  # enclosed digits
    "http://１２７.０.０.１:{port}/": "loopback",  # full-width digits
    "http://127。0.0．1:{port}/": "loopback",  # mixed
    "http://127。0。0。1。:{port}/": "loopback",  # a trailing ideographic full stop
    "http://①②⑦。①:{port}/": "loopback",  # short form, enclosed
    "http://ＬＯＣＡＬＨＯＳＴ:{port}/": "loopback",
    # Legacy IPv4: decimal, octal, hex and short forms
    "http://2130706433:{port}/": "127.0.0.1",
    "http://0177.0.0.1:{port}/": "127.0.0.1",
    "http://017700000001:{port}/": "127.0.0.1",
    "http://0x7f.0.0.1:{port}/": "127.0.0.1",
    "http://0x7f000001:{port}/": "127.0.0.1",
    "http://0x7f.1:{port}/": "127.0.0.1",
    "http://127.1:{port}/": "127.0.0.1",
    "http://127.0.1:{port}/": "127.0.0.1",
    # Trailing dots
    "http://127.0.0.1.:{port}/": "loopback",
    "http://127.0.0.1..:{port}/": "loopback",
    "http://localhost.:{port}/": "loopback",
    "http://localhost:{port}/": "loopback",
    "http://api.localhost:{port}/": "loopback",
    # The unspecified address: connecting to it reaches this host
    "http://0.0.0.0:{port}/": "unspecified",
    "http://[::]:{port}/": "unspecified",
    # IPv6 forms, v4-mapped, NAT64 and other embeddings, zone ids
    "http://[::1]:{port}/": "loopback",
    "http://[0:0:0:0:0:0:0:1]:{port}/": "loopback",
    "http://[::ffff:127.0.0.1]:{port}/": "IPv4-mapped",
    "http://[::ffff:7f00:1]:{port}/": "IPv4-mapped",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/": "IPv4-mapped",
    "http://[::ffff:0:7f00:1]:{port}/": "IPv4-translated",
    "http://[::127.0.0.1]:{port}/": "IPv4-compatible",
    "http://[64:ff9b::127.0.0.1]:{port}/": "NAT64",
    "http://[64:ff9b:1::7f00:1]:{port}/": "NAT64",
    "http://[2002:7f00:1::]:{port}/": "6to4",
    "http://[::1%25lo]:{port}/": "loopback",
    "http://[fe80::1%25lo]:{port}/": "link-local",
    # User-info, fragment and query tricks
    "http://public.example@127.0.0.1:{port}/": "loopback",
    "http://public.example:pw@127。0。0。1:{port}/": "loopback",
    "http://127.0.0.1:{port}#@public.example/": "loopback",
    "http://127.0.0.1:{port}?@public.example/": "loopback",
    "http://127.0.0.1:{port}\\@public.example/": "not a valid URL",
    # Names whose DNS answer is private (see DNS)
    "http://loopback.test:{port}/": "loopback",
    "http://mapped.test:{port}/": "IPv4-mapped",
    "http://mixed.test:{port}/": "loopback",
    "http://rebind.test:{port}/": "loopback",
    # Other schemes
    "ftp://127.0.0.1:{port}/": "only http and https",
    "gopher://127.0.0.1:{port}/_GET%20/": "only http and https",
    "file:///etc/passwd": "only http and https",
    "ws://127.0.0.1:{port}/": "only http and https",
}
METADATA = {
    "http://169.254.169.254/latest/meta-data/": "metadata",
    "http://169。254。169。254/": "metadata",
    "http://⑯⑨。②⑤④。⑯⑨。②⑤④/": "metadata",
    "http://１６９．２５４．１６９．２５４/": "metadata",
    "http://2852039166/": "metadata",
    "http://0xa9fea9fe/": "metadata",
    "http://0251.0376.0251.0376/": "metadata",
    "http://169.254.43518/": "metadata",
    "http://169.254.169.254.:80/": "metadata",
    "http://[::ffff:169.254.169.254]/": "metadata",
    "http://[::ffff:a9fe:a9fe]/": "metadata",
    "http://[::169.254.169.254]/": "metadata",
    "http://[64:ff9b::a9fe:a9fe]/": "metadata",
    "http://[2002:a9fe:a9fe::]/": "metadata",
    "http://[fd00:ec2::254]/": "metadata",
    "http://100.100.100.200/": "metadata",
    "http://100。100。100。200/": "metadata",
    "http://169.254.170.2/": "metadata",
    "http://metadata.google.internal/": "metadata",
    "http://ｍｅｔａｄａｔａ.google.internal/": "metadata",
    "http://metadata.google.internal./": "metadata",
    "http://instance-data/": "metadata",
    "http://imds.test/": "metadata",
}
# Every other range that is not the public internet, named in the refusal.
PRIVATE = {
    "http://10.0.0.1/": "private",
    "http://172.16.5.4/": "private",
    "http://192.168.1.1/": "private",
    "http://100.64.0.1/": "carrier-grade NAT",
    "http://169.254.1.1/": "link-local",
    "http://[fe80::1]/": "link-local",
    "http://[fc00::1]/": "unique local",
    "http://224.0.0.1/": "multicast",
    "http://[ff02::1]/": "multicast",
}
SPELLINGS = {**LOOPBACK, **METADATA, **PRIVATE}

REDIRECTOR = "redirector.test"


def dns() -> ScriptedDNS:
    return ScriptedDNS(
        {
            REDIRECTOR: [["127.0.0.1"]],
            "loopback.test": [["127.0.0.1"]],
            "mapped.test": [["::ffff:127.0.0.1"]],
            "mixed.test": [["93.184.216.34", "127.0.0.1"]],
            # Rebinding: the answer the connection would use is the one checked.
            "rebind.test": [["127.0.0.1"], ["93.184.216.34"]],
            "imds.test": [["169.254.169.254"]],
        }
    )


def dns_for(name: str) -> ScriptedDNS:
    return ScriptedDNS({name: [["127.0.0.1"]]})


@pytest.fixture
async def counter() -> AsyncIterator[Counter]:
    async with serve_counter() as c:
        yield c


@pytest.mark.parametrize("spelling", list(SPELLINGS))
async def test_every_spelling_is_refused_and_nothing_reaches_it(
    counter: Counter, spelling: str
) -> None:
    page = await WebFetcher(policy=NetPolicy(), dns=dns()).fetch(spelling.format(port=counter.port))
    assert page.error is not None and page.error.startswith("refused: "), page.error
    assert SPELLINGS[spelling] in page.error
    assert await counter.reached() == {}


@pytest.mark.parametrize("spelling", list(SPELLINGS))
async def test_a_redirect_to_any_spelling_is_refused_and_nothing_reaches_it(
    counter: Counter, spelling: str
) -> None:
    # The redirector stands in for a public first hop: only its hostname is opened.
    target = spelling.format(port=counter.port)
    async with serve_site() as site:
        start = site.url(f"redirect?to={quote(target, safe='')}", REDIRECTOR)
        page = await WebFetcher(policy=NetPolicy.parse(REDIRECTOR), dns=dns()).fetch(start)
    assert page.error is not None and page.error.startswith("refused: "), page.error
    assert SPELLINGS[spelling] in page.error
    assert [r["path"] for r in site.requests] == ["/redirect"]
    assert await counter.reached() == {}


def web_session(guard: GuardedResolver) -> aiohttp.ClientSession:
    return new_web_session(guard, timeout=aiohttp.ClientTimeout(total=10))


async def test_the_connection_layer_alone_refuses_an_ip_literal(counter: Counter) -> None:
    # No check_url here: aiohttp never asks a resolver about an IP literal, so this is the
    # socket factory's refusal.
    async with web_session(GuardedResolver(NetPolicy(), dns())) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.get(f"http://127.0.0.1:{counter.port}/")
    assert isinstance(caught.value.__cause__, AddressRefused)
    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert await counter.reached() == {}


@pytest.mark.parametrize("spelling", [s for s in LOOPBACK if s.startswith("http")])
async def test_the_connection_layer_alone_refuses_every_spelling(
    counter: Counter, spelling: str
) -> None:
    async with web_session(GuardedResolver(NetPolicy(), dns())) as session:
        with pytest.raises((aiohttp.ClientError, URLRefused)):
            await session.get(spelling.format(port=counter.port))
    assert await counter.reached() == {}


async def test_what_the_policy_opens_does_reach_the_counter(counter: Counter) -> None:
    # The counter counts: an opened hostname and an opened address both get through (and
    # aiohttp may try twice, as the counter answers nothing).
    guard = GuardedResolver(NetPolicy.parse("intranet.test"), dns_for("intranet.test"))
    async with web_session(guard) as session:
        with pytest.raises(aiohttp.ClientError):
            await session.get(f"http://intranet.test:{counter.port}/")
    by_name = await counter.reached()
    assert by_name and all(n > 0 for n in by_name.values())
    page = await WebFetcher(policy=NetPolicy.parse("127.0.0.1")).fetch(
        f"http://127。0。0。1:{counter.port}/"
    )
    assert page.error is not None and not page.error.startswith("refused")
    assert len(await counter.reached()) > len(by_name)


async def test_an_opened_name_opens_only_the_address_and_port_it_was_resolved_for() -> None:
    guard = GuardedResolver(NetPolicy.parse("intranet.test"), dns_for("intranet.test"))
    await guard.resolve("intranet.test", 8080)
    guard.check_sockaddr("127.0.0.1", 8080)
    for ip, port in (("127.0.0.1", 8081), ("127.0.0.2", 8080)):
        with pytest.raises(AddressRefused, match="loopback"):
            guard.check_sockaddr(ip, port)


async def test_a_changed_answer_is_never_used_for_the_connection(counter: Counter) -> None:
    # The first answer is opened (::1, where nothing listens on this port), every later
    # one is the counter: the connection goes to the answer that was checked.
    rebind = ScriptedDNS({"rebind.test": [["::1"], ["127.0.0.1"]]})
    page = await WebFetcher(policy=NetPolicy.parse("::1"), dns=rebind).fetch(
        f"http://rebind.test:{counter.port}/"
    )
    assert page.error is not None
    assert rebind.lookups == ["rebind.test"]
    assert await counter.reached() == {}
