"""The LLM client: the official async `openai` client against any OpenAI-compatible server.

One `LLMClient` serves one gpu task run (an event loop of its own under Ray), bounding the
requests it keeps in flight with a semaphore so the server sees a full queue without being
flooded. Every call yields an `LLMCallRecord` (tokens, latency, outcome). Errors are
translated here, once: transient ones (connection, timeout, 429, 5xx) that survive the
client's retries raise `LLMUnavailableError`, so the task, then the tick, is retried;
permanent ones (other 4xx) are recorded as a failed call and the agent does nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import openai
from openai import AsyncOpenAI, OpenAI

from agent_models import LLMCallRecord
from agent_models.run_config import LLMSettings

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"


class LLMUnavailableError(RuntimeError):
    """The LLM server could not answer (unreachable, timing out, overloaded or failing)."""


_TRANSIENT = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
              openai.InternalServerError)


def check_server(url: str, api_key: str, timeout_s: float) -> list[str]:
    """The model names the server offers; raises LLMUnavailableError when it cannot be reached."""
    client = OpenAI(base_url=url, api_key=api_key, timeout=timeout_s, max_retries=0)
    try:
        return sorted(m.id for m in client.models.list())
    except openai.APIStatusError as exc:
        if exc.status_code == 404:  # some servers serve completions but not /models
            return []
        raise LLMUnavailableError(f"LLM server at {url} answered {exc.status_code} to /models: {exc.message}") from None
    except openai.APIError as exc:
        raise LLMUnavailableError(f"LLM server at {url} is unreachable: {exc.message}") from None
    finally:
        client.close()


PREFLIGHT_TIMEOUT_S = 10.0


def served_model(llm: LLMSettings) -> str:
    """Check that the server at `llm.url` answers; the model to use (the named one, or the only one)."""
    models = check_server(llm.url, llm.api_key, min(llm.timeout_s, PREFLIGHT_TIMEOUT_S))
    if not llm.model and len(models) != 1:
        raise LLMUnavailableError(f"--llm-model: none given and the server at {llm.url} offers "
                                  f"{', '.join(models) if models else 'no model list'}; name one")
    return llm.model or models[0]


@dataclass(slots=True, frozen=True)
class CallSite:
    """Who makes a call, for the usage record and the request seed."""

    agent_id: int
    round_index: int
    function: str
    seed: int


class LLMClient:
    def __init__(self, settings: LLMSettings, base_url: str, default_model: str) -> None:
        self._settings = settings
        self._default_model = default_model
        self._client = AsyncOpenAI(base_url=base_url, api_key=settings.api_key,
                                   timeout=settings.timeout_s, max_retries=settings.max_retries)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._schemas_supported = settings.structured_output

    async def close(self) -> None:
        await self._client.close()

    async def complete(self, site: CallSite, messages: list[dict[str, str]], model: str = "",
                       response_format: dict | None = None) -> tuple[str | None, LLMCallRecord]:
        """The answer text (None on a permanent failure) and the call's record."""
        model = model or self._default_model
        kwargs = {}
        if response_format is not None and self._schemas_supported:
            kwargs["response_format"] = response_format
        started = time.perf_counter()
        async with self._slots:
            try:
                response = await self._client.chat.completions.create(
                    model=model, messages=messages, temperature=self._settings.temperature,
                    max_tokens=self._settings.max_tokens, seed=site.seed, **kwargs)
            except _TRANSIENT as exc:
                raise LLMUnavailableError(f"{site.function} for agent {site.agent_id}: {type(exc).__name__}: "
                                          f"{getattr(exc, 'message', exc)}") from None
            except openai.APIStatusError as exc:
                if kwargs and exc.status_code in (400, 422):
                    # The server rejects JSON-schema answers: fall back to free text (parsed the
                    # Y Social way) for the rest of this client's life.
                    self._schemas_supported = False
                    return await self.complete(site, messages, model, response_format)
                latency = (time.perf_counter() - started) * 1000
                return None, self._record(site, model, 0, 0, latency, "failed", f"{exc.status_code}: {exc.message}")
        latency = (time.perf_counter() - started) * 1000
        usage = response.usage
        text = response.choices[0].message.content if response.choices else None
        return text, self._record(site, model, usage.prompt_tokens if usage else 0,
                                  usage.completion_tokens if usage else 0, latency, "ok", "")

    @staticmethod
    def _record(site: CallSite, model: str, prompt_tokens: int, completion_tokens: int, latency_ms: float,
                outcome: str, error: str) -> LLMCallRecord:
        return LLMCallRecord(agent_id=site.agent_id, round_index=site.round_index, function=site.function,
                             model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                             latency_ms=round(latency_ms, 3), outcome=outcome, error=error)
