"""One llama.cpp context per model; every request is a sequence in one shared batch.

A worker thread per model owns the context, so access is serialized and the event loop
stays free. Each step it decodes one batch holding the next token of every running
sequence plus a chunk of any prompt still being read (continuous batching: a request that
arrives mid-generation joins at the next step). Sequences keep separate KV cache slots
(`n_seq_max` = slots), so panelists that share a model decode together rather than in turn.

Grammar-constrained sampling is fast because we do what llama.cpp's own common sampler does
and llama-cpp-python does not: sample from the model first, then ask the grammar about that
one token. Only when the grammar rejects it do we filter candidates, the 64 likeliest first
and the whole vocabulary only if none of those fit. llama-cpp-python puts the grammar inside
its sampler chain, so the grammar walks every token of the vocabulary (49,152 for SmolLM2,
262,144 for Gemma) on every step; its cost grows with the grammar's open alternatives, which
is how its JSON-schema path fell to single-digit tok/s here.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import math
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp as _llama
import numpy as np

from parley.models.local_json import JsonTracker

L: Any = _llama  # the ctypes bindings' annotations do not help mypy; treat them as dynamic
log = logging.getLogger("parley.local")

N_BATCH = 512
TOP_CANDIDATES = 64
Event = tuple[Any, ...]


@L.llama_log_callback  # type: ignore[untyped-decorator]
def _log_callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    # llama.cpp logs every tensor at load time; keep stderr for our one-line notice.
    log.debug("%s", text.decode("utf-8", "replace").rstrip())


def quiet_logs() -> None:
    """Route llama.cpp's logging to our logger (it would otherwise print to stderr)."""
    L.llama_log_set(_log_callback, ctypes.c_void_p(0))


@dataclass
class ModelInfo:
    """What prompt building needs from the loaded file."""

    chat_template: str | None
    bos: str
    eos: str
    n_ctx: int


@dataclass
class Rendered:
    text: str
    add_special: bool = True
    parse_special: bool = True


@dataclass
class Sampling:
    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    seed: int | None = None


@dataclass
class Job:
    """One generation request. `sink` receives ("text", str), then ("end", finish_reason,
    prompt_tokens, completion_tokens) or ("error", message); it is called on the worker
    thread, so it must be thread-safe (the async side uses call_soon_threadsafe)."""

    render: Callable[[ModelInfo], Rendered]
    sink: Callable[[Event], None]
    max_tokens: int
    sampling: Sampling = field(default_factory=Sampling)
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    schema: Any = None
    cancelled: bool = False


class FairLock:
    """A FIFO lock: models take turns at the CPU one decode step at a time.

    Two contexts decoding at once on two cores would each spin up their own thread pool and
    oversubscribe the cores; turns keep each step at full speed and both streams moving.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._cond.wait()

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


DECODE_LOCK = FairLock()


class _Seq:
    def __init__(self, job: Job, slot: int, tokens: list[int]) -> None:
        self.job = job
        self.slot = slot
        self.prompt = tokens
        self.n_past = 0
        self.last = -1
        self.n_gen = 0
        self.chain: Any = None
        self.grammar: Any = None
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""
        self.tracker = JsonTracker(job.schema) if job.grammar else None
        self.rng = np.random.default_rng(job.sampling.seed)
        self.done = False

    @property
    def prefilled(self) -> bool:
        return self.n_past >= len(self.prompt)


class Engine:
    """A loaded model and its worker thread; create through `engine_for` to share it."""

    def __init__(
        self, name: str, path: Callable[[], Path], *, threads: int, context: int, slots: int
    ) -> None:
        self.name = name
        self._path = path
        self.threads = threads
        self.context = context
        self.slots = slots
        self._inbox: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self.info: ModelInfo | None = None
        self._pieces: dict[int, bytes] = {}

    def submit(self, job: Job) -> None:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._main, name=f"parley-local-{self.name}", daemon=True
                )
                self._thread.start()
        self._inbox.put(job)

    # --- worker thread ------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._load()
        except Exception as exc:
            message = f"local/{self.name}: cannot load the model: {exc}"
            log.error(message)
            while True:
                _safe(self._inbox.get(), ("error", message))
        waiting: deque[Job] = deque()
        active: list[_Seq] = []
        free = list(range(self.slots))
        while True:
            try:
                waiting.append(self._inbox.get(block=not active and not waiting))
                while True:
                    waiting.append(self._inbox.get_nowait())
            except queue.Empty:
                pass
            # Free finished slots before admitting: a request sent the moment another ended
            # then takes the lowest slot rather than leaving a gap in the ids.
            for seq in active:
                if seq.job.cancelled and not seq.done:
                    self._release(seq)
            for seq in [s for s in active if s.done]:
                active.remove(seq)
                free.append(seq.slot)
            while waiting and free:
                job = waiting.popleft()
                if not job.cancelled:
                    admitted = self._admit(job, free)
                    if admitted is not None:
                        active.append(admitted)
            if active:
                self._step(active)

    def _load(self) -> None:
        quiet_logs()
        L.llama_backend_init()
        path = self._path()
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = 0
        self.model = L.llama_model_load_from_file(str(path).encode(), mp)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not read {path}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
        n_ctx = min(self.context, int(L.llama_model_n_ctx_train(self.model)) or self.context)
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx * self.slots
        cp.n_batch = N_BATCH
        cp.n_ubatch = N_BATCH
        cp.n_seq_max = self.slots
        cp.n_threads = self.threads
        cp.n_threads_batch = self.threads
        cp.kv_unified = False  # each sequence owns n_ctx cells
        cp.no_perf = True
        self.ctx = L.llama_init_from_model(self.model, cp)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a context (out of memory?)")
        self.n_ctx = int(L.llama_n_ctx_seq(self.ctx)) or n_ctx
        self.mem = L.llama_get_memory(self.ctx)
        self.batch = L.llama_batch_init(N_BATCH + self.slots, 0, 1)
        template = L.llama_model_chat_template(self.model, None)
        self.info = ModelInfo(
            chat_template=template.decode("utf-8", "replace") if template else None,
            bos=self._special_text(int(L.llama_vocab_bos(self.vocab))),
            eos=self._special_text(int(L.llama_vocab_eos(self.vocab))),
            n_ctx=self.n_ctx,
        )
        k = min(TOP_CANDIDATES, self.n_vocab)
        self._top = (L.llama_token_data * k)()
        self._top_arr = L.llama_token_data_array(self._top, k, -1, False)
        self._all = (L.llama_token_data * self.n_vocab)()
        self._all_np = np.frombuffer(self._all, dtype=_TOKEN_DTYPE)
        self._all_arr = L.llama_token_data_array(self._all, self.n_vocab, -1, False)
        self._one = (L.llama_token_data * 1)()
        self._one_arr = L.llama_token_data_array(self._one, 1, -1, False)

    def _special_text(self, token: int) -> str:
        if token < 0:
            return ""
        buf = ctypes.create_string_buffer(64)
        n = L.llama_token_to_piece(self.vocab, token, buf, 64, 0, True)
        return buf.raw[: max(n, 0)].decode("utf-8", "replace")

    def _tokenize(self, r: Rendered) -> list[int]:
        data = r.text.encode("utf-8")
        cap = len(data) + 16
        arr = (L.llama_token * cap)()
        n = L.llama_tokenize(self.vocab, data, len(data), arr, cap, r.add_special, r.parse_special)
        if n < 0:
            cap = -n
            arr = (L.llama_token * cap)()
            n = L.llama_tokenize(
                self.vocab, data, len(data), arr, cap, r.add_special, r.parse_special
            )
        return list(arr[:n])

    def _admit(self, job: Job, free: list[int]) -> _Seq | None:
        assert self.info is not None
        try:
            tokens = self._tokenize(job.render(self.info))
        except Exception as exc:
            _safe(job, ("error", f"local/{self.name}: cannot build the prompt: {exc}"))
            return None
        if not tokens:
            tokens = [int(L.llama_vocab_bos(self.vocab))]
        if len(tokens) >= self.n_ctx:
            _safe(
                job,
                (
                    "error",
                    f"local/{self.name}: the prompt has {len(tokens)} tokens but the context "
                    f"holds {self.n_ctx}; raise `context` under [local] in the config file",
                ),
            )
            return None
        # The lowest free slot: llama.cpp decodes a batch in one pass only when its
        # sequence ids are consecutive (and in order, see _step); otherwise it splits the
        # batch and three sequences cost ~40% more per step than with slots 0, 1, 2.
        slot = min(free)
        free.remove(slot)
        seq = _Seq(job, slot, tokens)
        L.llama_memory_seq_rm(self.mem, seq.slot, -1, -1)
        seq.chain = self._chain(job.sampling)
        if job.grammar:
            seq.grammar = L.llama_sampler_init_grammar(
                self.vocab, job.grammar.encode("utf-8"), b"root"
            )
            if not seq.grammar:
                self._release(seq)
                _safe(job, ("error", f"local/{self.name}: the grammar did not parse"))
                return None
        return seq

    def _chain(self, s: Sampling) -> Any:
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        add = L.llama_sampler_chain_add
        if s.repeat_penalty != 1.0 or s.frequency_penalty or s.presence_penalty:
            # The binding declares a leading n_vocab that current llama.cpp dropped; passing
            # the window twice lands it in the right register under either signature.
            add(
                chain,
                L.llama_sampler_init_penalties(
                    64, 64, s.repeat_penalty, s.frequency_penalty, s.presence_penalty
                ),
            )
        if s.temperature <= 0:
            add(chain, L.llama_sampler_init_greedy())
        else:
            add(chain, L.llama_sampler_init_top_k(s.top_k))
            add(chain, L.llama_sampler_init_top_p(s.top_p, 1))
            add(chain, L.llama_sampler_init_min_p(s.min_p, 1))
            add(chain, L.llama_sampler_init_temp(s.temperature))
            seed = s.seed if s.seed is not None else 0xFFFFFFFF  # LLAMA_DEFAULT_SEED: random
            add(chain, L.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        return chain

    def _step(self, active: list[_Seq]) -> None:
        b = self.batch
        n = 0
        outputs: list[tuple[_Seq, int]] = []

        def put(token: int, pos: int, slot: int, logits: bool) -> None:
            nonlocal n
            b.token[n] = token
            b.pos[n] = pos
            b.n_seq_id[n] = 1
            b.seq_id[n][0] = slot
            b.logits[n] = logits
            n += 1

        running = sorted((s for s in active if not s.done), key=lambda s: s.slot)
        for seq in running:
            if seq.prefilled:
                outputs.append((seq, n))
                put(seq.last, seq.n_past, seq.slot, True)
                seq.n_past += 1
        budget = N_BATCH - n
        for seq in running:
            if seq.prefilled or budget <= 0:
                continue
            chunk = seq.prompt[seq.n_past : seq.n_past + budget]
            for i, tok in enumerate(chunk):
                last = seq.n_past + i == len(seq.prompt) - 1
                if last:
                    outputs.append((seq, n))
                put(tok, seq.n_past + i, seq.slot, last)
            seq.n_past += len(chunk)
            budget -= len(chunk)
        b.n_tokens = n
        with DECODE_LOCK:
            rc = L.llama_decode(self.ctx, b)
        if rc != 0:
            for seq in running:
                self._finish(seq, None, f"llama_decode failed ({rc}): context full?")
            return
        for seq, idx in outputs:
            self._sample(seq, idx)

    def _sample(self, seq: _Seq, idx: int) -> None:
        tok = int(L.llama_sampler_sample(seq.chain, self.ctx, idx))
        if seq.grammar is not None:
            if not self._allowed(seq.grammar, tok):
                tok = self._constrained(seq, idx)
            if tok < 0:
                self._finish(seq, "stop")
                return
            L.llama_sampler_accept(seq.grammar, tok)
        seq.n_gen += 1
        if L.llama_vocab_is_eog(self.vocab, tok):
            self._finish(seq, "stop")
            return
        self._text(seq, seq.decoder.decode(self._piece(tok)))
        if seq.done:
            return
        if seq.n_gen >= seq.job.max_tokens or seq.n_past + 1 >= self.n_ctx:
            self._finish(seq, "length")
            return
        seq.last = tok

    def _allowed(self, grammar: Any, tok: int) -> bool:
        one = self._one[0]
        one.id, one.logit, one.p = tok, 0.0, 0.0
        self._one_arr.size, self._one_arr.selected = 1, -1
        L.llama_sampler_apply(grammar, ctypes.byref(self._one_arr))
        return bool(math.isfinite(self._one[0].logit))

    def _constrained(self, seq: _Seq, idx: int) -> int:
        """The rejected-token path: best candidates that the grammar accepts."""
        logits = np.ctypeslib.as_array(L.llama_get_logits_ith(self.ctx, idx), shape=(self.n_vocab,))
        k = len(self._top)
        top = np.argpartition(logits, -k)[-k:]
        top = top[np.argsort(-logits[top], kind="stable")]
        view = np.frombuffer(self._top, dtype=_TOKEN_DTYPE)
        view["id"], view["logit"], view["p"] = top, logits[top], 0.0
        self._top_arr.size, self._top_arr.selected, self._top_arr.sorted = k, -1, False
        L.llama_sampler_apply(seq.grammar, ctypes.byref(self._top_arr))
        ids, vals = view["id"][: self._top_arr.size], view["logit"][: self._top_arr.size]
        ok = np.isfinite(vals)
        if not ok.any():
            full = self._all_np
            full["id"] = np.arange(self.n_vocab, dtype=np.int32)
            full["logit"], full["p"] = logits, 0.0
            self._all_arr.size, self._all_arr.selected, self._all_arr.sorted = (
                self.n_vocab,
                -1,
                False,
            )
            L.llama_sampler_apply(seq.grammar, ctypes.byref(self._all_arr))
            ids, vals = full["id"], full["logit"]
            ok = np.isfinite(vals)
            if not ok.any():
                return -1
        ids, vals = ids[ok], vals[ok]
        order = np.argsort(-vals, kind="stable")[: max(1, seq.job.sampling.top_k)]
        ids, vals = ids[order], vals[order]
        temp = seq.job.sampling.temperature
        if temp <= 0 or len(ids) == 1:
            return int(ids[0])
        p = np.exp((vals - vals[0]) / temp)
        return int(seq.rng.choice(ids, p=p / p.sum()))

    def _piece(self, tok: int) -> bytes:
        piece = self._pieces.get(tok)
        if piece is None:
            buf = ctypes.create_string_buffer(128)
            n = L.llama_token_to_piece(self.vocab, tok, buf, 128, 0, False)
            piece = buf.raw[: max(n, 0)]
            self._pieces[tok] = piece
        return piece

    def _text(self, seq: _Seq, text: str) -> None:
        if not text:
            return
        if seq.tracker is not None:
            seq.tracker.feed(text)
            _safe(seq.job, ("text", text))
            if seq.tracker.complete:
                self._finish(seq, "stop")
            return
        stops = seq.job.stop
        if not stops:
            _safe(seq.job, ("text", text))
            return
        seq.pending += text
        for stop in stops:
            at = seq.pending.find(stop)
            if at != -1:
                seq.pending = seq.pending[:at]
                self._finish(seq, "stop")
                return
        hold = max((_overlap(seq.pending, s) for s in stops), default=0)
        ready, seq.pending = (
            seq.pending[: len(seq.pending) - hold],
            seq.pending[len(seq.pending) - hold :],
        )
        if ready:
            _safe(seq.job, ("text", ready))

    def _finish(self, seq: _Seq, reason: str | None, error: str = "") -> None:
        if seq.done:
            return
        if reason is None:
            _safe(seq.job, ("error", f"local/{self.name}: {error}"))
        else:
            tail = seq.pending + seq.decoder.decode(b"", final=True)
            if seq.tracker is not None and not seq.tracker.complete:
                tail += seq.tracker.closing()
            if tail:
                _safe(seq.job, ("text", tail))
            _safe(seq.job, ("end", reason, len(seq.prompt), seq.n_gen))
        self._release(seq)

    def _release(self, seq: _Seq) -> None:
        seq.done = True
        L.llama_memory_seq_rm(self.mem, seq.slot, -1, -1)
        for sampler in (seq.chain, seq.grammar):
            if sampler:
                L.llama_sampler_free(sampler)
        seq.chain = seq.grammar = None


_TOKEN_DTYPE = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of `text` that begins `stop` (text to hold back)."""
    for n in range(min(len(stop) - 1, len(text)), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0


def _safe(job: Job, event: Event) -> None:
    try:
        job.sink(event)
    except Exception:  # the caller went away (loop closed): stop generating for it
        job.cancelled = True


_ENGINES: dict[tuple[str, int, int, int], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(
    key: str, name: str, path: Callable[[], Path], *, threads: int, context: int, slots: int
) -> Engine:
    """The process-wide engine for a model file and settings: models load once."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get((key, threads, context, slots))
        if engine is None:
            engine = Engine(name, path, threads=threads, context=context, slots=slots)
            _ENGINES[(key, threads, context, slots)] = engine
        return engine
