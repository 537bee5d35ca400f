"""Issue 25: memory recall by embeddings where an embedding endpoint is configured
(`memory.embedding_url`): a memory's relevance is the cosine similarity of its embedding and the
prompt's topic's, through the real `openai` client against the stub's `/v1/embeddings`.

The stub embeds words by concept (`concepts`: words that mean the same), so a memory can be about
the prompt's topic without sharing a word with it: what an embedding finds and word overlap cannot.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from pydantic import ValidationError

from agent_models import CommentIntent, PostIntent, rng_for
from agent_models.memory import MemorySettings, recall
from tasks.embeddings import Embedder, EmbeddingUnavailableError
from tests.llm_stub import stub_embedding
from tests.tasks.platform_fixture import small_platform
from tests.tasks.test_memory_prompts import ada_posts, with_memory, write

MODEL = "stub-embed"
CONCEPTS = {"landlord": "rent", "lease": "rent", "tenancy": "rent"}
TOPIC = "housing rent"  # what ada's post is about (tests.tasks.test_memory_prompts.ada_posts)


def cosine(first: str, second: str) -> float:
    a, b = (np.asarray(stub_embedding(text, CONCEPTS)) for text in (first, second))
    return max(0.0, float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))


@pytest.fixture
def embedding_platform(sqlite_url, llm_stub):
    llm_stub.state.concepts = CONCEPTS
    # One memory per prompt: the best-scoring one shows which relevance was used.
    return with_memory(small_platform(sqlite_url, llm_stub.url), embedding_url=llm_stub.url, embedding_model=MODEL,
                       search_k=1)


def test_with_an_embedding_server_a_prompt_recalls_by_cosine_similarity(embedding_platform, llm_stub):
    platform = embedding_platform
    ada = platform.agents["ada"]
    # Two posts of ada's about other topics: one about rent in other words, one that says "rent".
    write(platform, 1, PostIntent(ada.agent_id, 0, "the landlord doubled my lease", ("travel",)))
    write(platform, 2, PostIntent(ada.agent_id, 0, "#rent talk tonight", ("music",)))
    message, outcome, held = ada_posts(platform, 4, llm_stub)
    settings = platform.config.memory
    rng = rng_for(platform.config.simulation.seed, 4, ada.agent_id, "memory-0")
    by_cosine = recall(held, 4, TOPIC, settings, rng, {m.memory_id: cosine(TOPIC, m.text) for m in held})
    by_words = recall(held, 4, TOPIC, settings, rng_for(platform.config.simulation.seed, 4, ada.agent_id, "memory-0"))
    assert by_cosine.memory_ids != by_words.memory_ids  # the two relevances pick differently here
    assert message.startswith(by_cosine.block() + "\n\nWrite one short post")
    assert "landlord doubled my lease" in by_cosine.block()  # no word in common with "housing rent"
    # The topic and each memory were embedded once, with the model named, as floats.
    inputs = [text for body in llm_stub.state.embedding_requests for text in body["input"]]
    assert sorted(inputs) == sorted({TOPIC, *(m.text for m in held)}) and len(held) == 2
    assert {(body["model"], body["encoding_format"]) for body in llm_stub.state.embedding_requests} == {
        (MODEL, "float")}


def test_texts_asked_for_at_once_by_several_prompts_are_embedded_once(llm_stub):
    llm_stub.state.concepts = CONCEPTS

    async def two_prompts() -> list[list[np.ndarray]]:
        embedder = Embedder(llm_stub.url, MODEL, "NULL", 5)
        try:
            return await asyncio.gather(embedder.vectors(["rent", "a lease", "b"]), embedder.vectors(["b", "rent"]))
        finally:
            await embedder.close()

    first, second = asyncio.run(two_prompts())
    inputs = [text for body in llm_stub.state.embedding_requests for text in body["input"]]
    assert sorted(inputs) == ["a lease", "b", "rent"]
    assert np.allclose(first[0], second[1]) and np.allclose(first[2], second[0])
    assert float(first[0] @ first[1]) == pytest.approx(cosine("rent", "a lease"))


def test_a_failing_embedding_server_fails_the_step_naming_server_and_model(embedding_platform, llm_stub):
    platform = embedding_platform
    write(platform, 1, CommentIntent(platform.agents["bob"].agent_id, 0, platform.first_post, "rent is theft"))
    llm_stub.state.embedding_status = 400  # a refusal is not retried: the tick is, as for the LLM
    with pytest.raises(EmbeddingUnavailableError, match=f"embedding server {llm_stub.url} \\(model {MODEL}\\)"):
        ada_posts(platform, 2, llm_stub)
    assert not any("Write one short post" in r["messages"][-1]["content"] for r in llm_stub.state.requests)


def test_an_embedding_url_without_a_model_is_refused_naming_the_field():
    with pytest.raises(ValidationError, match="embedding_model"):
        MemorySettings(enabled=True, embedding_url="http://127.0.0.1:11434/v1")
    assert MemorySettings(embedding_url="http://127.0.0.1:11434/v1", embedding_model="m").embedding_model == "m"
