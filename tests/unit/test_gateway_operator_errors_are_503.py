"""What only the operator can fix (the server's configuration, a missing extra) is a 503
whose message is the fix, not a 500."""

from __future__ import annotations

import pytest

from parley.errors import ConfigError, MissingExtraError
from parley.gateway.errors import from_exception


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (
            ConfigError("PARLEY_SEARCH='x' is not a backend; use one of ddgs, searxng"),
            "server_config",
        ),
        (MissingExtraError("web_fetch of HTML pages", "web"), "missing_extra"),
    ],
)
def test_what_only_the_operator_can_fix_is_503_naming_the_fix(exc: Exception, code: str) -> None:
    status, body = from_exception(exc)
    assert status == 503
    error = body["error"]
    assert error["code"] == 503 and error["metadata"]["reason"] == code
    assert error["message"] == str(exc)
