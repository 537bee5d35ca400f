"""The services a run needs besides Ray: an LLM endpoint and a Prefect API.

`llm_endpoint` resolves the configuration's LLM: a configured URL is checked (reachable, a
model named or the only one offered); no URL starts the embedded demo model for as long as
the context lasts. Either way it yields the configuration with `llm.url` and `llm.model` set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from agent_models import RunConfig
from agent_models.run_config import LLMSettings
from tasks.embedded_llm import embedded_llm
from tasks.llm_client import EMBEDDED_MODEL_NAME, LLMUnavailableError, check_server

PREFLIGHT_TIMEOUT_S = 10.0


def served_model(llm: LLMSettings) -> str:
    """Check that the server at `llm.url` answers; the model to use (the named one, or the only one)."""
    models = check_server(llm.url, llm.api_key, min(llm.timeout_s, PREFLIGHT_TIMEOUT_S))
    if not llm.model and len(models) != 1:
        raise LLMUnavailableError(f"--llm-model: none given and the server at {llm.url} offers "
                                  f"{', '.join(models) if models else 'no model list'}; name one")
    return llm.model or models[0]


@contextmanager
def llm_endpoint(config: RunConfig) -> Iterator[RunConfig]:
    llm = config.llm
    if llm.url:
        yield config.model_copy(update={"llm": llm.model_copy(update={"model": served_model(llm)})})
        return
    with embedded_llm(llm.embedded_parallel, config.simulation.seed) as url:
        yield config.model_copy(update={"llm": llm.model_copy(
            update={"url": url, "model": llm.model or EMBEDDED_MODEL_NAME, "embedded": True})})
