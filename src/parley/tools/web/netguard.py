"""Which addresses `web_fetch` may reach: the SSRF policy, as an explicit list of networks.

Python 3.11's `ipaddress` flags miss forms that reach private hosts anyway (it does not call
`::ffff:127.0.0.1` loopback, and knows nothing of NAT64), so every refused range is listed
here, and embedded IPv4 forms are refused outright. Hosts are parsed the way browsers and
`inet_aton` do, so `http://2130706433/` and `http://0177.0.0.1/` are seen as 127.0.0.1, and
after yarl's IDNA normalisation, as aiohttp connects, so `http://127。0。0。1/` is too.

`PARLEY_ALLOW_PRIVATE_URLS` (comma-separated hostnames, IPs or CIDRs) opens chosen private
addresses for intranets and tests; every other private address stays closed, and cloud
metadata addresses are never opened.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from yarl import URL

from parley.errors import ParleyError

ALLOW_PRIVATE = "web.allow_private (PARLEY_ALLOW_PRIVATE_URLS)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_REFUSED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified ('this network')"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("::ffff:0:0:0/96", "IPv4-translated"),
    ("64:ff9b::/96", "NAT64"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/32", "Teredo"),
    ("2001:2::/48", "benchmarking"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("fc00::/7", "unique local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
REFUSED_NETWORKS: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(net), why) for net, why in _REFUSED
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "100.100.100.200", "fd00:ec2::254", "169.254.170.2")
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
# IPv6 ranges whose last 32 bits are an IPv4 address that a gateway or the host's own
# stack may reach for them.
_CARRIES_IPV4 = tuple(
    ipaddress.IPv6Network(n)
    for n in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
)


class URLRefused(ParleyError):
    """A URL that `web_fetch` will not reach; the message says why."""


class DNSSource(Protocol):
    """Where host names become addresses; injected in tests to answer what they like."""

    async def lookup(self, host: str, port: int) -> list[str]: ...


class SystemDNS:
    """The system resolver (getaddrinfo), off the event loop."""

    async def lookup(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_ipv4_legacy(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 the way inet_aton and browsers read it: 1-4 parts, decimal, octal (0..) or hex.

    Returns None when `host` is not such a number (then it is a name).
    """
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()  # a trailing dot still means the same address
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part[:2].lower() == "0x":
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for i, v in enumerate(head):
        number += v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def carried_ipv4(addr: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one embeds (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if addr.version == 4:
        return None
    assert isinstance(addr, ipaddress.IPv6Address)
    if any(addr in net for net in _CARRIES_IPV4):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr.sixtofour is not None:
        return addr.sixtofour
    return addr.teredo[1] if addr.teredo else None


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names literally (any IPv4 spelling, or IPv6), else None."""
    bare = host.strip("[]")
    if ":" in bare:
        try:
            return ipaddress.IPv6Address(bare.split("%", 1)[0])
        except ValueError:
            return None
    return parse_ipv4_legacy(bare)


@dataclass
class NetPolicy:
    """Refuses private, local and metadata addresses except those explicitly opened."""

    allowed_networks: list[Network] = field(default_factory=list)
    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: str | Iterable[str]) -> NetPolicy:
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        nets: list[Network] = []
        hosts: set[str] = set()
        for item in (i.strip() for i in items):
            if not item:
                continue
            try:
                nets.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(nets, frozenset(hosts))

    def check_address(self, addr: IPAddress, host: str) -> None:
        """Raise URLRefused unless `addr` (reached for `host`) is public or opened."""
        carried = carried_ipv4(addr)
        if addr in METADATA_ADDRESSES or carried in METADATA_ADDRESSES:
            # Checked first and apart: opening ::ffff:0:0/96 must not open the metadata
            # service through its mapped spelling.
            shown = addr if carried is None else f"{addr}, carrying {carried}"
            raise URLRefused(
                f"{host} is a cloud metadata address ({shown}); web_fetch never reaches it"
            )
        why = next((w for net, w in REFUSED_NETWORKS if addr in net), None)
        if why is None:
            return
        if host.lower().rstrip(".") in self.allowed_hosts:
            return
        if any(addr in net for net in self.allowed_networks if net.version == addr.version):
            return
        shown = host if str(addr) == host.strip("[]") else f"{host} ({addr})"
        raise URLRefused(
            f"{shown} is a {why} address; web_fetch only reaches public addresses "
            f"(to open an intranet host, list it in {ALLOW_PRIVATE})"
        )

    def check_url(self, url: str) -> URL:
        """Check what can be checked without DNS; return the URL to request, as parsed here.

        The host checked is yarl's, IDNA-normalised (`127。0。0。1` is 127.0.0.1): the one
        aiohttp connects to when given the returned URL.
        """
        try:
            parsed = URL(url)
        except ValueError as exc:
            raise URLRefused(f"{url!r} is not a valid URL: {exc}") from None
        if parsed.scheme not in ("http", "https"):
            raise URLRefused(f"{url!r}: only http and https URLs can be fetched")
        host = (parsed.raw_host or "").rstrip(".")
        if not host:
            raise URLRefused(f"{url!r} has no host")
        if host in METADATA_HOSTS:
            raise URLRefused(f"{host} is a cloud metadata host; web_fetch never reaches it")
        if (host == "localhost" or host.endswith(".localhost")) and host not in self.allowed_hosts:
            raise URLRefused(
                f"{host} is loopback; web_fetch only reaches public addresses "
                f"(to open it, list it in {ALLOW_PRIVATE})"
            )
        addr = literal_address(host)
        if addr is not None:
            self.check_address(addr, host)
        return parsed

    async def resolve(self, host: str, port: int, dns: DNSSource) -> list[IPAddress]:
        """Resolve once and check every answer; one refused answer refuses the host."""
        literal = literal_address(host)
        if literal is not None:
            self.check_address(literal, host)
            return [literal]
        try:
            answers = await dns.lookup(host, port)
        except OSError as exc:
            raise URLRefused(f"cannot resolve {host}: {exc}") from None
        if not answers:
            raise URLRefused(f"cannot resolve {host}: no addresses")
        addrs = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
        for addr in addrs:
            self.check_address(addr, host)
        return addrs
