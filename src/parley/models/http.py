"""The one adapter that speaks Chat Completions over HTTP; providers only say where and how.

It answers in the engine's types (a Turn, or Deltas), reading the wire with
`parley.wire.chat_parse`, and it can forward a client's body as it came (`Forwarding`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from yarl import URL

from parley.errors import Overloaded, UpstreamError, UpstreamTimeout
from parley.http import Bounds, env_proxy, pool_slot
from parley.models import loop_lag, observe
from parley.models.base import (
    Delta,
    Turn,
    deltas_of,
    has_tool_turns,
    tool_turns_as_text,
)
from parley.models.retry import (
    CircuitBreaker,
    RetryPolicy,
    counts_against_provider,
    parse_retry_after,
    retryable,
)
from parley.redact import Redactor, redact_url
from parley.wire.chat_parse import delta_from_chunk, turn_from_response
from parley.wire.sse import DataLines


class ChatCompletionsModel:
    """`model_id` as the user names it; `upstream_model` as the server knows it."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        upstream_model: str,
        model_id: str,
        api_key: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        openai_api: bool = False,
        bounds: Bounds | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._session = session
        # OpenAI's own API takes `reasoning_effort` and rejects OpenRouter's `reasoning`.
        self._openai_api = openai_api
        self._base = base_url.rstrip("/")
        self._url = self._base + "/chat/completions"
        self._host = URL(self._url).host or ""
        self.upstream_model = upstream_model
        self.model_id = model_id
        self._headers = {"Content-Type": "application/json", **(extra_headers or {})}
        # Every credential the process holds, not only this model's: an upstream may quote
        # any header it was sent, and a proxy in front of several providers any of theirs.
        self._redactor = (redactor or Redactor()).with_secrets([api_key or ""])
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._bounds = bounds or Bounds()
        # Built once: every call of this model is held to the same bounds.
        self._timeouts = {s: self._bounds.timeout(stream=s) for s in (False, True)}
        self._first_byte = {s: self._bounds.first_byte(stream=s) for s in (False, True)}
        self._retry = retry or RetryPolicy()
        self._breaker = breaker or CircuitBreaker(model_id)
        self._proxy, self._proxy_auth = env_proxy(session, self._url)

    def __repr__(self) -> str:  # never show the key
        return f"ChatCompletionsModel({self.model_id!r} -> {self._url})"

    def _prepare(
        self, body: dict[str, Any], headers: Mapping[str, str], stream: bool
    ) -> tuple[bytes, dict[str, str]]:
        payload = dict(body)
        payload["model"] = self.upstream_model
        payload["stream"] = stream
        messages = payload.get("messages") or []
        if not payload.get("tools") and has_tool_turns(messages):
            payload["messages"] = tool_turns_as_text(messages)
        if self._openai_api and "reasoning" in payload:
            reasoning = payload.pop("reasoning")
            if isinstance(reasoning, dict) and reasoning.get("effort"):
                payload.setdefault("reasoning_effort", reasoning["effort"])
        if stream:
            opts = dict(payload.get("stream_options") or {})
            opts.setdefault("include_usage", True)
            payload["stream_options"] = opts
        else:
            payload.pop("stream_options", None)
        return json.dumps(payload).encode(), {**self._headers, **headers}

    @contextlib.asynccontextmanager
    async def _post(
        self,
        data: bytes,
        headers: Mapping[str, str],
        *,
        stream: bool,
        url: str | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST once (to Chat Completions unless `url` says otherwise) and yield the open
        response; a status >= 400, a bound passed or a broken connection (also while the
        caller reads) becomes an UpstreamError."""
        loop_lag.of_running_loop()  # watching from the first call, to judge a timeout later
        try:
            # Waiting for a connection of our own pool is not the provider's time.
            async with pool_slot(self._session, self._host, self._bounds.pool_s):
                async with asyncio.timeout(self._first_byte[stream]):
                    resp = await self._session.post(
                        url or self._url,
                        data=data,
                        headers=headers,
                        timeout=self._timeouts[stream],
                        proxy=self._proxy,
                        proxy_auth=self._proxy_auth,
                    )
                async with resp:
                    if resp.status >= 400:
                        raise self._error(resp.status, await resp.read(), resp.headers)
                    observe.current().upstream_call(
                        self._breaker.provider, self.model_id, resp.status
                    )
                    yield resp
        except TimeoutError as exc:
            _drop_tracebacks(exc)
            raise self._timeout_error() from None
        except aiohttp.ClientError as exc:
            _drop_tracebacks(exc)
            raise self._connect_error(exc) from None

    @contextlib.asynccontextmanager
    async def _open(
        self,
        data: bytes,
        headers: Mapping[str, str],
        *,
        stream: bool,
        url: str | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """`_post` with the retry layer and the provider's breaker: tries again (after a
        jittered backoff, or the `Retry-After` it was told) until a response opens with a
        good status. Once it is handed over, what the caller reads is not retried: a byte
        of a stream may already have reached its consumer."""
        attempt = 0
        while True:
            self._breaker.check()
            handed = False
            try:
                async with self._post(data, headers, stream=stream, url=url) as resp:
                    self._breaker.record(True)
                    handed = True
                    yield resp
                    return
            except UpstreamError as exc:
                wait = None if handed else self._retry_wait(exc, attempt)
                if wait is None:
                    raise
            await asyncio.sleep(wait)
            attempt += 1

    # The failure is re-raised by the caller's bare `raise`, and the wait runs outside its
    # `except` block: a frame that raises an exception it holds in a variable makes a
    # reference cycle (exception, traceback, frame), and under load thousands of these
    # left for the garbage collector made its pauses long.
    def _retry_wait(self, exc: UpstreamError, attempt: int) -> float | None:
        """Count the failure against the provider; the seconds to wait before the next
        try, or None when it is not worth one (or none is left)."""
        if isinstance(exc, Overloaded):
            return None  # nothing was sent: no call to count, nothing against the provider
        watcher = observe.current()
        watcher.upstream_call(self._breaker.provider, self.model_id, exc.status_code)
        if isinstance(exc, UpstreamTimeout) and loop_lag.of_running_loop().overloaded():
            pass  # our loop ran late: the timeout may be ours, not the provider's
        else:
            self._breaker.record(not counts_against_provider(exc))
        if not retryable(exc) or attempt >= self._retry.retries:
            return None
        watcher.upstream_retry(self._breaker.provider, self.model_id)
        return self._retry.delay(attempt, exc.retry_after)

    async def _whole(self, data: bytes, headers: Mapping[str, str]) -> bytes:
        """A whole answer, retried as a whole: a connection that breaks while the body is
        read is tried again too, since nothing of it has reached anyone."""
        attempt = 0
        while True:
            self._breaker.check()
            try:
                async with self._post(data, headers, stream=False) as resp:
                    raw = await resp.read()
            except UpstreamError as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    raise
            else:
                self._breaker.record(True)
                return raw
            await asyncio.sleep(wait)
            attempt += 1

    async def complete(self, body: dict[str, Any], headers: Mapping[str, str]) -> Turn:
        data, hdrs = self._prepare(body, headers, stream=False)
        raw = self._redactor.data(await self._whole(data, hdrs))
        out = self._json(raw)
        if "error" in out and not out.get("choices"):
            raise self._error(_status_in(out["error"]) or 502, raw)
        return turn_from_response(out, self.model_id)

    async def stream(
        self, body: dict[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[Delta]:
        data, hdrs = self._prepare(body, headers, stream=True)
        hdrs["Accept"] = "text/event-stream"
        attempt = 0
        while True:
            said = False
            try:
                async for delta in self._stream_once(data, hdrs):
                    said = True
                    yield delta
                return
            except UpstreamError as exc:
                # Retried only while nothing of it has reached the consumer: a reset
                # before the first chunk costs a retry, one after it is the caller's.
                wait = None if said else self._retry_wait(exc, attempt)
                if wait is None:
                    raise
            await asyncio.sleep(wait)
            attempt += 1

    async def _stream_once(self, data: bytes, hdrs: Mapping[str, str]) -> AsyncIterator[Delta]:
        self._breaker.check()
        async with self._post(data, hdrs, stream=True) as resp:
            self._breaker.record(True)
            if "text/event-stream" not in resp.headers.get("Content-Type", ""):
                # Some servers ignore `stream`; accept a whole JSON body as the whole turn.
                raw = self._redactor.data(await resp.read())
                for delta in deltas_of(turn_from_response(self._json(raw), self.model_id)):
                    yield delta
                return
            finished = False
            lines = DataLines()
            masked = _Masked(self._redactor)
            while True:
                piece = await resp.content.readany()  # b"" once the stream has ended
                for payload in lines.feed(piece) if piece else lines.end():
                    if payload == b"[DONE]":
                        rest = masked.rest(self.model_id)
                        if rest is not None:
                            yield rest
                        return
                    chunk = self._json(self._redactor.data(payload))
                    if chunk.get("error"):
                        raise self._error(_status_in(chunk["error"]) or 502, payload)
                    delta = masked.delta(delta_from_chunk(chunk, self.model_id))
                    finished = finished or delta.finish_reason is not None
                    yield delta
                if not piece:
                    break
            if not finished:
                # A connection that closes with neither a finish_reason nor [DONE] was cut
                # short (a crashed worker, a proxy's timeout): its text is not an answer.
                raise UpstreamError(
                    f"{self.model_id}: the upstream closed the stream before it finished "
                    "(no finish_reason and no [DONE]); the answer is incomplete",
                    502,
                    self.model_id,
                )

    @contextlib.asynccontextmanager
    async def forward(
        self,
        body: dict[str, Any],
        headers: Mapping[str, str],
        raw: bytes | None = None,
        endpoint: str = "chat/completions",
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send a client's body as it came (only the model id rewritten) to `endpoint`
        (`chat/completions`, or `responses` for an upstream that speaks it) and yield the
        open response for the gateway's passthrough to pipe. A status >= 400 raises
        UpstreamError as `complete()` does; so does a connection that breaks while the
        caller reads.

        `raw`, if given, is the encoded `body` as the client sent it: when the model id
        needs no rewrite those bytes go as they are (a large image body is not encoded
        again on the event loop)."""
        hdrs = {**self._headers, **headers}
        if body.get("stream"):
            hdrs["Accept"] = "text/event-stream"
        if raw is None or body.get("model") != self.upstream_model:
            raw = json.dumps({**body, "model": self.upstream_model}).encode()
        url = f"{self._base}/{endpoint}"
        async with self._open(raw, hdrs, stream=bool(body.get("stream")), url=url) as resp:
            yield resp

    def _json(self, raw: bytes) -> dict[str, Any]:
        try:
            out = json.loads(raw)
        except (ValueError, RecursionError):
            out = None
        if not isinstance(out, dict):
            raise UpstreamError(
                self._scrub(
                    f"{self.model_id}: upstream sent something other than a JSON object: "
                    f"{raw[:200].decode('utf-8', 'replace')!r}"
                ),
                502,
                self.model_id,
            )
        return out

    def _error(
        self, status: int, raw: bytes, headers: Mapping[str, str] | None = None
    ) -> UpstreamError:
        message = _error_message(raw) or f"HTTP {status}"
        wait = parse_retry_after((headers or {}).get("Retry-After"))
        return UpstreamError(
            self._scrub(f"{self.model_id}: {message}"), status, self.model_id, retry_after=wait
        )

    def _scrub(self, text: str) -> str:
        """Upstreams sometimes echo the key they rejected; it must not reach our caller."""
        return self._redactor.text(text)

    def _timeout_error(self) -> UpstreamTimeout:
        b = self._bounds
        return UpstreamTimeout(
            f"{self.model_id}: upstream did not answer in time (connect {b.connect_s:g} s, "
            f"first byte {b.first_byte_s:g} s, silence within a stream {b.idle_s:g} s, in "
            f"all {b.total_s:g} s; the upstream_*_timeout settings set them)",
            504,
            self.model_id,
        )

    def _connect_error(self, exc: aiohttp.ClientError) -> UpstreamError:
        return UpstreamError(
            self._scrub(
                f"{self.model_id}: cannot reach {redact_url(self._url)}: "
                f"{type(exc).__name__}: {exc}"
            ),
            None,
            self.model_id,
        )


class _Masked:
    """A stream's text and reasoning with credentials masked across deltas: a key an
    upstream quotes may arrive in two pieces, which the per-chunk mask cannot see."""

    def __init__(self, redactor: Redactor) -> None:
        self._on = bool(redactor)
        self._text = redactor.stream()
        self._reasoning = redactor.stream()

    def delta(self, d: Delta) -> Delta:
        if not self._on:
            return d
        last = d.finish_reason is not None
        text = self._text.feed(d.text, last=last)
        reasoning = self._reasoning.feed(d.reasoning, last=last)
        if text == d.text and reasoning == d.reasoning:
            return d
        return dataclasses.replace(d, text=text, reasoning=reasoning)

    def rest(self, model: str) -> Delta | None:
        """What is still held when a stream ends with no finish_reason, if anything."""
        text, reasoning = self._text.end(), self._reasoning.end()
        return Delta(text=text, reasoning=reasoning, model=model) if text or reasoning else None


def _error_message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:500]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or json.dumps(err))[:2000]
        return str(err)[:2000]
    return str(data)[:2000]


def _status_in(err: Any) -> int | None:
    if isinstance(err, dict):
        code = err.get("code") or err.get("status")
        if isinstance(code, int) and 400 <= code < 600:
            return code
    return None


def _drop_tracebacks(exc: BaseException) -> None:
    """Forget the frames of an error (and of the errors behind it) that was replaced by
    an UpstreamError. aiohttp keeps a broken connection's error in the response's stream
    and in futures the frames of its traceback still hold, so each failed or timed-out
    call left a reference cycle of frames, responses and futures for the garbage
    collector to find: at 1,000 deliberations in flight, collections of several hundred
    thousand such objects, each holding the interpreter for up to a second."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        err.__traceback__ = None
        stack += [err.__cause__, err.__context__]
