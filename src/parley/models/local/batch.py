"""One llama.cpp context per model; every request is a sequence in one shared batch.

A worker thread per model owns the context, so access is serialized and the event loop
stays free. Each step it decodes one batch holding the next token of every running
sequence plus a chunk of any prompt still being read (continuous batching: a request that
arrives mid-generation joins at the next step). Sequences keep separate KV cache slots
(`n_seq_max` = slots), so panelists that share a model decode together rather than in turn.
How each sequence picks its next token (and why grammars stay fast) is in local_sampling.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp as _llama

from parley.models.local.jsontrack import JsonTracker
from parley.models.local.sampling import Sampling, Scratch, TokenPicker

L: Any = _llama  # the ctypes bindings' annotations do not help mypy; treat them as dynamic
log = logging.getLogger("parley.local")

N_BATCH = 512
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
class Job:
    """One generation request. `sink` receives ("text", str), then ("end", finish_reason,
    prompt_tokens, completion_tokens) or ("error", message[, status]) (status 400 when the
    request itself is at fault, else the model's failure); it is called on the worker
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
    def __init__(self, job: Job, slot: int, tokens: list[int], picker: TokenPicker) -> None:
        self.job = job
        self.slot = slot
        self.prompt = tokens
        self.picker = picker
        self.n_past = 0
        self.last = -1
        self.n_gen = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""
        self.tracker = JsonTracker(job.schema) if job.grammar else None
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
        self._scratch = Scratch(self.n_vocab)

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
            _safe(job, ("error", f"local/{self.name}: cannot build the prompt: {exc}", 400))
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
                    400,
                ),
            )
            return None
        try:
            picker = TokenPicker(self.vocab, self._scratch, job.sampling, job.grammar)
        except ValueError as exc:  # sampling settings the sampler refuses
            _safe(job, ("error", f"local/{self.name}: {exc}", 400))
            return None
        # The lowest free slot: llama.cpp decodes a batch in one pass only when its
        # sequence ids are consecutive (and in order, see _step); otherwise it splits the
        # batch and three sequences cost ~40% more per step than with slots 0, 1, 2.
        slot = min(free)
        free.remove(slot)
        L.llama_memory_seq_rm(self.mem, slot, -1, -1)
        return _Seq(job, slot, tokens, picker)

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
        tok = seq.picker.pick(self.ctx, idx)
        if tok < 0:  # the grammar allows nothing more
            self._finish(seq, "stop")
            return
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
        seq.picker.free()


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
