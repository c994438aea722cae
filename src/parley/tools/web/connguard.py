"""The SSRF guard where sockets open: `web_fetch` connects only to addresses it approved.

`NetPolicy.check_url` refuses what it can before any connection, but aiohttp decides the
address a socket opens to: from DNS for a name (asked through `GuardedResolver`), or from
the URL itself for an IP literal, which no resolver ever sees, after its own normalisation
(IDNA makes `127。0。0。1` into 127.0.0.1). So the session's socket factory checks every
address once more, just before connect: whatever spelling produced it, an address the
policy did not approve gets no socket.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult

from parley.tools.web.netguard import DNSSource, IPAddress, NetPolicy, SystemDNS, URLRefused


class AddressRefused(URLRefused, OSError):
    """A connection the socket factory refused. An OSError, so that aiohttp reports it as a
    ClientConnectorError caused by this one; its text is the reason alone."""

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EACCES, reason)

    def __str__(self) -> str:
        return str(self.strerror)


class GuardedResolver(AbstractResolver):
    """Resolves only through the policy, and opens sockets only where the policy allows.

    Every answer the policy accepted is remembered with its port: an opened intranet
    hostname may resolve to a private address that `check_address` alone refuses, and only
    that address and port are opened by it. One resolver serves one fetch, so no approval
    outlives the checks made for it.
    """

    def __init__(self, policy: NetPolicy, dns: DNSSource | None = None) -> None:
        self.policy = policy
        self.dns = dns or SystemDNS()
        self.approved: set[tuple[IPAddress, int]] = set()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addrs = await self.policy.resolve(host, port, self.dns)
        self.approved.update((a, port) for a in addrs)
        return [
            ResolveResult(
                hostname=host,
                host=str(a),
                port=port,
                family=socket.AF_INET6 if a.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in addrs
        ]

    async def close(self) -> None:
        return None

    def open_socket(self, addr_info: AddrInfoType) -> socket.socket:
        """aiohttp's socket factory: a socket for an approved address, else AddressRefused."""
        family, type_, proto, _, sockaddr = addr_info
        self.check_sockaddr(str(sockaddr[0]), int(sockaddr[1]))
        return socket.socket(family, type_, proto)

    def check_sockaddr(self, ip: str, port: int) -> None:
        """Raise AddressRefused unless a socket may connect to `ip` at `port`."""
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            # Fail closed: the OS may read a string that ipaddress will not.
            raise AddressRefused(f"{ip!r} is not an address web_fetch can check") from None
        if (addr, port) in self.approved:
            return
        try:
            self.policy.check_address(addr, str(addr))
        except URLRefused as exc:
            raise AddressRefused(f"no connection to {addr}: {exc}") from None
