"""Every extension point of Parley, in one place (as simonw/llm keeps its hookspecs).

Each seam is a small Protocol or a registration; built-ins use the same door a user's
code would, and tests pass fakes through it (`parley.testing`).

- ChatModel (`parley.models.base`): `complete(body, headers) -> Turn` and
  `stream(body, headers) -> AsyncIterator[Delta]` for one model id, in the engine's own
  types. Built-ins: `ChatCompletionsModel` (any OpenAI-compatible HTTP server, which is
  also `Forwarding`: it can pass a client's body through untouched), the local GGUF
  models, `FunctionModel` (a fake). Pass your own as `Parley(models={"my/model": obj})`.
- Provider (`parley.providers`): where a model id runs and with which key, as a `Route`
  (base URL, upstream model name, key variable). Declare more in the config file under
  `[providers.NAME]`; `Router` resolves ids to ChatModels.
- ServerTool (`parley.tools.base`) and its registration (`parley.tools.registry`): a
  tool Parley runs itself (`name`, `definition()`, `run(arguments)`), made per request by
  the factory of a `ServerToolKind` registered in `REGISTRY`; web_search, web_fetch,
  datetime and fusion register the same way and run in the one tool loop.
- SearchBackend (`parley.tools.web.protocols`): `search(query, *, max_results)`.
  Built-ins in `parley.tools.web.search`: SearXNG, Brave, Tavily, Exa, ddgs, a local
  BM25 folder; `FakeSearch`.
- Fetcher (`parley.tools.web.protocols`): `fetch(url) -> FetchedPage`. Built-in: the
  SSRF-guarded `parley.tools.web.fetcher.WebFetcher`; `FakeFetcher`.
- Extractor (`parley.tools.web.extract.extract`): response bytes and content type to
  markdown text and a title (trafilatura, markdownify, pypdf), off the event loop.
- Events (`parley.engine.events`): one typed stream per run (the loop's text and tools,
  the deliberation's panel and judge, `Completed` last); the CLI's live view, the
  gateway's streams and the log read the same stream.
- Wire formats (`parley.wire`): a face translates its format to the engine's `Request`
  and renders `Outcome` and events back; Chat Completions is the first.
"""

from __future__ import annotations

from parley.engine.events import Event
from parley.models.base import ChatModel, Forwarding
from parley.providers import Route, Router
from parley.tools.base import ServerTool, ToolOutput
from parley.tools.registry import REGISTRY, ServerToolKind, ToolContext
from parley.tools.web.extract import Extracted, extract
from parley.tools.web.protocols import FetchedPage, Fetcher, SearchBackend, SearchHit

__all__ = [
    "REGISTRY",
    "ChatModel",
    "Event",
    "Extracted",
    "FetchedPage",
    "Fetcher",
    "Forwarding",
    "Route",
    "Router",
    "SearchBackend",
    "SearchHit",
    "ServerTool",
    "ServerToolKind",
    "ToolContext",
    "ToolOutput",
    "extract",
]
