"""`local/<name>`: GGUF models run in-process by llama.cpp, behind the ChatModel protocol.

Built in: `local/smollm2-135m-instruct` and `local/gemma-3-270m` (the `local` extra);
any other GGUF file can be named in config:

    [local]
    threads = 2            # default: all cores
    context = 4096         # tokens per sequence
    [local.models]
    qwen = "~/models/qwen2.5-0.5b-instruct-q4_k_m.gguf"    # then: local/qwen

Requests and answers are OpenAI-shaped, so the tool loop, the judge and the gateway treat
a local model like any other. What differs:
- tools are not run by local models: a request that offers tools is answered in text,
  except when `tool_choice` forces a function, which yields that call (a single string
  argument is filled with the last user message, other arguments are generated under a
  grammar from the function's JSON schema);
- `response_format` json_schema/json_object is enforced by a grammar (see local_grammar),
  and closed if the token budget runs out, so the JSON is valid by construction.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley.config import LocalConfig
from parley.errors import InvalidParameter, MissingExtraError, UpstreamError
from parley.models.base import Delta, ToolCallDelta, Turn, TurnBuilder
from parley.models.local.files import LocalSpec, find_spec, local_available

if TYPE_CHECKING:
    from parley.models.local.batch import Engine, Job, ModelInfo, Rendered

# Defaults for local models (kept beside the code that reads them; see _constants for why
# the rest live there).
MAX_TOKENS_DEFAULT = 384
CONTEXT_DEFAULT = 4096
SLOTS = 4  # sequences decoded together per model; more requests wait for a free slot
TEMPERATURE_DEFAULT = 0.7
REPEAT_PENALTY_DEFAULT = 1.1


def local_model(model_id: str, config: LocalConfig) -> LocalChatModel:
    """The ChatModel for `local/<name>`; the model file loads on first use, once per process."""
    if not local_available():
        raise MissingExtraError(f"{model_id} (local models)", "local")
    spec = find_spec(model_id.removeprefix("local/"), dict(config.models))
    return LocalChatModel(
        model_id,
        spec,
        threads=config.threads or default_threads(),
        context=config.context or CONTEXT_DEFAULT,
        cache_dir=config.cache_dir(),
    )


def default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class LocalChatModel:
    """A local GGUF model; every instance for the same file shares one loaded engine."""

    def __init__(
        self,
        model_id: str,
        spec: LocalSpec,
        *,
        threads: int,
        context: int,
        slots: int = SLOTS,
        cache_dir: Path | None = None,
    ) -> None:
        self.model_id = model_id
        self.spec = spec
        self.cache_dir = cache_dir
        self.threads = threads
        self.context = context
        self.slots = slots
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from parley.models.local.batch import engine_for

            key = self.spec.source if self.spec.source in ("smollm2", "gemma") else self.spec.name
            self._engine = engine_for(
                f"{key}:{self.spec.source}",
                self.spec.name,
                functools.partial(self.spec.path, self.cache_dir),
                threads=self.threads,
                context=self.context,
                slots=self.slots,
            )
        return self._engine

    async def complete(self, body: dict[str, Any], headers: Mapping[str, str]) -> Turn:
        builder = TurnBuilder()
        async for delta in self.stream(body, headers):
            builder.feed(delta)
        return builder.finish()

    async def stream(
        self, body: dict[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[Delta]:
        rid = f"gen-local-{uuid.uuid4().hex[:24]}"
        messages = list(body.get("messages") or [])
        forced = _forced_tool(body)
        if forced is not None:
            async for delta in self._tool_call(rid, body, messages, forced):
                yield delta
            return
        async for kind, value in self._generate(body, messages, _response_format(body)):
            if kind == "text":
                yield Delta(text=value, model=self.model_id, response_id=rid)
            else:
                yield self._end(rid, value[0], value[1], value[2])

    async def _tool_call(
        self, rid: str, body: dict[str, Any], messages: list[dict[str, Any]], tool: dict[str, Any]
    ) -> AsyncIterator[Delta]:
        fn = tool["function"]
        name = str(fn.get("name", ""))
        params = fn.get("parameters")
        if not isinstance(params, dict):
            params = {"type": "object", "properties": {}}
        props = params.get("properties")
        props = props if isinstance(props, dict) else {}
        usage = (0, 0)
        only = next(iter(props.values()), None) if len(props) == 1 else None
        if isinstance(only, dict) and only.get("type") == "string":
            # One text argument (fusion's `question`): the user's own words are the most
            # faithful self-contained restatement a small model can give.
            arguments = json.dumps({next(iter(props)): _last_user(messages)}, ensure_ascii=False)
        else:
            ask = {
                "role": "user",
                "content": f"Call the function `{name}` ({fn.get('description', '')}). "
                "Reply with its JSON arguments only.",
            }
            fmt = {"type": "json_schema", "json_schema": {"schema": params}}
            parts: list[str] = []
            async for kind, value in self._generate(body, [*messages, ask], fmt):
                if kind == "text":
                    parts.append(value)
                else:
                    usage = (value[1], value[2])
            arguments = "".join(parts)
        call = ToolCallDelta(0, f"call_{uuid.uuid4().hex[:12]}", name, arguments)
        yield Delta(tool_calls=(call,), model=self.model_id, response_id=rid)
        yield self._end(rid, "tool_calls", *usage)

    def _end(self, rid: str, finish: str, prompt: int, completion: int) -> Delta:
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost": 0.0,
        }
        return Delta(finish_reason=finish, usage=usage, model=self.model_id, response_id=rid)

    async def _generate(
        self, body: dict[str, Any], messages: list[dict[str, Any]], fmt: dict[str, Any] | None
    ) -> AsyncIterator[tuple[str, Any]]:
        """Run one job on the engine; yields ("text", str) then ("end", (finish, p, c))."""
        from parley.models.local.batch import Job

        job = self._job(body, messages, fmt)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

        def sink(ev: tuple[Any, ...]) -> None:
            loop.call_soon_threadsafe(events.put_nowait, ev)

        job.sink = sink
        assert isinstance(job, Job)
        self.engine.submit(job)
        try:
            while True:
                ev = await events.get()
                if ev[0] == "text":
                    yield "text", ev[1]
                elif ev[0] == "end":
                    yield "end", (ev[1], ev[2], ev[3])
                    return
                else:
                    status = ev[2] if len(ev) > 2 else 500
                    raise UpstreamError(str(ev[1]), status_code=status, model=self.model_id)
        finally:
            job.cancelled = True  # the caller stopped listening: free the slot

    def _job(
        self, body: dict[str, Any], messages: list[dict[str, Any]], fmt: dict[str, Any] | None
    ) -> Job:
        from parley.models.local.batch import Job
        from parley.models.local.prompt import PLAIN_STOPS, render_chat, render_plain
        from parley.models.local.sampling import Sampling

        plain = self.spec.prompt == "plain"

        def render(info: ModelInfo) -> Rendered:
            return render_plain(messages) if plain else render_chat(messages, info)

        grammar, schema = _grammar(fmt)
        stop = _stops(body.get("stop"))
        if plain and grammar is None:
            stop += PLAIN_STOPS
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise InvalidParameter("max_tokens", "must be a positive integer")
        penalty = "repetition_penalty" if "repetition_penalty" in body else "repeat_penalty"
        seed = body.get("seed")
        sampling = Sampling(
            temperature=_number(body, "temperature", 0.0, 2.0, TEMPERATURE_DEFAULT),
            top_p=_number(body, "top_p", 0.0, 1.0, 0.95) or 0.95,
            top_k=int(_number(body, "top_k", 0, 1_000_000, 40) or 40),
            min_p=_number(body, "min_p", 0.0, 1.0, 0.05),
            # Repetition penalties would punish the quotes and commas JSON must repeat.
            repeat_penalty=1.0
            if grammar
            else _number(body, penalty, 0.0, 10.0, REPEAT_PENALTY_DEFAULT) or 1.0,
            frequency_penalty=_number(body, "frequency_penalty", -2.0, 2.0, 0.0),
            presence_penalty=_number(body, "presence_penalty", -2.0, 2.0, 0.0),
            # The sampler takes 32 bits; any integer a client sends picks one of them.
            seed=seed & 0xFFFFFFFF if type(seed) is int else None,
        )
        return Job(
            render=render,
            sink=lambda ev: None,
            max_tokens=int(max_tokens or MAX_TOKENS_DEFAULT),
            sampling=sampling,
            stop=stop,
            grammar=grammar,
            schema=schema,
        )


def _number(body: dict[str, Any], name: str, lo: float, hi: float, default: float) -> float:
    """A sampling setting of the request, checked: a 400 naming it, not a crash."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise InvalidParameter(name, f"must be a number from {lo:g} to {hi:g}, got {value!r}")
    return float(value)


def _forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    tools = [t for t in tools if isinstance(t.get("function"), dict)]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        fn = choice.get("function")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise InvalidParameter("tool_choice.function", 'must be an object like {"name": "f"}')
        return next((t for t in tools if t["function"].get("name") == fn["name"]), None)
    if choice == "required" and tools:
        return tools[0]
    return None


def _last_user(messages: list[dict[str, Any]]) -> str:
    from parley.models.local.prompt import _text

    for m in reversed(messages):
        if m.get("role") == "user" and _text(m.get("content")).strip():
            return _text(m.get("content")).strip()
    return ""


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    return (
        fmt if isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object") else None
    )


_GRAMMARS: dict[str, str] = {}
_GRAMMARS_MAX = 256


def _grammar(fmt: dict[str, Any] | None) -> tuple[str | None, Any]:
    if fmt is None:
        return None, None
    if fmt.get("type") == "json_object":
        schema: Any = {"type": "object"}
    else:
        js = fmt.get("json_schema") or {}
        schema = js.get("schema") if isinstance(js, dict) else None
        if not isinstance(schema, dict):
            raise InvalidParameter("response_format.json_schema.schema", "must be an object")
    key = json.dumps(schema, sort_keys=True)
    if key not in _GRAMMARS:
        from parley.models.local.grammar import grammar_for

        try:
            grammar = grammar_for(schema)
        except (AssertionError, KeyError, ValueError, TypeError, RecursionError) as exc:
            raise InvalidParameter(
                "response_format.json_schema.schema",
                f"a local model cannot follow this schema ({type(exc).__name__}: {exc}); "
                "use plain types, properties, items, enum and required",
            ) from None
        if len(_GRAMMARS) >= _GRAMMARS_MAX:  # schemas come from clients
            _GRAMMARS.clear()
        _GRAMMARS[key] = grammar
    return _GRAMMARS[key], schema


def _stops(stop: Any) -> tuple[str, ...]:
    if isinstance(stop, str):
        return (stop,) if stop else ()
    if isinstance(stop, list):
        return tuple(s for s in stop if isinstance(s, str) and s)
    return ()
