"""The services a run needs besides Ray: an LLM endpoint and a Prefect API.

`llm_endpoint` resolves the configuration's LLM: a configured URL is checked (reachable, a
model named or the only one offered) and its API key found (`resolve_api_key`); no URL starts
the embedded demo model for as long as the context lasts. Either way it yields the configuration
with `llm.url` and `llm.model` set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from agent_models import RunConfig
from tasks.embedded_llm import embedded_llm
from tasks.llm_client import EMBEDDED_MODEL_NAME, resolve_api_key, served_model

__all__ = ["llm_endpoint", "served_model"]

@contextmanager
def llm_endpoint(config: RunConfig) -> Iterator[RunConfig]:
    llm = config.llm
    if llm.cache_only:  # a replay answers from the run's cache: no server at all
        yield config
        return
    if llm.url:
        llm = resolve_api_key(llm)  # the key a configuration, a Prefect Secret block or the environment gives
        yield config.model_copy(update={"llm": llm.model_copy(update={"model": served_model(llm)})})
        return
    with embedded_llm(llm.embedded_parallel, config.simulation.seed, llm.embedded_startup_timeout_s) as url:
        yield config.model_copy(update={"llm": llm.model_copy(
            update={"url": url, "model": llm.model or EMBEDDED_MODEL_NAME, "embedded": True})})
