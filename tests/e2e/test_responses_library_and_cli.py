"""The Responses shape outside the gateway: `Parley.respond(...)` and `parley ask
--responses` give the same object `POST /v1/responses` does."""

from __future__ import annotations

import json

from click.testing import CliRunner

from parley import Parley
from parley.cli import cli
from parley.testing import FakeUpstream


async def test_the_library_answers_a_responses_request(parley_client: Parley) -> None:
    r = await parley_client.respond(
        {
            "model": "vendor/outer",
            "input": "Why is the sky blue?",
            "tools": [{"type": "openrouter:fusion"}],
        }
    )
    assert r["object"] == "response" and r["status"] == "completed"
    assert [o["type"] for o in r["output"]] == ["openrouter:fusion", "message"]
    assert r["output_text"] == "Final answer from 2 panel responses."
    assert r["usage"]["total_tokens"] > 0


def test_the_cli_prints_the_responses_object(runner: CliRunner, up: FakeUpstream) -> None:
    result = runner.invoke(cli, ["ask", "-n", "--responses", "Why is the sky blue?"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["object"] == "response" and r["model"] == "vendor/outer"
    fusion, message = r["output"]
    assert fusion["type"] == "openrouter:fusion" and len(fusion["responses"]) == 2
    assert message["content"][0]["text"].startswith("The sky is blue")
