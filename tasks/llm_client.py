"""The LLM client: the official async `openai` client against any OpenAI-compatible server.

One `LLMClient` serves one gpu task run (an event loop of its own under Ray), bounding the
requests it keeps in flight with a gate (`tasks.llm_concurrency`: `llm.concurrency` fixed, or
adaptive) so the server sees a full queue without being flooded. Every call yields an
`LLMCallRecord` (tokens, latency, outcome: ok, retried, cached, failed). Errors are translated here, once, into ysim's family (`LLMError`): transient ones
(connection, timeout, 429, 5xx) are retried with exponential backoff, and those that outlast the
retries raise `LLMUnavailableError`, so the task, then the tick, is retried; permanent ones
(other 4xx) are recorded as a failed call and the agent does nothing.

Answers come from the run's response cache when the same request (model, messages, parameters,
seed) was answered before, or from an attempt of the same tick that failed after receiving them
(`tasks.llm_cache`); new answers travel with their record and the apply phase stores them. Every
request the client sends to a server is also kept in `sent`, for the batch to record what it
spent whether or not its tick commits. With `llm.cache_only` (replay) the client never calls a
server and a missing answer raises `CacheMissError`.

A server that refuses JSON-schema answers (a 400 or 422 that names the response format) gets
free-text requests from that client from then on (logged once per process and server); any
other refusal is that request's failure only.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from openai import AsyncOpenAI, DefaultAioHttpClient, OpenAI
from openai.types.chat import ChatCompletion
from pydantic import SecretStr

from agent_models import LLMCallRecord
from agent_models.run_config import LLMSettings
from tasks.llm_cache import ResponseCache
from tasks.llm_concurrency import ConcurrencyGate, limit_for

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"


class LLMError(RuntimeError):
    """Any LLM failure ysim reports."""


class LLMUnavailableError(LLMError):
    """Transient: the server could not answer (unreachable, timing out, overloaded or failing)."""


class LLMRequestError(LLMError):
    """Permanent: the server refused the request (a 4xx other than 429)."""


class CacheMissError(LLMError):
    """Replay: the run's cache holds no answer for a request the replayed run made."""


_TRANSIENT = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
              openai.InternalServerError)


API_KEY_ENV = "YSIM_LLM_API_KEY"
NUL_ANSWER = "answer refused: it contains a NUL character (0x00), which the database cannot store"
SURROGATE_ANSWER = ("answer refused: it contains a lone UTF-16 surrogate (a JSON escape such as \\ud800), "
                    "which is not text the database can store")


def unstorable(text: str) -> str | None:
    """Why no database column can keep `text` (PostgreSQL, and so the whole tick, would refuse it), or None."""
    if "\x00" in text:
        return NUL_ANSWER
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only a lone surrogate makes a str unencodable as UTF-8
        return SURROGATE_ANSWER
    return None


def resolve_api_key(llm: LLMSettings) -> LLMSettings:
    """`llm` with its API key found: the configured one, else the Prefect Secret block named by
    `api_key_secret`, else the environment variable YSIM_LLM_API_KEY, else none.

    Called once per run by the driver: the key then travels to the workers inside the settings as
    a `SecretStr` (masked wherever Prefect records parameters, pickled as is to Ray).
    """
    if llm.api_key is not None:
        return llm
    if llm.api_key_secret:
        from prefect.blocks.system import Secret

        try:
            key = Secret.load(llm.api_key_secret).get()
        except ValueError:
            raise LLMUnavailableError(f"llm.api_key_secret: {llm.api_key_secret!r} is not a Prefect Secret block "
                                      "this Prefect API has") from None
        return llm.model_copy(update={"api_key": SecretStr(str(key))})
    key = os.environ.get(API_KEY_ENV)
    return llm.model_copy(update={"api_key": SecretStr(key)}) if key else llm


def key_of(llm: LLMSettings) -> str:
    """The API key to send ("NULL" when there is none: the client wants a string)."""
    return llm.api_key.get_secret_value() if llm.api_key is not None else "NULL"


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
    models = check_server(llm.url, key_of(llm), min(llm.timeout_s, PREFLIGHT_TIMEOUT_S))
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


@dataclass(slots=True)
class _Timing:
    """Where a request's time went: waiting for a concurrency slot, and the server's round trips."""

    wait_s: float = 0.0
    round_trip_s: float = 0.0


# What a 400/422 says when the server cannot do structured output: vLLM, llama.cpp, Ollama and
# OpenAI name the response format, its JSON schema, or guided decoding.
_SCHEMA_REJECTION_WORDS = ("response_format", "json_schema", "schema", "structured output", "guided")
# (base URL, model) of servers whose refusal was logged: once per process, not once per batch.
# Only the log is process-wide; each client (one per batch) finds out for itself, at the cost of
# one refused request, so that a server that changes (or a new one on the same port) is asked anew.
_LOGGED_SCHEMALESS: set[tuple[str, str]] = set()
_log = logging.getLogger(__name__)


def is_schema_rejection(status: int, message: str) -> bool:
    """Whether a refusal is about the request's JSON schema (so free text may succeed)."""
    return status in (400, 422) and any(word in message.lower() for word in _SCHEMA_REJECTION_WORDS)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """httpx's default SSL context, built once per process: building it (loading the CA bundle)
    costs about 27 ms, which every new client (one per batch) otherwise pays, for an http://
    server too (bench/seed_table.py, profiled)."""
    return httpx.create_ssl_context()


class LLMClient:
    def __init__(self, settings: LLMSettings, base_url: str, default_model: str,
                 cache: ResponseCache | None = None) -> None:
        self._settings = settings
        self._default_model = default_model
        # Retries are ours (backoff below), so that a record can say a call was retried. A replay
        # has no server: the placeholder (loopback's discard port) is never called. The openai
        # client's aiohttp transport (`openai[aiohttp]`), not its default httpx pool: with tens of
        # requests in flight, the httpx pool checks every connection's expiry (through anyio's
        # socket attributes) each time it hands one out or takes one back, and a batch's CPU
        # went to it: 200 LLM agents, 360 requests to a zero-latency stub, 4.2 s of CPU with the
        # httpx pool against 2.1 s with aiohttp (cProfile; 1.0 s in `has_expired` alone).
        self._client = AsyncOpenAI(base_url=base_url or "http://127.0.0.1:9/v1", api_key=key_of(settings),
                                   timeout=settings.timeout_s, max_retries=0,
                                   http_client=DefaultAioHttpClient(verify=shared_ssl_context()))
        self._slots = ConcurrencyGate(limit_for(settings, base_url))
        self._server = (base_url, default_model)
        self._schemas_supported = settings.structured_output
        self._cache = cache
        self.sent: list[LLMCallRecord] = []  # every request that reached a server, in answer order

    def _schemas_refused(self, message: str) -> None:
        self._schemas_supported = False
        if self._server not in _LOGGED_SCHEMALESS:
            _LOGGED_SCHEMALESS.add(self._server)
            _log.warning("LLM server %s (model %s) refused a JSON-schema answer (%s): structured output is off "
                         "for it; answers are parsed as free text", *self._server, message)

    async def close(self) -> None:
        await self._client.close()

    async def complete(self, site: CallSite, messages: list[dict[str, str]], model: str = "",
                       response_format: dict | None = None) -> tuple[str | None, LLMCallRecord]:
        """The answer text (None on a permanent failure) and the call's record."""
        model = model or self._default_model
        fmt = response_format if self._schemas_supported else None
        request = dict(model=model, messages=messages, temperature=self._settings.temperature,
                       max_tokens=self._settings.max_tokens, seed=site.seed)
        if request["max_tokens"] is None:  # no cap (Y Social's -1): the server's own limit applies
            del request["max_tokens"]
        key = request_key(request, fmt)
        if self._cache is not None:
            # An answer given as free text (a server without JSON schemas) serves the same question too.
            keys = [key] if fmt is None else [key, request_key(request, None)]
            for candidate in keys:
                stored = await asyncio.to_thread(self._cache.lookup, candidate)
                if stored is not None and stored.from_cache:
                    return stored.response, self._record(site, model, stored.prompt_tokens, stored.completion_tokens,
                                                         _Timing(), "cached", "", candidate)
                if stored is not None:  # the same request, answered in a failed attempt of this tick
                    timing = _Timing(stored.wait_ms / 1000, stored.latency_ms / 1000)
                    return stored.response, self._record(site, model, stored.prompt_tokens, stored.completion_tokens,
                                                         timing, stored.outcome, "", candidate, stored.response)
            if self._settings.cache_only:
                raise CacheMissError(f"replay: no cached answer for {site.function} of agent {site.agent_id} "
                                     f"(round {site.round_index}); the replayed run asked something the original "
                                     f"did not")
        timing = _Timing()
        try:
            response, attempts = await self._create(site, request, fmt, timing)
        except LLMUnavailableError as exc:
            # The call fails the batch (and the tick is retried); what it cost is recorded first.
            self._sent(self._record(site, model, 0, 0, timing, "failed", str(exc), key))
            raise
        except LLMRequestError as exc:
            message, status = exc.args
            if fmt is not None and is_schema_rejection(status, message):
                self._schemas_refused(message)
                return await self.complete(site, messages, model, response_format)
            return None, self._sent(self._record(site, model, 0, 0, timing, "failed", message, key))
        usage = response.usage
        prompt_tokens, completion_tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
        text = response.choices[0].message.content if response.choices else None
        if text is not None and (refusal := unstorable(text)) is not None:
            # No database column can keep a NUL or a lone surrogate (PostgreSQL refuses them, and with
            # them the whole tick, on every retry): the answer is refused, recorded as a failed call,
            # and the agent does nothing with it.
            return None, self._sent(self._record(site, model, prompt_tokens, completion_tokens, timing, "failed",
                                                 refusal, key))
        return text, self._sent(self._record(site, model, prompt_tokens, completion_tokens, timing,
                                             "ok" if attempts == 1 else "retried", "", key, text))

    def _sent(self, record: LLMCallRecord) -> LLMCallRecord:
        self.sent.append(record)
        return record

    async def _create(self, site: CallSite, request: dict, fmt: dict | None, timing: _Timing) -> tuple[Any, int]:
        """The completion and the attempts it took; transient errors are retried with backoff.
        `timing` accumulates the slot waits and round trips of every attempt (backoff in neither).
        An overload answer to a request sent under an adaptive limit that has been cut since is
        retried without using one of `llm.max_retries`: it is the limit being found, not the
        server failing (each cut frees a request once at most, and the cuts are few)."""
        kwargs = {"response_format": fmt} if fmt is not None else {}
        attempt = failures = 0
        while True:
            attempt += 1
            queued = time.perf_counter()
            found_limit = False
            try:
                async with self._slots.slot() as slot:
                    sent = time.perf_counter()
                    timing.wait_s += sent - queued
                    try:
                        # The documented `post` for the request ysim builds itself (plain JSON
                        # values): `chat.completions.create` first walks the body against its
                        # typed parameters, which sends the same JSON and cost 2.5 ms of CPU a
                        # request (of 6 ms, profiled as above).
                        response = await self._client.post("/chat/completions", body={**request, **kwargs},
                                                           cast_to=ChatCompletion)
                    except _TRANSIENT as exc:
                        found_limit = slot.refused(exc)
                        raise
                    finally:
                        timing.round_trip_s += time.perf_counter() - sent
                    slot.answered(response.usage.completion_tokens if response.usage else 0)
                    return response, attempt
            except _TRANSIENT as exc:
                failures += 0 if found_limit else 1
                if failures > self._settings.max_retries:
                    raise LLMUnavailableError(f"{site.function} for agent {site.agent_id}: {type(exc).__name__}: "
                                              f"{getattr(exc, 'message', exc)} (after {attempt} attempts)") from None
                await asyncio.sleep(_backoff(attempt, exc))
            except openai.APIStatusError as exc:
                param = (exc.body or {}).get("param") if isinstance(exc.body, dict) else None
                detail = f" (param: {param})" if param else ""
                raise LLMRequestError(f"{exc.status_code}: {exc.message}{detail}", exc.status_code) from None

    @staticmethod
    def _record(site: CallSite, model: str, prompt_tokens: int, completion_tokens: int, timing: _Timing,
                outcome: str, error: str, key: str = "", response: str | None = None) -> LLMCallRecord:
        return LLMCallRecord(agent_id=site.agent_id, round_index=site.round_index, function=site.function,
                             model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                             latency_ms=round(timing.round_trip_s * 1000, 3), outcome=outcome, error=error,
                             cache_key=key, response=response, wait_ms=round(timing.wait_s * 1000, 3))


def _backoff(attempt: int, exc: Exception) -> float:
    """Seconds before the next attempt: the server's Retry-After when it gives one, else 0.25 x 2^n (max 8)."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return min(float(headers[header]) * scale, 30.0)
        except (KeyError, TypeError, ValueError):
            continue
    return min(0.25 * 2 ** (attempt - 1), 8.0)


def request_key(request: dict, response_format: dict | None) -> str:
    """The cache key of a request: a hash of everything that shapes the answer."""
    canonical = json.dumps({**request, "response_format": response_format}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
