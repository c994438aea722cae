"""The panel researches by default, as OpenRouter's does: a panelist served by OpenRouter
searches with OpenRouter's own web search (its citations land in `sources`); a configured
backend always wins; when no member can search, the result and the CLI say so."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from parley import Parley, load_settings
from parley.cli import cli
from parley.models.base import Source, Turn
from parley.testing import (
    ANALYSIS_JSON,
    FakeRequest,
    FakeSearch,
    FakeUpstream,
    FunctionModel,
    ThreadedUpstream,
    tool_call,
)

QUESTION = "Why is the sky blue?"
CITED = Source(url="https://example.org/rayleigh", title="Rayleigh scattering")


def cites(req: FakeRequest) -> Turn:
    # What OpenRouter's web plugin returns: the answer, and the pages it read.
    return Turn(content="Rayleigh scattering.", finish_reason="stop", citations=[CITED])


def panel() -> dict[str, FunctionModel]:
    return {
        "vendor/a": FunctionModel(cites),
        "vendor/b": FunctionModel(lambda req: "Short wavelengths scatter."),
        "vendor/judge": FunctionModel(lambda req: ANALYSIS_JSON),
    }


async def test_an_openrouter_panelist_searches_with_openrouters_web_search() -> None:
    models = panel()
    async with FakeUpstream(models) as up:
        env = {"OPENROUTER_BASE_URL": up.base_url}
        settings = load_settings(env, overrides={"judge": "vendor/judge"})
        async with Parley(settings=settings) as p:  # no search backend configured
            d = await p.deliberate(QUESTION, panel=["vendor/a", "vendor/b"])
    assert d.result is not None and d.result.status == "ok"
    assert [s.url for s in d.result.sources] == [CITED.url]
    assert d.result.search is None  # they could search
    asked = models["vendor/a"].requests[0].body
    assert {"id": "web"} in asked["plugins"]
    assert "web_search" not in models["vendor/a"].requests[0].tools  # OpenRouter searches


async def test_the_max_results_asked_of_web_search_reach_openrouters_plugin() -> None:
    models = panel()
    async with FakeUpstream(models) as up:
        env = {"OPENROUTER_BASE_URL": up.base_url}
        settings = load_settings(env, overrides={"judge": "vendor/judge"})
        async with Parley(settings=settings) as p:
            tools = [{"type": "openrouter:web_search", "parameters": {"max_results": 3}}]
            await p.deliberate(QUESTION, panel=["vendor/a"], params={"tools": tools})
    assert {"id": "web", "max_results": 3} in models["vendor/a"].requests[0].body["plugins"]


async def test_a_configured_backend_always_wins() -> None:
    models = panel()
    async with FakeUpstream(models) as up:
        settings = load_settings(
            {"OPENROUTER_BASE_URL": up.base_url}, overrides={"judge": "vendor/judge"}
        )
        async with Parley(settings=settings, search=FakeSearch()) as p:
            await p.deliberate(QUESTION, panel=["vendor/a", "vendor/b"])
    first = models["vendor/a"].requests[0]
    assert "web_search" in first.tools and "plugins" not in first.body


async def test_no_member_that_can_search_is_said() -> None:
    # In-process models are not OpenRouter's, and no backend and no keyless search exist.
    settings = load_settings({}, overrides={"judge": "vendor/judge"})
    async with Parley(settings=settings, models=panel(), search=None) as p:
        d = await p.deliberate(QUESTION, panel=["vendor/a", "vendor/b"])
    assert d.result is not None and d.result.search == "none"
    assert d.result.to_wire()["search"] == "none"
    # Asked for no tools at all, nothing is missing: nothing is said.
    async with Parley(settings=settings, models=panel(), search=None) as p:
        quiet = await p.deliberate(QUESTION, panel=["vendor/a"], params={"tools": []})
    assert quiet.result is not None and "search" not in quiet.result.to_wire()


def test_the_cli_says_when_the_panel_could_not_search(tmp_path: Path) -> None:
    def outer(req: FakeRequest) -> Turn | str:
        return tool_call("fusion", {"question": QUESTION}) if not req.tool_results else "fine"

    models = {**panel(), "outer": FunctionModel(outer)}
    with ThreadedUpstream(FakeUpstream(models)) as up:
        config = tmp_path / "corp.toml"  # a provider that is not OpenRouter
        config.write_text(f'[providers.corp]\nbase_url = "{up.base_url}"\nprefix = ""\n')
        env = {
            "PARLEY_CONFIG": str(config),
            "PARLEY_SEARCH": "off",
            "PARLEY_MODEL": "outer",
            "PARLEY_PANEL": "vendor/a,vendor/b",
            "PARLEY_JUDGE": "vendor/judge",
        }
        result = CliRunner().invoke(cli, ["ask", "-n", QUESTION], env=env)
    assert result.exit_code == 0, result.output
    assert "answered without web search" in result.stderr
