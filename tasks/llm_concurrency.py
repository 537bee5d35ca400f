"""How many LLM requests a client keeps in flight: the limit (fixed or adaptive) and the asyncio gate.

`limit_for(settings, base_url)` picks the limit: `llm.concurrency` as a fixed cap when it is an
integer; with "auto", the embedded server's `llm.embedded_parallel` slots (ysim started it, so it
knows them), else an adaptive `agent_models.concurrency_limit.AIMDLimit`. The adaptive limit is
one per process and server (base URL): what a server took is a fact about the server, so the
next batch's client in the same worker starts where the last one left off instead of rediscovering
it through 429s. `describe(settings)` is the line a run logs once.

`ConcurrencyGate` replaces the semaphore: `async with gate.slot() as slot` waits, first come first
served, until fewer than the current limit are in flight; `slot.answered(tokens)` and
`slot.refused(exc)` feed the limit. It never lets a request out at or above the current limit (a
cut limit lets the ones already out finish), and it is cancellation-safe: a waiter cancelled
before its turn takes nothing, one cancelled just as its turn came passes the slot on, and a
slot is given back however its request ends.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from typing import Protocol

import openai

from agent_models.concurrency_limit import AIMDLimit
from agent_models.run_config import LLMSettings

_log = logging.getLogger(__name__)


class Limit(Protocol):
    """What a gate asks of a limit (times from `time.monotonic`)."""

    @property
    def limit(self) -> int: ...

    def refused(self, sent_at: float, now: float) -> bool: ...

    def answered(self, sent_at: float, now: float, completion_tokens: int, binding: bool) -> None: ...


class FixedLimit:
    """A cap that never moves (`llm.concurrency` an integer, or the embedded server's slots)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def refused(self, sent_at: float, now: float) -> bool:
        return False  # nothing to find: every refusal is the server's, and counts against the retries

    def answered(self, sent_at: float, now: float, completion_tokens: int, binding: bool) -> None:
        pass


class SharedLimit:
    """An `AIMDLimit` shared by the clients of one process (threads too), logging its first cut."""

    def __init__(self, server: str, policy: AIMDLimit) -> None:
        self._server, self._policy = server, policy
        self._lock = threading.Lock()
        self._told = False

    @property
    def limit(self) -> int:
        return self._policy.limit

    @property
    def policy(self) -> AIMDLimit:
        return self._policy

    def refused(self, sent_at: float, now: float) -> bool:
        with self._lock:
            before = self._policy.limit
            probing = self._policy.refused(sent_at, now)
            self._tell(before, "an overload answer")
        return probing

    def answered(self, sent_at: float, now: float, completion_tokens: int, binding: bool) -> None:
        with self._lock:
            before = self._policy.limit
            self._policy.answered(sent_at, now, completion_tokens, binding)
            self._tell(before, "rising round trips")

    def _tell(self, before: int, why: str) -> None:
        after = self._policy.limit
        if after < before and not self._told:  # the first back-off per process and server; later ones are DEBUG
            self._told = True
            _log.info("LLM concurrency for %s backed off from %d to %d (%s)", self._server, before, after, why)
        elif after != before:
            _log.debug("LLM concurrency for %s: %d -> %d", self._server, before, after)


_SHARED: dict[tuple, SharedLimit] = {}
_SHARED_LOCK = threading.Lock()


def most_in_flight(settings: LLMSettings) -> int:
    """The most requests a client of `settings` ever keeps in flight: the fixed cap, the embedded
    server's slots, or the adaptive limit's ceiling (`llm.concurrency_max`)."""
    if settings.concurrency != "auto":
        return settings.concurrency
    return settings.embedded_parallel if settings.embedded else settings.concurrency_max


def limit_for(settings: LLMSettings, base_url: str) -> Limit:
    """The limit a client of `settings` against `base_url` obeys (see the module docstring)."""
    if settings.concurrency != "auto":
        return FixedLimit(settings.concurrency)
    if settings.embedded:
        return FixedLimit(settings.embedded_parallel)
    key = (base_url, settings.concurrency_start, settings.concurrency_max, settings.concurrency_latency_tolerance)
    with _SHARED_LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            policy = AIMDLimit(settings.concurrency_start, settings.concurrency_max,
                               settings.concurrency_latency_tolerance)
            shared = _SHARED[key] = SharedLimit(base_url, policy)
        return shared


def describe(settings: LLMSettings) -> str:
    """What the run chose, in words (logged once per run)."""
    if settings.concurrency != "auto":
        return f"fixed at {settings.concurrency} per batch (llm.concurrency)"
    if settings.embedded:
        return f"{settings.embedded_parallel} per batch, the embedded server's slots (llm.embedded_parallel)"
    return (f"adaptive, starting at {settings.concurrency_start} per batch, at most {settings.concurrency_max} "
            f"(halved on 429/503/timeouts, cut on round trips past {settings.concurrency_latency_tolerance:g}x "
            f"the best seen, +1 while answers come back well)")


def is_overload(exc: BaseException) -> bool:
    """Whether an error says the server has more than it takes: 429, 503, or no answer in time."""
    if isinstance(exc, (openai.RateLimitError, openai.APITimeoutError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code == 503


class Slot:
    """One request's place in the gate, from the moment it may be sent."""

    __slots__ = ("_gate", "sent_at", "_binding", "_fed")

    def __init__(self, gate: "ConcurrencyGate", binding: bool) -> None:
        self._gate, self._binding, self._fed = gate, binding, False
        self.sent_at = gate.clock()

    def answered(self, completion_tokens: int) -> None:
        """The server answered: its round trip and the answer's length feed the limit."""
        if not self._fed:
            self._fed = True
            self._gate.limit.answered(self.sent_at, self._gate.clock(), completion_tokens, self._binding)
            self._gate.wake()  # the limit may have grown

    def refused(self, exc: BaseException) -> bool:
        """The request failed with `exc`; True when that was the limit being found (an overload
        answer to a request sent under a limit cut since), so that its retry need not count as
        one of `llm.max_retries`."""
        if self._fed or not is_overload(exc):
            return False
        self._fed = True
        return self._gate.limit.refused(self.sent_at, self._gate.clock())


class ConcurrencyGate:
    """At most `limit.limit` requests of one client in flight, first come first served (one event loop)."""

    def __init__(self, limit: Limit, clock=time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self.in_flight = 0
        self.max_in_flight = 0  # the most this gate ever let out at once (tests and benchmarks read it)
        self._waiters: collections.deque[asyncio.Future] = collections.deque()

    def slot(self) -> "_Held":
        return _Held(self)

    async def acquire(self) -> bool:
        """Wait for a place; whether the limit held this request back or was full (it was binding)."""
        if not self._waiters and self.in_flight < self.limit.limit:
            self._take()
            return self.in_flight >= self.limit.limit
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # wake() hands the place over before it sets the result
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the place came with the cancellation: pass it on
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass  # wake() took it off
        return True

    def release(self) -> None:
        self.in_flight -= 1
        self.wake()

    def wake(self) -> None:
        """Hand free places (under the current limit) to the longest waiters."""
        while self._waiters and self.in_flight < self.limit.limit:
            waiter = self._waiters.popleft()
            if waiter.done():  # cancelled while waiting
                continue
            self._take()
            waiter.set_result(None)

    def _take(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)


class _Held:
    """`async with gate.slot() as slot`: the place is given back however the block ends."""

    __slots__ = ("_gate", "_slot")

    def __init__(self, gate: ConcurrencyGate) -> None:
        self._gate = gate

    async def __aenter__(self) -> Slot:
        binding = await self._gate.acquire()
        self._slot = Slot(self._gate, binding)
        return self._slot

    async def __aexit__(self, *exc: object) -> None:
        self._gate.release()
