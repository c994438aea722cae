"""Every extension point of Parley, in one place (as simonw/llm keeps its hookspecs).

Each seam is a small Protocol or a plain value; built-ins implement them the same way a
user's code would, and tests pass fakes through the same door.

- ChatModel (`parley.models.base`): `complete(body, headers)` and `stream(body, headers)`
  speak Chat Completions for one model id. Built-ins: `ChatCompletionsModel` (any
  OpenAI-compatible HTTP server), the local GGUF models, `FunctionModel` (a fake). Pass
  your own as `Parley(models={"my/model": obj})`.
- Provider (`parley.providers`): where a model id runs and with which key, as a `Route`
  (base URL, upstream model name, key variable). Declare more in the config file under
  `[providers.NAME]`; `Router` resolves ids to ChatModels.
- ServerTool (`parley.tools.base`): a tool Parley runs itself (`name`, `definition()`,
  `run(arguments)`); web_search, web_fetch, datetime and fusion are all ServerTools run by
  the one tool loop (`parley.tools.loop.run_tool_loop`).
- SearchBackend (`parley.tools.web`): `search(query, *, max_results)`. Built-ins in
  `parley.tools.web.search`: SearXNG, Brave, Tavily, Exa, ddgs, a local BM25 folder; `FakeSearch`.
- Fetcher (`parley.tools.web`): `fetch(url) -> FetchedPage`. Built-in: the SSRF-guarded
  `parley.tools.web.fetcher.WebFetcher`; `FakeFetcher`.
- Extractor (`parley.tools.web.extract.extract`): response bytes and content type to
  markdown text and a title (trafilatura, markdownify, pypdf), off the event loop.
- Progress events (`parley.fusion.events`): what a deliberation reports as it runs; the
  CLI's live view, the gateway's stream and the log all read the same events.
"""

from __future__ import annotations

from parley.fusion.events import Event
from parley.models.base import ChatModel
from parley.providers import Route, Router
from parley.tools.base import ServerTool, ToolOutput
from parley.tools.web import FetchedPage, Fetcher, SearchBackend, SearchHit
from parley.tools.web.extract import Extracted, extract

__all__ = [
    "ChatModel",
    "Event",
    "Extracted",
    "FetchedPage",
    "Fetcher",
    "Route",
    "Router",
    "SearchBackend",
    "SearchHit",
    "ServerTool",
    "ToolOutput",
    "extract",
]
