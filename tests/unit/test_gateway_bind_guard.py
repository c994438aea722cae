"""The bind guard: loopback needs nothing; any other address needs API keys or an explicit
`--insecure`, and the refusal names both."""

from __future__ import annotations

from parley.gateway.auth import check_bind


def test_bind_guard() -> None:
    assert check_bind("127.0.0.1", has_keys=False, insecure=False) is None
    assert check_bind("::1", has_keys=False, insecure=False) is None
    assert check_bind("localhost", has_keys=False, insecure=False) is None
    refusal = check_bind("0.0.0.0", has_keys=False, insecure=False)
    assert refusal and "PARLEY_API_KEYS" in refusal and "--insecure" in refusal
    assert check_bind("0.0.0.0", has_keys=True, insecure=False) is None
    assert check_bind("0.0.0.0", has_keys=False, insecure=True) is None
