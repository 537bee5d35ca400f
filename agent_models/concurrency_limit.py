"""The adaptive limit on LLM requests in flight (`llm.concurrency: auto`): AIMD arithmetic, pure.

It owns the numbers only: no clock (the caller passes `sent_at`/`now` from one monotonic clock),
no I/O, no asyncio; `tasks.llm_concurrency` holds the gate that enforces the limit.

- Start high (`start`), so that a server that serves any number at once is kept busy from the
  first request; never above `ceiling`, never below 1.
- Multiplicative decrease on overload: a refusal (429, 503, a timeout) halves the limit, once per
  round: refusals of requests sent before the last cut were caused by the limit already cut, and
  `refused` says so (True: that request's retry is the limit being found, not the server
  failing). The refusal that cuts is the server's answer to the limit as it was, and counts.
- Multiplicative decrease on rising latency: answers are judged in windows of at least
  `MIN_WINDOW` answers (and half the limit), each answer's round trip against the best seen for
  answers of about its length (completion tokens within a factor 2: a long answer is not a slow
  server). When the window's median exceeds `tolerance` x best, the limit is cut in proportion
  (tolerance / median, at most halved). A server with spare capacity answers as fast at any load,
  so the median stays near 1 and never cuts; one that queues answers later the more it holds.
- After a latency cut, answers to requests sent within one round trip (the cutting window's
  median) still queued behind the old load: they are not judged.
- At the floor (1 in flight) a slow server is not slow because of this client: its speed then
  becomes the best seen (a server slower for reasons of its own, another user say, is rebased,
  not cut for ever), and the limit grows back from there.
- Additive increase: a window that answers well while the limit was binding (some request waited
  for it, or found it full) raises the limit by 1: about +2 per round trip of a full limit.
"""

from __future__ import annotations

import math
from statistics import median

FLOOR = 1
# TCP's multiplicative decrease; also the deepest latency cut of one verdict.
OVERLOAD_FACTOR = 0.5
# Answers one latency verdict needs at the least: a few slow answers are no trend.
MIN_WINDOW = 8


def size_class(completion_tokens: int) -> int:
    """Answers whose completion token counts lie within a factor 2 share a class (0, 1, 2-3, 4-7, ...)."""
    return max(0, completion_tokens).bit_length()


class AIMDLimit:
    """One server's limit; `limit` is what a client may keep in flight now."""

    def __init__(self, start: int, ceiling: int, tolerance: float) -> None:
        if not 1 <= start <= ceiling:
            raise ValueError(f"start {start} must be in 1..ceiling ({ceiling})")
        if not tolerance > 1:
            raise ValueError(f"tolerance {tolerance} must be > 1")
        self.ceiling, self.tolerance = ceiling, tolerance
        self._limit = float(start)
        self._cut_at = -math.inf  # when the limit was last cut
        self._fresh_from = -math.inf  # answers to requests sent before this are not judged (the last cut's)
        self._best: dict[int, float] = {}  # size class -> the shortest round trip seen
        self._ratios: list[float] = []  # this window's round trips / best, of requests sent since the last cut
        self._window_trips: list[float] = []  # and the round trips themselves
        self._binding = False  # whether the limit held a request back in this window
        self.cuts = 0
        self.rebases = 0

    @property
    def limit(self) -> int:
        return max(FLOOR, int(self._limit))

    def refused(self, sent_at: float, now: float) -> bool:
        """A request sent at `sent_at` was refused as overload at `now`. True when the limit it was
        sent under has been cut since (that refusal was the old limit's); else the limit is cut
        now (not below 1) and False: this refusal is the server's."""
        if sent_at < self._cut_at:
            return True
        if self._limit > FLOOR:
            self._cut(OVERLOAD_FACTOR, now)
        return False

    def answered(self, sent_at: float, now: float, completion_tokens: int, binding: bool) -> None:
        """A request sent at `sent_at` was answered at `now`; `binding`: the limit was full (or had
        waiters) when it was sent."""
        round_trip = now - sent_at
        key = size_class(completion_tokens)
        best = self._best.get(key)
        if best is None or round_trip < best:
            self._best[key] = best = round_trip
        if sent_at < self._fresh_from or best <= 0:
            return  # sent under a limit since cut, or queued behind its load: it says nothing of this one
        self._ratios.append(round_trip / best)
        self._window_trips.append(round_trip)
        self._binding = self._binding or binding
        if len(self._ratios) < max(MIN_WINDOW, math.ceil(self._limit / 2)):
            return
        ratio = median(self._ratios)
        if ratio <= self.tolerance:
            if self._binding:
                self._limit = min(float(self.ceiling), self._limit + 1)
            self._new_window()
        elif self._limit <= FLOOR:
            self._best = {k: v * ratio for k, v in self._best.items()}
            self.rebases += 1
            self._new_window()
        else:
            self._cut(max(OVERLOAD_FACTOR, self.tolerance / ratio), now, drain=median(self._window_trips))

    def _cut(self, factor: float, now: float, drain: float = 0.0) -> None:
        self._limit = max(float(FLOOR), self._limit * factor)
        self._cut_at, self._fresh_from = now, now + drain
        self.cuts += 1
        self._new_window()

    def _new_window(self) -> None:
        self._ratios, self._window_trips, self._binding = [], [], False
