"""`parley eval ... --html report.html` as a user runs it, then the page opened in headless
Chromium: the systems' table and the cost-vs-accuracy plot are there and visible, nothing
is fetched from the network, and a model id written as HTML is shown as text, not run."""

from __future__ import annotations

import json
from pathlib import Path

from selenium.webdriver.common.by import By

from browser_kit import artifacts_dir, chromium
from cli_kit import cli_env, run_parley
from eval_kit import eval_upstream, scripted
from parley.testing.upstream import ThreadedUpstream

EVIL = "evil/<script>document.title='owned'</script>"
GOLD = {"How many legs has a spider?": "8", "What is 6 times 7?": "42", "Sides of a cube?": "6"}
SAYS = {
    "vendor/a": {
        "How many legs has a spider?": "8",
        "What is 6 times 7?": "41",
        "Sides of a cube?": "6",
    },
    "vendor/b": {
        "How many legs has a spider?": "six",
        "What is 6 times 7?": "42",
        "Sides of a cube?": "4",
    },
    EVIL: {"How many legs has a spider?": "8", "What is 6 times 7?": "42", "Sides of a cube?": "6"},
}


def test_the_html_report_shows_the_table_and_the_plot_in_a_browser(tmp_path: Path) -> None:
    tasks, out, page = tmp_path / "tasks.jsonl", tmp_path / "out", tmp_path / "report.html"
    tasks.write_text(
        "".join(
            json.dumps({"id": f"t{i}", "question": q, "answer": a, "scorer": "number"}) + "\n"
            for i, (q, a) in enumerate(GOLD.items())
        )
    )
    systems = f"fusion,solo:vendor/a,solo:vendor/b,solo:{EVIL},vote"
    with ThreadedUpstream(eval_upstream(scripted(SAYS), GOLD.__getitem__)) as up:
        env = cli_env(up.base_url)
        proc = run_parley(
            env, "eval", str(tasks), "--out", str(out), "--systems", systems,
            "--no-tools", "--html", str(page),
        )  # fmt: skip
        again = run_parley(env, "eval", "report", str(out), "--html", str(tmp_path / "r.html"))
    assert proc.returncode == 0, proc.stderr
    assert again.returncode == 0, again.stderr
    text = page.read_text(encoding="utf-8")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == text  # the records decide
    assert "http://" not in text and "https://" not in text  # nothing is fetched
    assert "<script" not in text and "evil/&lt;script&gt;document.title=&#x27;owned&#x27;" in text

    names = ["fusion", "solo:vendor/a", "solo:vendor/b", f"solo:{EVIL}", "vote"]
    with chromium(width=1280, height=1700) as browser:
        browser.get(page.as_uri())
        assert browser.title == "parley eval"  # the injected script did not run
        rows = browser.find_elements(By.CSS_SELECTOR, "#systems tbody tr")
        assert [r.find_element(By.CSS_SELECTOR, "td.system").text for r in rows] == names
        assert all(r.is_displayed() and r.size["height"] > 0 for r in rows)
        fusion = rows[0].find_elements(By.TAG_NAME, "td")
        assert [c.text for c in fusion[1:4]] == ["100.0", "43.9\u2013100.0", "3"]
        points = browser.find_elements(By.CSS_SELECTOR, "#scatter g.system")
        assert [p.get_attribute("data-system") for p in points] == names
        for point in points:
            dot = point.find_element(By.CSS_SELECTOR, "circle.point")
            assert dot.is_displayed() and dot.size["width"] > 0 and dot.size["height"] > 0
            assert point.find_element(By.CSS_SELECTOR, "text.label").text
        labels = browser.find_element(By.ID, "scatter").text
        assert "no cost reported" in labels and "accuracy" in labels  # tokens on the x axis
        assert "any panel member right" in browser.find_element(By.ID, "ceiling").text.lower()
        browser.save_screenshot(str(artifacts_dir() / "eval-report.png"))
