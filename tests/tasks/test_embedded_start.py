"""Starting the embedded LLM server is bounded by `llm.embedded_startup_timeout_s`.

A real subprocess launched the way the embedded server is (`tasks.embedded_llm.serve`, which
`embedded_llm` calls with the server's command line) stands in for a server that never says its
address. No model is needed.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from agent_models import RunConfig
from tasks.embedded_llm import DEFAULT_STARTUP_TIMEOUT_S, EmbeddedLLMError, EmbeddedLLMTimeoutError, serve
from tasks.llm_client import LLMUnavailableError

BOUND_S = 2.0
# Writes its pid where the test says, then neither prints nor exits (a model load that never ends).
NEVER_PRINTS = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(600)"
# Prints half a line and stays: a raw read must not wait for the rest.
HALF_A_LINE = "import sys, time; sys.stdout.write('LISTENING http://127'); sys.stdout.flush(); time.sleep(600)"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_server_that_never_says_its_address_is_stopped_at_the_bound(tmp_path):
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(EmbeddedLLMTimeoutError) as caught:
        with serve([sys.executable, "-c", NEVER_PRINTS, str(pid_file)], BOUND_S):
            pytest.fail("a server that never said its address was taken as started")
    waited = time.monotonic() - started

    assert BOUND_S <= waited < BOUND_S + 10  # not before the bound; and the stop is a SIGTERM, not a hang
    assert _gone(int(pid_file.read_text()))  # stopped and reaped
    message = str(caught.value)
    # An LLM that never answers, as the CLI reports one: one line, naming the setting and its value.
    assert isinstance(caught.value, LLMUnavailableError) and "\n" not in message
    assert "did not answer within 2 s (llm.embedded_startup_timeout_s)" in message


def test_half_a_line_is_not_waited_for_past_the_bound():
    started = time.monotonic()
    with pytest.raises(EmbeddedLLMTimeoutError):
        with serve([sys.executable, "-c", HALF_A_LINE], BOUND_S):
            pytest.fail("half a line was taken as an address")
    assert time.monotonic() - started < BOUND_S + 10


def test_a_server_that_exits_says_what_it_said():
    with pytest.raises(EmbeddedLLMError, match=r"did not start \(exit code .*said 'no model here'\)") as caught:
        with serve([sys.executable, "-c", "print('no model here')"], BOUND_S):
            pytest.fail("a server that exited was taken as started")
    assert not isinstance(caught.value, EmbeddedLLMTimeoutError)


def test_the_bound_is_a_documented_setting():
    assert RunConfig().llm.embedded_startup_timeout_s == DEFAULT_STARTUP_TIMEOUT_S > 0
