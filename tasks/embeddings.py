"""Embeddings for memory recall: with `memory.embedding_url`, a memory's relevance to what a prompt
is about is the cosine similarity of their embeddings (Y Social's semantic memory search) instead
of their word overlap (agent_models.memory.recall).

One `Embedder` serves one batch's agents (an event loop of its own, like `LLMClient`): it asks an
OpenAI-compatible server's `/embeddings` (vLLM, Ollama, llama.cpp, OpenAI) for the texts it has not
embedded yet, in requests of at most `REQUEST_TEXTS`, and keeps each text's vector for the rest of
the batch, so an agent's memories are embedded once however many prompts recall them.

A server that fails (unreachable, timing out, refusing: the `openai` client retries transient
errors twice first) raises `EmbeddingUnavailableError`, an `LLMUnavailableError`: the task and then
the tick are retried, as for the LLM. ysim does not fall back to word overlap as Y Social does,
because a tick whose recalls silently changed method would not be the tick a replay reproduces.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import openai
from openai import AsyncOpenAI

from agent_models.memory import Memory
from tasks.llm_client import LLMUnavailableError

REQUEST_TEXTS = 256  # texts per /embeddings request
_log = logging.getLogger(__name__)


class EmbeddingUnavailableError(LLMUnavailableError):
    """The embedding server could not embed a batch's texts."""


class Embedder:
    """Embeddings of one server and model, each text asked for once per batch."""

    def __init__(self, url: str, model: str, api_key: str, timeout_s: float) -> None:
        self.url, self.model = url, model
        self._client = AsyncOpenAI(base_url=url, api_key=api_key, timeout=timeout_s, max_retries=2)
        self._vectors: dict[str, np.ndarray] = {}  # unit vectors, by text
        self._asking: dict[str, asyncio.Future] = {}  # texts being embedded now, shared by concurrent prompts

    async def relevance(self, about: str, memories: list[Memory]) -> dict[int, float]:
        """Each memory's cosine similarity to `about`, by memory id (at least 0: an opposite
        direction is as irrelevant as an unrelated one, like no shared word)."""
        if not about.strip():  # nothing to be about (servers refuse to embed an empty text)
            return {}
        vectors = await self.vectors([about, *(m.text for m in memories)])
        query = vectors[0]
        return {m.memory_id: max(0.0, float(np.dot(query, v))) for m, v in zip(memories, vectors[1:], strict=True)}

    async def vectors(self, texts: list[str]) -> list[np.ndarray]:
        """The unit vector of each text, asking the server for those not embedded yet; a text another
        prompt is having embedded now is waited for, not asked again."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors and t not in self._asking]
        if missing:
            asking = asyncio.ensure_future(self._embed(missing))
            for text in missing:
                self._asking[text] = asking
            asking.add_done_callback(lambda _: self._asked(missing))
        waiting = {id(task): task for t in texts if (task := self._asking.get(t)) is not None}
        # Shielded: a prompt cancelled does not cancel the request other prompts wait on. A failed
        # request raises its error in every prompt that waits on it.
        await asyncio.gather(*(asyncio.shield(task) for task in waiting.values()))
        return [self._vectors[t] for t in texts]

    def _asked(self, texts: list[str]) -> None:
        for text in texts:
            del self._asking[text]

    async def _embed(self, texts: list[str]) -> None:
        for start in range(0, len(texts), REQUEST_TEXTS):
            part = texts[start:start + REQUEST_TEXTS]
            try:
                # Floats, not the client's default base64: Ollama and llama.cpp's servers answer
                # floats; vLLM and OpenAI both.
                answer = await self._client.embeddings.create(model=self.model, input=part, encoding_format="float")
            except openai.APIError as exc:
                raise EmbeddingUnavailableError(
                    f"embedding server {self.url} (model {self.model}): {type(exc).__name__}: {exc}") from exc
            for item in answer.data:
                vector = np.asarray(item.embedding, dtype=np.float64)
                norm = np.linalg.norm(vector)
                self._vectors[part[item.index]] = vector / norm if norm > 0 else vector

    async def close(self) -> None:
        await self._client.close()
