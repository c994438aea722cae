"""With PARLEY_API_KEYS set, the page's API and its stream refuse a request without a key
(401 naming the fix); the page itself loads (it holds no data), asks for the key once and
keeps it in the tab's session storage."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

from browser_kit import chromium
from ui_kit import Served, get, module_server, post_events, text_of, wait_for

KEY = "page-test-key-5f2c"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from module_server(tmp_path_factory, "ui-keys", {"PARLEY_API_KEYS": KEY})


@pytest.mark.parametrize("path", ["/v1/choices", "/v1/deliberations", "/v1/deliberations/x"])
def test_the_page_api_refuses_without_the_key(guarded: Served, path: str) -> None:
    status, _, body = get(guarded.url + path)
    assert status == 401
    assert "PARLEY_API_KEYS" in json.loads(body)["error"]["message"]
    assert get(guarded.url + path, {"Authorization": f"Bearer {KEY}"})[0] != 401


def test_the_stream_refuses_without_the_key_and_runs_with_it(guarded: Served) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as refused:
        post_events(guarded.url, {"question": "Why is the sky blue?"})
    assert refused.value.code == 401
    refused.value.close()  # its response, left open, would warn when collected
    assert guarded.upstream.requests == []  # nothing was spent
    events = post_events(
        guarded.url, {"question": "Why is the sky blue?"}, {"Authorization": f"Bearer {KEY}"}
    )
    assert events[-1][0] == "parley.run.completed"


def test_the_page_asks_for_the_key_once_and_keeps_it_for_the_tab(guarded: Served) -> None:
    assert get(guarded.url + "/")[0] == 200
    with chromium() as driver:
        driver.get(guarded.url + "/")
        wait_for(driver, lambda d: d.find_element(By.ID, "key-dialog").get_attribute("open"))
        assert "PARLEY_API_KEYS" in text_of(driver, "#key-why")
        driver.find_element(By.ID, "key-input").send_keys(KEY)
        driver.find_element(By.ID, "key-save").click()
        wait_for(driver, lambda d: "vendor/a" in text_of(d, "#panel-choices"))
        assert driver.execute_script("return sessionStorage.getItem('parley.apiKey')") == KEY
        driver.refresh()  # the same tab: no second prompt
        wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        assert not driver.find_element(By.ID, "key-dialog").get_attribute("open")
