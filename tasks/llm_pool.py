"""LLM clients by agent: the run's client, or one of the agent's own server and settings.

Y Social gives every agent its own `llm_config` (model, server, key, temperature, max tokens);
the seed's `AgentData` carries it with `llm_base`. A batch asks each agent's questions on the
client for that agent's settings: one client per distinct setting, shared by the agents that
have it, each with the run's concurrency bound and the run's response cache. Agents that set
nothing use the run's client. With `memory.embedding_url`, the pool also holds the embedder that
memory recall asks (tasks.embeddings).
"""

from __future__ import annotations

from pydantic import SecretStr

from agent_models import AgentData, LLMCallRecord
from agent_models.agent_llm import AgentLLM, agent_llm_overrides
from agent_models.run_config import LLMSettings
from tasks.llm_cache import ResponseCache
from agent_models.memory import MemorySettings
from tasks.embeddings import Embedder
from tasks.llm_client import LLMClient, key_of


class LLMPool:
    """The clients a batch (or a single call) needs, made on first use and closed together."""

    def __init__(self, settings: LLMSettings, cache: ResponseCache | None) -> None:
        self._settings, self._cache = settings, cache
        self._clients: dict[AgentLLM | None, LLMClient] = {}
        self._embedders: dict[tuple[str, str], Embedder] = {}

    @classmethod
    def for_run(cls, settings: LLMSettings, db_url: str, tick: tuple[int, int] | None = None) -> "LLMPool":
        """The pool of a run; `tick` (run id, tick) when its answers may come from failed attempts of that tick."""
        return cls(settings, ResponseCache(db_url, tick))

    def for_agent(self, agent: AgentData) -> LLMClient | None:
        """The client `agent` asks (None for rule-based agents, which ask nobody)."""
        if not agent.uses_llm:
            return None
        overrides = agent_llm_overrides(agent)
        client = self._clients.get(overrides)
        if client is None:
            settings = settings_for(self._settings, overrides)
            client = self._clients[overrides] = LLMClient(settings, settings.url or "", settings.model, self._cache)
        return client

    def for_anyone(self, agent: AgentData) -> LLMClient:
        """The client `agent` asks, or the run's own for a rule-based agent (an interview asks every
        agent in character, whatever drives its actions)."""
        client = self.for_agent(agent)
        if client is None:
            client = self._clients.get(None)
            if client is None:
                client = self._clients[None] = LLMClient(self._settings, self._settings.url or "", self._settings.model,
                                                         self._cache)
        return client

    def embedder_for(self, memory: MemorySettings) -> Embedder | None:
        """The embedder an agent with these memory settings recalls through (None: memory off, or
        recall by word overlap); one per server and model, with the run's API key and timeout."""
        if not memory.enabled or not memory.embedding_url:
            return None
        key = (memory.embedding_url, memory.embedding_model)
        embedder = self._embedders.get(key)
        if embedder is None:
            embedder = self._embedders[key] = Embedder(*key, key_of(self._settings), self._settings.timeout_s)
        return embedder

    def sent(self) -> list[LLMCallRecord]:
        """Every request the pool's clients sent to a server (not those answered from storage)."""
        return [record for client in self._clients.values() for record in client.sent]

    async def close(self) -> None:
        for client in [*self._clients.values(), *self._embedders.values()]:
            await client.close()
        self._clients.clear()
        self._embedders.clear()


def settings_for(run: LLMSettings, overrides: AgentLLM | None) -> LLMSettings:
    """The run's LLM settings with an agent's own server, key, model, temperature and max tokens."""
    if overrides is None:
        return run
    update: dict[str, object] = {}
    if overrides.url:
        update["url"] = overrides.url
    if overrides.model:
        update["model"] = overrides.model
    if overrides.api_key:
        update["api_key"] = SecretStr(overrides.api_key)
    if overrides.temperature is not None:
        update["temperature"] = overrides.temperature
    if overrides.max_tokens is not None:
        update["max_tokens"] = overrides.max_tokens
    return run.model_copy(update=update)
