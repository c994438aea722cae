"""`parley ui` serves the page on a free loopback port and prints its address (with
`--no-open`, as on a machine without a browser)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ui_kit import get


def test_parley_ui_prints_the_address_of_the_page_it_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "parley", "ui", "--no-open"],
        env={**os.environ, "OPENROUTER_API_KEY": "sk-test-not-used"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        url = proc.stdout.readline().strip()  # printed once the socket listens
        assert url.startswith("http://127.0.0.1:") and url.endswith("/"), url
        status, _, body = get(url)
        assert status == 200 and b"<main" in body
        status, _, body = get(url + "v1/choices")
        assert status == 200 and json.loads(body)["logged"] is True
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()
