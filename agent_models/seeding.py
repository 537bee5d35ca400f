"""Seeded randomness: one generator per (run seed, tick, agent, purpose), never the global one.

Deriving a fresh `random.Random` from a stable hash of its coordinates makes every draw
independent of execution order, batch size and which Ray worker ran it, so the same seed and
the same LLM answers give the same database.
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from the parts' text form (stable across processes, unlike `hash`)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def rng_for(run_seed: int, tick: int, agent_id: int | None, purpose: str) -> random.Random:
    """The generator for one agent's draws of one kind in one tick (`agent_id=None`: tick-wide)."""
    return random.Random(derive_seed(run_seed, tick, agent_id, purpose))


def llm_seed(run_seed: int, tick: int, agent_id: int, round_index: int, purpose: str) -> int:
    """The `seed=` sent with an LLM request: servers that honour it answer reproducibly."""
    return derive_seed("llm", run_seed, tick, agent_id, round_index, purpose) % (2**31 - 1)
