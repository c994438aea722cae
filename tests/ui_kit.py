"""What the web page's tests share: `parley serve` (a subprocess, as users run it) in front
of a threaded fake upstream whose panel answers hostile markup, fails, holds or hangs, and
the ways a test waits on the page (conditions, never sleeps)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from conftest import isolate
from gateway_kit import Gate, Held, parley_serve
from parley.models.base import Turn
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.upstream import FakeUpstream, RawModel, RawReply, ThreadedUpstream

# A panelist's answer that tries every way a model's text could run script in the page.
HOSTILE = (
    "**Rayleigh scattering** makes the sky blue.\n\n"
    "<script>document.title = 'pwned-script'</script>\n\n"
    "<img src=x onerror=\"document.title = 'pwned-img'\">\n\n"
    "- short wavelengths scatter more\n"
    "- [click me](javascript:document.title='pwned-link') or [the paper](https://example.org/rayleigh)\n\n"
    "At sunset, dust reddens the light."
)
PLAIN = (
    "Shorter wavelengths scatter more, so the sky looks blue.\n\n"
    "At sunset the longer path length through the air leaves the red light."
)
ANALYSIS = {
    "consensus": ["Rayleigh scattering makes the sky blue."],
    "contradictions": [
        {
            "topic": "why sunsets are red",
            "stances": [
                {"model": "vendor/a", "stance": "sunset dust reddens the light"},
                {"model": "vendor/b", "stance": "the longer path length through the air"},
            ],
        }
    ],
    "partial_coverage": [{"models": ["vendor/a"], "point": "the role of ozone"}],
    "unique_insights": [{"model": "vendor/b", "insight": "Mars has blue sunsets."}],
    "blind_spots": ["how human eyes perceive colour"],
}
FINAL = (
    "## Why the sky is blue\n\nFrom {n} panel answers: **Rayleigh scattering**.\n\n"
    "<script>document.title = 'pwned-final'</script>"
)
FAILURE = "quota exhausted for vendor/bad"
USAGE = {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42, "cost": 0.0021}

CONFIG = """\
model = "vendor/outer"
judge = "vendor/judge"
panel = ["vendor/a", "vendor/b", "vendor/bad"]
log_gateway = true

[presets.stuck]
analysis_models = ["vendor/slow", "vendor/slower"]
model = "vendor/judge"
outer = "vendor/outer"
"""


def _answer(text: str) -> FunctionModel:
    return FunctionModel(lambda req: Turn(content=text, finish_reason="stop", usage=dict(USAGE)))


def _outer() -> FunctionModel:
    def reply(req: FakeRequest) -> Turn:
        if not req.tool_results:
            t = tool_call("fusion", {"question": req.last_user})
        else:
            n = len(json.loads(req.tool_results[-1]).get("responses", []))
            t = Turn(content=FINAL.format(n=n), finish_reason="stop")
        t.usage = dict(USAGE)
        return t

    return FunctionModel(reply)


def _failing() -> RawModel:
    body = json.dumps({"error": {"code": 400, "message": FAILURE}}).encode()
    return RawModel(lambda req: RawReply(body, status=400))


@dataclass
class Served:
    url: str
    upstream: FakeUpstream
    held: Held
    hanging: Gate


@contextlib.contextmanager
def served(home: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`parley serve` with CONFIG (logging on) in front of the fake panel."""
    held, hanging = Held(), Gate(expected=2, threads=True)
    held.release.set()  # answers at once unless a test holds it
    models: dict[str, Any] = {
        "vendor/a": _answer(HOSTILE),
        "vendor/b": _held_answer(held),
        "vendor/bad": _failing(),
        "vendor/judge": _answer(json.dumps(ANALYSIS)),
        "vendor/outer": _outer(),
        "vendor/slow": hanging.model(),
        "vendor/slower": hanging.model(),
    }
    config = home / "ui-config.toml"
    config.write_text(CONFIG)
    pages = home / "pages"
    pages.mkdir()
    (pages / "sky.md").write_text("# Rayleigh scattering\n\nShort wavelengths scatter more.\n")
    with ThreadedUpstream(FakeUpstream(models)) as up:
        serve_env = {"PARLEY_CONFIG": str(config), "PARLEY_SEARCH_DIR": str(pages), **(env or {})}
        with parley_serve(home, up.base_url, serve_env) as (url, _proc):
            yield Served(url, up, held, hanging)


def module_server(
    factory: pytest.TempPathFactory, name: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """The body of a module-wide fixture: `served` in an isolated user directory."""
    home = factory.mktemp(name)
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        with served(home, env) as s:
            yield s


SEARCHED = "rayleigh scattering sunsets"


def _held_answer(held: Held) -> FunctionModel:
    """Searches the web first (the offline folder the server is given), then answers once
    released."""

    async def reply(req: FakeRequest) -> Turn:
        if "web_search" in req.tools and not req.tool_results:
            return tool_call("web_search", {"query": SEARCHED})
        held.started.set()
        await asyncio.to_thread(held.release.wait, 60)
        return Turn(content=PLAIN, finish_reason="stop", usage=dict(USAGE))

    return FunctionModel(reply)


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 20) -> Any:
    """Wait until `condition(driver)` is truthy (the page's state, polled by Selenium)."""
    return WebDriverWait(driver, timeout).until(condition)


def full_page_screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page at the window's width (Chromium's DevTools capture beyond the
    viewport: resizing the window would change the layout being shown)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def js(driver: WebDriver, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def text_of(driver: WebDriver, selector: str) -> str:
    return str(
        js(
            driver,
            "const n = document.querySelector(arguments[0]); return n ? n.innerText : ''",
            selector,
        )
    )


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one GET."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def post_events(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[tuple[str, Any]]:
    """POST /v1/deliberations and read its whole stream: (event name, data) pairs."""
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        url + "/v1/deliberations",
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read().decode()
    out = []
    for block in text.split("\n\n"):
        name, payload = "", None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                payload = json.loads(line[6:])
        if name:
            out.append((name, payload))
    return out
