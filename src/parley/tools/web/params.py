"""Reading the web tools' parameters (each wrong value an InvalidParameter naming it), and
matching hosts against domain lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from parley.errors import InvalidParameter


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def domain_match(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in (x.lower().strip(".") for x in domains))


def int_param(p: dict[str, Any], name: str, field: str, default: int, lo: int, hi: int) -> int:
    raw = p.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidParameter(f"{field}.{name}", f"must be an integer from {lo} to {hi}")
    if not lo <= raw <= hi:
        raise InvalidParameter(f"{field}.{name}", f"must be from {lo} to {hi}, got {raw}")
    return raw


def domains_param(p: dict[str, Any], name: str, field: str) -> list[str]:
    raw = p.get(name)
    if raw is None:
        return []
    if (
        not isinstance(raw, Sequence)
        or isinstance(raw, str)
        or not all(isinstance(d, str) and d.strip(". ") for d in raw)
    ):
        raise InvalidParameter(f"{field}.{name}", 'must be a list of domains, e.g. ["example.com"]')
    return [d.strip().lower().strip(".") for d in raw]
