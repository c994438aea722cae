"""The one place Parley builds HTTP clients.

aiohttp, because httpx 0.28 collapsed past ~32 requests in flight on one client here
(~300 req/s at 64 against an instant loopback upstream, where aiohttp reached ~6,000).
Every component takes a session injected; tests pass one aimed at loopback fakes.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from parley import _constants as C
from parley.errors import Overloaded
from parley.tools.web.connguard import GuardedResolver

# Sessions whose model calls honour HTTPS_PROXY / NO_PROXY; see `env_proxy`.
_PROXIED: weakref.WeakSet[aiohttp.ClientSession] = weakref.WeakSet()


@dataclass(frozen=True)
class Bounds:
    """How long an upstream call may take: to connect, to its first byte (the response's
    headers), between two pieces of a stream, and in all. Defaults make a hung upstream
    fail in tens of seconds while a long answer that keeps streaming runs its course."""

    connect_s: float = C.UPSTREAM_CONNECT_TIMEOUT_S
    first_byte_s: float = C.UPSTREAM_FIRST_BYTE_TIMEOUT_S
    idle_s: float = C.UPSTREAM_IDLE_TIMEOUT_S
    total_s: float = C.UPSTREAM_TOTAL_TIMEOUT_S
    # Waiting for a free connection of the pool (`pool_slot`), before any other bound runs.
    pool_s: float = C.UPSTREAM_POOL_TIMEOUT_S

    def timeout(self, *, stream: bool) -> aiohttp.ClientTimeout:
        """aiohttp's bounds for one call. A whole (non-streamed) answer may be silent
        until it is written, so only a stream is held to the idle bound."""
        return aiohttp.ClientTimeout(
            total=self.total_s,
            sock_connect=min(self.connect_s, self.total_s),
            sock_read=self.idle_s if stream else None,
        )

    def first_byte(self, *, stream: bool) -> float:
        """Seconds until the response's headers must have come."""
        return min(self.first_byte_s, self.total_s) if stream else self.total_s


def new_session(
    *, limit: int = C.HTTP_POOL_LIMIT, per_host: int | None = None, trust_env: bool = True
) -> aiohttp.ClientSession:
    """A session for upstream model calls; create one per process and share it.

    `trust_env` honours HTTPS_PROXY/NO_PROXY for model APIs, resolved once per upstream by
    `env_proxy`; the web fetcher turns it off so that no proxy setting can route around its
    address checks. aiohttp's own `trust_env` stays off: it reads ~/.netrc and the proxy
    variables in a worker thread on every request, which tripled the client CPU per call and
    halved throughput at 64 in flight (benchmarks/client_throughput.py). `per_host` bounds
    the connections to one upstream (most calls go to one provider).
    """
    connector = aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=min(limit, per_host or C.HTTP_POOL_LIMIT_PER_HOST),
        ttl_dns_cache=300,
    )
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=Bounds().timeout(stream=False),
        headers={"User-Agent": C.USER_AGENT},
        trust_env=False,
        raise_for_status=False,
    )
    if trust_env:
        _PROXIED.add(session)
    return session


# Per session, per host: as many slots as the connector keeps connections to one host.
_SLOTS: weakref.WeakKeyDictionary[aiohttp.ClientSession, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


class pool_slot:  # a function in use: `async with pool_slot(...)`
    """Hold one of the connections `session` may open to `host` while the block runs,
    waiting at most `wait_s` for one; past that, `Overloaded`.

    aiohttp's own pool wait counts against the call's timeouts, so a gateway busier than its
    pool made upstream calls time out and opened the provider's circuit breaker: the
    provider was blamed for Parley's queue. Waiting here, before the call's bounds start,
    keeps the two apart. (A class rather than a generator-based context manager: it is
    entered for every upstream call.)"""

    __slots__ = ("_host", "_slots", "_wait_s")

    def __init__(self, session: aiohttp.ClientSession, host: str, wait_s: float) -> None:
        self._slots = _slots(session, host)
        self._host = host
        self._wait_s = wait_s

    async def __aenter__(self) -> None:
        slots = self._slots
        if slots is None:
            return
        if not slots.locked():
            await slots.acquire()  # free: taken at once, without a timer
            return
        try:
            async with asyncio.timeout(self._wait_s):
                await slots.acquire()
        except TimeoutError:
            raise Overloaded(
                f"Parley had no free connection to {self._host} for {self._wait_s:g} s (its "
                "pool is sized from gateway.max_in_flight): the gateway is overloaded, not "
                "the provider; retry shortly, lower PARLEY_MAX_IN_FLIGHT, or raise "
                "PARLEY_UPSTREAM_POOL_TIMEOUT",
                503,
            ) from None

    async def __aexit__(self, *exc: object) -> None:
        if self._slots is not None:
            self._slots.release()


def _slots(session: aiohttp.ClientSession, host: str) -> asyncio.Semaphore | None:
    by_host = _SLOTS.get(session)
    if by_host is None:
        by_host = _SLOTS[session] = {}
    slots = by_host.get(host)
    if slots is None:
        connector = session.connector
        limits = [n for n in (connector.limit, connector.limit_per_host) if n] if connector else []
        if not limits:
            return None  # no limit: nothing to wait for
        slots = by_host[host] = asyncio.Semaphore(min(limits))
    return slots


def env_proxy(
    session: aiohttp.ClientSession, url: str
) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    """The proxy and its credentials for calls to `url` on `session`; resolve once, reuse."""
    if session not in _PROXIED:
        return None, None
    try:
        return get_env_proxy_for_url(URL(url))
    except LookupError:  # no proxy set, or NO_PROXY covers this host
        return None, None


def new_web_session(
    guard: GuardedResolver, *, timeout: aiohttp.ClientTimeout
) -> aiohttp.ClientSession:
    """A session for `web_fetch`: names resolve through `guard` (the SSRF guard), and every
    socket, IP literals included, opens only to an address `guard` approves.

    No proxy from the environment (a proxy would connect where the guard never looked), no
    DNS cache of aiohttp's own, and no automatic redirects: the fetcher checks each hop.
    """
    connector = aiohttp.TCPConnector(
        resolver=guard,
        socket_factory=guard.open_socket,
        use_dns_cache=False,
        limit=C.HTTP_POOL_LIMIT_PER_HOST,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": C.USER_AGENT},
        trust_env=False,
        raise_for_status=False,
    )


def pool_for(in_flight: int) -> int:
    """Connections for `in_flight` deliberations (a panel of about four calls each, the
    outer model's between them), so that admitted work does not queue behind the pool;
    never more than half the process's file descriptors, which client sockets need too."""
    wanted = max(C.HTTP_POOL_LIMIT_PER_HOST, in_flight * C.POOL_PER_DELIBERATION)
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):  # not POSIX: no limit to read
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(C.HTTP_POOL_LIMIT_PER_HOST // 4, min(wanted, soft // 2))
