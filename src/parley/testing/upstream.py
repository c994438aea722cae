"""A fake OpenAI-compatible upstream on loopback, for tests, benchmarks and demos.

    async with FakeUpstream({"vendor/a": FunctionModel(fn)}) as up:
        settings = load_settings({"OPENROUTER_BASE_URL": up.base_url})   # ".../api/v1"

Each model id maps to a FunctionModel (or one `default` for every id), or to a `RawModel`
whose replies are written byte for byte (faults: bodies that are not JSON, streams cut
short or stalled mid-line, reset connections); `latency` delays every answer by a fixed
time; `requests` records (path, headers, body) of each call.
`ThreadedUpstream` runs the same server in a thread, for code that is not async
(a CLI in a subprocess, a benchmark's load generator).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from parley.errors import UpstreamError
from parley.models.base import Delta
from parley.testing.models import FunctionModel
from parley.usage import Usage
from parley.wire import responses_request, sse
from parley.wire.chat_response import Chunks, response_of_turn
from parley.wire.responses_events import ResponseBuild
from parley.wire.responses_output import ResponseShape


@dataclass
class Recorded:
    """One request the fake server received (see `FakeUpstream.requests`)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class RawReply:
    """An answer written byte for byte, for what no well-behaved server sends.

    `body` is written as one piece or, as a list, piece by piece (a stream's chunks);
    then the response ends (`close`), waits until the client gives up (`hang`), or the
    connection is torn down without an end (`reset`).
    """

    body: bytes | Sequence[bytes] = b""
    status: int = 200
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    then: Literal["close", "hang", "reset"] = "close"


class RawModel:
    """A model of the fake upstream whose replies are RawReply objects, from a function of
    the request (its headers and body, so a reply can echo what it was sent)."""

    def __init__(self, fn: Callable[[Recorded], RawReply | Awaitable[RawReply]]) -> None:
        self.fn = fn
        self.requests: list[Recorded] = []

    async def reply(self, request: Recorded) -> RawReply:
        self.requests.append(request)
        out = self.fn(request)
        return await out if inspect.isawaitable(out) else out


class FakeUpstream:
    """An OpenAI-compatible server on loopback whose models are FunctionModels, so tests
    exercise the real HTTP path (adapter, streaming, errors) with scripted answers.

    Args:
        models: FunctionModel by model id; an unknown id gets a 404 like OpenRouter's.
        default: the model for every id not in `models`.
        latency: seconds each answer waits before it starts (benchmarks, cancellation).
        host: the address to listen on (loopback).
        record: keep each request in `requests`.
    """

    def __init__(
        self,
        models: Mapping[str, FunctionModel | RawModel] | None = None,
        *,
        default: FunctionModel | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        record: bool = True,
    ) -> None:
        self.models = dict(models or {})
        self.default = default
        self.latency = latency
        self.host = host
        self.record = record
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.cancelled = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """OpenRouter-style base URL (`/api/v1`); `/v1` is served too."""
        return f"http://{self.host}:{self.port}/api/v1"

    def app(self) -> web.Application:
        """The aiohttp app, serving `/v1` and `/api/v1` (chat completions and models)."""
        app = web.Application()
        for prefix in ("/v1", "/api/v1"):
            app.router.add_post(prefix + "/chat/completions", self._chat)
            app.router.add_post(prefix + "/responses", self._responses)
            app.router.add_get(prefix + "/models", self._models)
        return app

    async def start(self) -> FakeUpstream:
        """Listen on a free port; `base_url` is valid afterwards."""
        # As a real server does, a client that hangs up (a timeout, a cancelled request)
        # cancels its handler, so `cancelled` counts it and stop() does not wait for it.
        self._runner = web.AppRunner(
            self.app(),
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        """Stop serving; requests still running are cancelled."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeUpstream:
        return await self.start()

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._route(request, self._answer_chat)

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        return await self._route(request, _answer_responses)

    async def _route(
        self,
        request: web.Request,
        answer: Callable[
            [web.Request, FunctionModel, dict[str, Any]], Awaitable[web.StreamResponse]
        ],
    ) -> web.StreamResponse:
        """Either route's common half: read and record the body, find the model, count it
        in flight, and let a RawModel answer raw; `answer` writes the route's own shape."""
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "body is not JSON")
        recorded = Recorded(request.path, dict(request.headers), body)
        if self.record:
            self.requests.append(recorded)
        model = self.models.get(str(body.get("model")), self.default)
        if model is None:
            return _error(404, f"{body.get('model')} is not a valid model ID")
        self.in_flight += 1
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            if isinstance(model, RawModel):
                return await _write_raw(request, await model.reply(recorded))
            return await answer(request, model, body)
        except UpstreamError as exc:
            return _error(exc.status_code or 500, exc.message)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1

    async def _answer_chat(
        self, request: web.Request, model: FunctionModel, body: dict[str, Any]
    ) -> web.StreamResponse:
        if not body.get("stream"):
            turn = await model.complete(body, dict(request.headers))
            return web.json_response(response_of_turn(turn, str(body.get("model"))))
        return await self._stream(request, model, body)

    async def _stream(
        self, request: web.Request, model: FunctionModel, body: dict[str, Any]
    ) -> web.StreamResponse:
        deltas = model.stream(body, dict(request.headers))
        try:
            first = await anext(deltas)
        except UpstreamError as exc:
            return _error(exc.status_code or 500, exc.message)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        chunks = Chunks(str(body.get("model")), first.response_id or None)
        await resp.write(sse.data(chunks.delta({"role": "assistant"})))
        try:
            delta: Delta | None = first
            while delta is not None:
                for chunk in chunks.of_delta(delta):
                    await resp.write(sse.data(chunk))
                delta = await anext(deltas, None)
        except UpstreamError as exc:
            err = {"error": {"message": exc.message, "code": exc.status_code or 500}}
            await resp.write(sse.data(err))
        await resp.write(sse.DONE)
        return resp


async def _answer_responses(
    request: web.Request, model: FunctionModel, body: dict[str, Any]
) -> web.StreamResponse:
    """A Responses request answered as OpenRouter's Responses API would: the input read as
    a conversation, the model's turn written as a response (or its stream of events)."""
    asked = responses_request.to_request(body)
    chat_body = {
        **asked.request.body,
        "messages": asked.request.messages,
        "tools": asked.request.tools,
        "model": body.get("model"),
    }
    turn = await model.complete(chat_body, dict(request.headers))
    build = ResponseBuild(ResponseShape(str(body.get("model")), asked.echo))
    build.start()
    spent = Usage()
    spent.add_upstream(turn.usage)
    build.complete(turn.content or None, turn.tool_calls, spent, turn.finish_reason or "stop", [])
    if not body.get("stream"):
        return web.json_response(build.response)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for event in build.events:
        await resp.write(sse.event(event["type"], event))
    return resp


async def _write_raw(request: web.Request, reply: RawReply) -> web.StreamResponse:
    resp = web.StreamResponse(
        status=reply.status, headers={"Content-Type": reply.content_type, **reply.headers}
    )
    await resp.prepare(request)
    pieces = [reply.body] if isinstance(reply.body, bytes) else list(reply.body)
    for piece in pieces:
        await resp.write(piece)
    if reply.then == "hang":
        await asyncio.Event().wait()  # until the client hangs up and cancels this handler
    if reply.then == "reset" and request.transport is not None:
        request.transport.abort()
        return resp
    await resp.write_eof()
    return resp


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "code": status}}, status=status)


class ThreadedUpstream:
    """FakeUpstream on its own event loop in a daemon thread."""

    def __init__(self, upstream: FakeUpstream) -> None:
        self.upstream = upstream
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.upstream.start(), self._loop).result()
        return self.upstream

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.upstream.stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
