"""The web page, driven in headless Chromium against `parley serve` and a fake upstream:
ask and watch the panel columns fill, read every analysis card and the final answer, see
a failed panelist's reason, stop a run (the upstream calls stop), reopen a run by its
link, run it with the keyboard alone on a phone-width screen, and never run a model's
script. One server for the module; screenshots go to the test artifacts (and the wide one
to docs/ui.png, which the README shows, when it is missing or PARLEY_UPDATE_DOCS=1).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from browser_kit import ROOT, artifacts_dir, chromium
from ui_kit import (
    FAILURE,
    SEARCHED,
    Served,
    full_page_screenshot,
    get,
    js,
    module_server,
    post_events,
    text_of,
    wait_for,
)

QUESTION = "Why is the sky blue?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from module_server(tmp_path_factory, "ui")


def _column_state(driver: WebDriver, model: str) -> str:
    return text_of(driver, f'article.column[data-model="{model}"] .state')


def _ask(driver: WebDriver, question: str) -> None:
    box = driver.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    driver.find_element(By.ID, "ask-button").click()


def _assert_no_model_script_ran(driver: WebDriver) -> None:
    assert js(driver, "return document.title") == "Parley"
    # The markup is shown as text; none of it became an element.
    assert js(driver, "return document.querySelectorAll('main script, main img').length") == 0
    hrefs = js(driver, "return [...document.querySelectorAll('#run a[href]')].map(a => a.href)")
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert "<script>" in text_of(driver, "#columns")


def test_ask_watch_the_columns_fill_read_the_analysis_and_the_answer(server: Served) -> None:
    server.held.release.clear()  # vendor/b answers only when the test has seen it wait
    server.held.started.clear()
    try:
        with chromium(1400, 1300) as driver:
            driver.get(server.url + "/")
            wait_for(
                driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
            )
            _ask(driver, QUESTION)
            # Live: vendor/a done, vendor/bad failed with its reason, vendor/b still waiting.
            wait_for(driver, lambda d: _column_state(d, "vendor/a").startswith("done in"))
            wait_for(driver, lambda d: FAILURE in _column_state(d, "vendor/bad"))
            assert server.held.started.wait(20)
            # vendor/b searched, and is held before it writes: its column says so.
            wait_for(driver, lambda d: _column_state(d, "vendor/b") == f"searching: {SEARCHED}")
            assert text_of(driver, "#answer") == ""
            server.held.release.set()
            wait_for(driver, lambda d: "Done." in text_of(d, "#status"), 30)

            done = _column_state(driver, "vendor/a")
            assert "42 tokens" in done and "$0.0021" in done
            assert "Rayleigh scattering makes the sky blue." in text_of(driver, "#columns")
            analysis = text_of(driver, "#analysis")
            for expected in (
                "Consensus",
                "Rayleigh scattering makes the sky blue.",
                "Contradictions",
                "why sunsets are red",
                "the longer path length through the air",
                "Partial coverage",
                "the role of ozone",
                "Unique insights",
                "Mars has blue sunsets.",
                "Blind spots",
                "how human eyes perceive colour",
            ):
                assert expected in analysis, expected
            # The final answer is rendered markdown: a heading and bold text, script as text.
            assert js(driver, "return document.querySelector('#answer h5').textContent") == (
                "Why the sky is blue"
            )
            assert "From 2 panel answers" in text_of(driver, "#answer")
            # A source the search found; its address is a file, not http(s): text, no link.
            assert "Rayleigh scattering" in text_of(driver, "#sources")
            assert js(driver, "return document.querySelectorAll('#sources a').length") == 0
            usage = text_of(driver, "#usage")
            assert "Panel" in usage and "Analysis" in usage and "Total" in usage and "$" in usage
            # Compare: both answers aligned, the contradiction marked where it occurs.
            flags = text_of(driver, "#compare-view")
            assert "Contradiction: why sunsets are red" in flags
            _assert_no_model_script_ran(driver)
            shot = artifacts_dir() / "ui-wide.png"
            full_page_screenshot(driver, shot)
            # The README's picture is written when missing or asked for
            # (PARLEY_UPDATE_DOCS=1): a run's timings differ, and CI keeps the tree clean.
            readme_shot = ROOT / "docs" / "ui.png"
            if not readme_shot.exists() or os.environ.get("PARLEY_UPDATE_DOCS") == "1":
                shutil.copyfile(shot, readme_shot)
    finally:
        server.held.release.set()


def test_a_run_reopens_from_its_link_as_it_ran(server: Served) -> None:
    events = post_events(server.url, {"question": "What colour is a sunset?"})
    started = dict(events)["parley.run.started"]
    run_id = started["run_id"]
    assert events[0][0] == "parley.run.started" and events[-1][0] == "parley.run.completed"
    with chromium() as driver:
        driver.get(f"{server.url}/ui/runs/{run_id}")
        wait_for(driver, lambda d: run_id in text_of(d, "#status"))
        assert text_of(driver, "#run-question") == "What colour is a sunset?"
        assert FAILURE in _column_state(driver, "vendor/bad")
        assert "Mars has blue sunsets." in text_of(driver, "#analysis")
        assert "From 2 panel answers" in text_of(driver, "#answer")
        assert (
            driver.find_element(By.ID, "share").get_attribute("href").endswith(f"/ui/runs/{run_id}")
        )
        # History finds it by search, and its link opens it.
        search = driver.find_element(By.ID, "history-q")
        search.send_keys("colour")
        wait_for(driver, lambda d: "Why is the sky blue?" not in text_of(d, "#history-list"))
        assert "What colour is a sunset?" in text_of(driver, "#history-list")
        _assert_no_model_script_ran(driver)

        # Continue the conversation from this answer: the follow-up joins it in the log.
        driver.find_element(By.ID, "continue").click()
        assert "What colour is a sunset?" in text_of(driver, "#continuing")
        _ask(driver, "And on Mars?")
        wait_for(driver, lambda d: "Done." in text_of(d, "#status"), 30)
        wait_for(driver, lambda d: "/ui/runs/" in d.current_url and run_id not in d.current_url)
        follow_up = driver.current_url.rsplit("/", 1)[1]
        status, _, body = get(f"{server.url}/v1/deliberations/{follow_up}")
        entry = json.loads(body)
        assert status == 200 and entry["question"] == "And on Mars?"
        assert entry["conversation_id"] == run_id


def test_stop_cancels_the_run_and_its_upstream_calls(server: Served) -> None:
    with chromium() as driver:
        driver.get(server.url + "/ui")
        wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        driver.find_element(By.CSS_SELECTOR, "#preset option[value=stuck]").click()
        _ask(driver, "A question nobody answers")
        assert server.hanging.started.wait(20)  # both panelists are inside their calls
        driver.find_element(By.ID, "stop-button").click()
        assert server.hanging.gone.wait(20)  # the gateway cancelled both upstream calls
        wait_for(driver, lambda d: "Stopped" in text_of(d, "#status"))
        assert _column_state(driver, "vendor/slow") == "stopped"
        assert server.upstream.in_flight == 0
        assert server.upstream.cancelled >= 2
        assert driver.find_element(By.ID, "ask-button").is_enabled()
    # The log keeps it, as stopped.
    _, _, body = get(server.url + "/v1/deliberations?q=nobody")
    assert [e["status"] for e in json.loads(body)["data"]] == ["interrupted"]


def test_keyboard_alone_at_390_px_without_horizontal_scrolling_light_and_dark(
    server: Served,
) -> None:
    with chromium(390, 844) as driver:
        driver.get(server.url + "/")
        wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        keys = ActionChains(driver)
        keys.send_keys(Keys.TAB, Keys.ENTER).perform()  # the skip link, to the question
        for _ in range(3):
            if js(driver, "return document.activeElement.id") == "question":
                break
            ActionChains(driver).send_keys(Keys.TAB).perform()
        assert js(driver, "return document.activeElement.id") == "question"
        ActionChains(driver).send_keys(QUESTION).perform()
        for _ in range(60):  # Tab through the form to the Ask button
            if js(driver, "return document.activeElement.id") == "ask-button":
                break
            ActionChains(driver).send_keys(Keys.TAB).perform()
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        wait_for(driver, lambda d: "Done." in text_of(d, "#status"), 30)
        assert "From 2 panel answers" in text_of(driver, "#answer")
        wide = js(
            driver,
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        )
        assert wide <= 0, f"{wide} px of horizontal scrolling at 390 px"
        landmarks = js(
            driver,
            "return ['header', 'main', 'nav', 'aside']"
            ".map(t => document.querySelectorAll(t).length)",
        )
        assert all(landmarks), landmarks
        assert js(driver, "return document.getElementById('status').getAttribute('aria-live')") == (
            "polite"
        )
        _assert_no_model_script_ran(driver)
        full_page_screenshot(driver, artifacts_dir() / "ui-narrow.png")
        # Light and dark follow the system setting.
        background = "return getComputedStyle(document.body).backgroundColor"
        light = js(driver, background)
        dark_media = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", dark_media)
        assert js(driver, background) != light
        full_page_screenshot(driver, artifacts_dir() / "ui-narrow-dark.png")


def test_assets_are_versioned_and_cached_and_the_stream_is_documented(server: Served) -> None:
    status, headers, body = get(server.url + "/")
    assert status == 200 and headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in headers["content-security-policy"]
    html = body.decode()
    start = html.index("/ui/static/app.js?v=")
    asset = html[start : html.index('"', start)]
    status, headers, _ = get(server.url + asset)
    assert status == 200 and "immutable" in headers["cache-control"]
    assert headers["content-type"].startswith("text/javascript")
    _, headers, _ = get(server.url + "/ui/static/app.js?v=old")
    assert headers["cache-control"] == "no-cache"  # an old version's URL is never pinned
    _, _, doc = get(server.url + "/openapi.json")
    assert b'"/v1/deliberations"' in doc and b"parley.run.started" in doc


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "q", "parameters": {"temperature": 9}}, "parameters.temperature"),
        ({"question": "q", "panel": []}, "panel"),
        ({"question": "q", "colour": "blue"}, "colour"),
    ],
)
def test_a_bad_ask_is_a_400_naming_its_field(
    server: Served, body: dict[str, object], field: str
) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        post_events(server.url, body)
    with refused.value as resp:
        error = json.loads(resp.read())["error"]
    assert resp.code == 400 and error["param"] == field
    assert error["message"].startswith(field + ":")


def test_cancelling_an_unknown_run_is_a_404_naming_the_token(server: Served) -> None:
    req = urllib.request.Request(
        server.url + "/v1/deliberations/cancel",
        data=b'{"cancel_token": "not-a-token"}',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused, urllib.request.urlopen(req):
        pass
    with refused.value as resp:
        error = json.loads(resp.read())["error"]
    assert resp.code == 404 and error["param"] == "cancel_token"
