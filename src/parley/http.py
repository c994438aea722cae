"""The one place Parley builds HTTP clients.

aiohttp, because httpx 0.28 collapsed past ~32 requests in flight on one client here
(~300 req/s at 64 against an instant loopback upstream, where aiohttp reached ~6,000).
Every component takes a session injected; tests pass one aimed at loopback fakes.
"""

from __future__ import annotations

import os

import aiohttp

from parley import _constants as C
from parley.errors import ConfigError


def upstream_timeout() -> aiohttp.ClientTimeout:
    """Connect bound plus a whole-call bound (`PARLEY_UPSTREAM_TIMEOUT` seconds overrides)."""
    total = C.UPSTREAM_TOTAL_TIMEOUT_S
    raw = os.environ.get(C.UPSTREAM_TIMEOUT_ENV)
    if raw:
        try:
            total = float(raw)
        except ValueError:
            raise ConfigError(
                f"{C.UPSTREAM_TIMEOUT_ENV}={raw!r} is not a number of seconds; set e.g. 120"
            ) from None
        if total <= 0:
            raise ConfigError(f"{C.UPSTREAM_TIMEOUT_ENV} must be positive, got {raw!r}")
    return aiohttp.ClientTimeout(total=total, connect=min(C.UPSTREAM_CONNECT_TIMEOUT_S, total))


def new_session(*, limit: int = C.HTTP_POOL_LIMIT, trust_env: bool = True) -> aiohttp.ClientSession:
    """A session for upstream model calls; create one per process and share it.

    `trust_env` honours HTTPS_PROXY for model APIs; the web fetcher turns it off so that no
    proxy setting can route around its address checks.
    """
    connector = aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=min(limit, C.HTTP_POOL_LIMIT_PER_HOST),
        ttl_dns_cache=300,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=upstream_timeout(),
        headers={"User-Agent": C.USER_AGENT},
        trust_env=trust_env,
        raise_for_status=False,
    )
