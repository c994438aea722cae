"""Choosing each sequence's next token: llama.cpp's sampler chain, checked by a grammar.

Grammar-constrained sampling is fast because we do what llama.cpp's own common sampler does
and llama-cpp-python does not: sample from the model first, then ask the grammar about that
one token. Only when the grammar rejects it do we filter candidates, the 64 likeliest first
and the whole vocabulary only if none of those fit. llama-cpp-python puts the grammar inside
its sampler chain, so the grammar walks every token of the vocabulary (49,152 for SmolLM2,
262,144 for Gemma) on every step; its cost grows with the grammar's open alternatives, which
is how its JSON-schema path fell to single-digit tok/s here.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Any

import llama_cpp as _llama
import numpy as np

L: Any = _llama  # the ctypes bindings' annotations do not help mypy; treat them as dynamic

TOP_CANDIDATES = 64
_TOKEN_DTYPE = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])


@dataclass
class Sampling:
    """A request's sampling settings (OpenAI names mapped by the provider)."""

    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    seed: int | None = None


class TokenPicker:
    """One sequence's samplers: the chain for its settings and, for JSON, its grammar.

    Not thread-safe; the engine's worker thread owns it. `scratch` holds candidate buffers
    shared by every sequence of one model (only one samples at a time).
    """

    def __init__(self, vocab: Any, scratch: Scratch, sampling: Sampling, grammar: str | None):
        self.sampling = sampling
        self.scratch = scratch
        self.chain: Any = _chain(sampling)
        self.grammar: Any = None
        self.rng = np.random.default_rng(sampling.seed)
        if grammar:
            self.grammar = L.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
            if not self.grammar:
                self.free()
                raise ValueError("the grammar did not parse")

    def pick(self, ctx: Any, idx: int) -> int:
        """The next token from output `idx` of the last decode; -1 if the grammar allows
        none (the document cannot go on)."""
        tok = int(L.llama_sampler_sample(self.chain, ctx, idx))
        if self.grammar is None:
            return tok
        if not self._allowed(tok):
            tok = self._constrained(ctx, idx)
        if tok >= 0:
            L.llama_sampler_accept(self.grammar, tok)
        return tok

    def free(self) -> None:
        """Release the llama.cpp samplers (idempotent)."""
        for sampler in (self.chain, self.grammar):
            if sampler:
                L.llama_sampler_free(sampler)
        self.chain = self.grammar = None

    def _allowed(self, tok: int) -> bool:
        s = self.scratch
        one = s.one[0]
        one.id, one.logit, one.p = tok, 0.0, 0.0
        s.one_arr.size, s.one_arr.selected = 1, -1
        L.llama_sampler_apply(self.grammar, ctypes.byref(s.one_arr))
        return bool(math.isfinite(s.one[0].logit))

    def _constrained(self, ctx: Any, idx: int) -> int:
        """The rejected-token path: best candidates that the grammar accepts."""
        s = self.scratch
        logits = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, idx), shape=(s.n_vocab,))
        k = len(s.top)
        top = np.argpartition(logits, -k)[-k:]
        top = top[np.argsort(-logits[top], kind="stable")]
        view = np.frombuffer(s.top, dtype=_TOKEN_DTYPE)
        view["id"], view["logit"], view["p"] = top, logits[top], 0.0
        s.top_arr.size, s.top_arr.selected, s.top_arr.sorted = k, -1, False
        L.llama_sampler_apply(self.grammar, ctypes.byref(s.top_arr))
        ids, vals = view["id"][: s.top_arr.size], view["logit"][: s.top_arr.size]
        ok = np.isfinite(vals)
        if not ok.any():
            full = s.all_np
            full["id"] = np.arange(s.n_vocab, dtype=np.int32)
            full["logit"], full["p"] = logits, 0.0
            s.all_arr.size, s.all_arr.selected, s.all_arr.sorted = s.n_vocab, -1, False
            L.llama_sampler_apply(self.grammar, ctypes.byref(s.all_arr))
            ids, vals = full["id"], full["logit"]
            ok = np.isfinite(vals)
            if not ok.any():
                return -1
        ids, vals = ids[ok], vals[ok]
        order = np.argsort(-vals, kind="stable")[: max(1, self.sampling.top_k)]
        ids, vals = ids[order], vals[order]
        temp = self.sampling.temperature
        if temp <= 0 or len(ids) == 1:
            return int(ids[0])
        p = np.exp((vals - vals[0]) / temp)
        return int(self.rng.choice(ids, p=p / p.sum()))


class Scratch:
    """Candidate buffers for grammar checks, allocated once per model."""

    def __init__(self, n_vocab: int) -> None:
        self.n_vocab = n_vocab
        k = min(TOP_CANDIDATES, n_vocab)
        self.top = (L.llama_token_data * k)()
        self.top_arr = L.llama_token_data_array(self.top, k, -1, False)
        self.all = (L.llama_token_data * n_vocab)()
        self.all_np = np.frombuffer(self.all, dtype=_TOKEN_DTYPE)
        self.all_arr = L.llama_token_data_array(self.all, n_vocab, -1, False)
        self.one = (L.llama_token_data * 1)()
        self.one_arr = L.llama_token_data_array(self.one, 1, -1, False)


def _chain(s: Sampling) -> Any:
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
