"""The adaptive concurrency limit's arithmetic (agent_models.concurrency_limit), as plain logic:
times are passed in, and a small discrete-event server (FIFO, `capacity` slots) stands in for an
LLM server, so that every run is exact and instant."""

from __future__ import annotations

import heapq

import pytest

from agent_models.concurrency_limit import MIN_WINDOW, AIMDLimit, size_class


def serve(policy: AIMDLimit, requests: int, service, capacity: int | None = None) -> list[int]:
    """Send `requests` through `policy` to a server with `capacity` slots (None: unbounded) whose
    request i takes service(i, now) seconds once served; the limit after each answer."""
    now, sent, in_flight, queue, limits = 0.0, 0, 0, [], []
    busy = 0
    events: list[tuple[float, int, float, bool]] = []  # (answered at, i, sent at, binding)

    def start(i: int, sent_at: float, binding: bool, at: float) -> None:
        nonlocal busy
        busy += 1
        heapq.heappush(events, (at + service(i, at), i, sent_at, binding))

    while sent < requests or events:
        while sent < requests and in_flight < policy.limit:
            in_flight += 1
            binding = in_flight >= policy.limit or sent < requests - 1
            if capacity is None or busy < capacity:
                start(sent, now, binding, now)
            else:
                queue.append((sent, now, binding))
            sent += 1
        now, i, sent_at, binding = heapq.heappop(events)
        busy -= 1
        in_flight -= 1
        if queue:
            j, queued_at, queued_binding = queue.pop(0)
            start(j, queued_at, queued_binding, now)
        policy.answered(sent_at, now, 10, binding)
        limits.append(policy.limit)
    return limits


def test_a_server_with_spare_capacity_and_fixed_latency_is_never_cut_and_the_limit_grows():
    policy = AIMDLimit(start=64, ceiling=100, tolerance=2.0)
    limits = serve(policy, 5000, lambda i, now: 0.2)
    assert policy.cuts == 0 and min(limits) == 64
    assert limits[-1] == 100  # +1 per window of answers while the limit held requests back, up to the ceiling


def test_answers_of_other_lengths_are_not_a_slow_server():
    policy = AIMDLimit(start=64, ceiling=64, tolerance=2.0)
    for i in range(2000):  # round trips 8x apart, at any load: the length of the answer, not a queue
        tokens = 8 if i % 2 else 64
        policy.answered(i * 0.01, i * 0.01 + tokens * 0.01, tokens, True)
    assert policy.cuts == 0 and policy.limit == 64
    assert size_class(8) != size_class(64) and size_class(40) == size_class(63)


@pytest.mark.parametrize("capacity", [2, 4, 16])
def test_a_server_that_queues_settles_the_limit_near_its_capacity(capacity):
    policy = AIMDLimit(start=64, ceiling=256, tolerance=2.0)
    limits = serve(policy, 3000, lambda i, now: 0.1, capacity)
    settled = limits[-500:]
    assert policy.cuts >= 1
    # tolerance 2: a queue of up to about one more capacity keeps the server busy, never a flood of 64
    assert capacity <= min(settled) and max(settled) <= 3 * capacity, (capacity, sorted(set(settled)))


def test_a_refusal_halves_the_limit_once_per_round():
    policy = AIMDLimit(start=64, ceiling=64, tolerance=2.0)
    assert policy.refused(sent_at=0.0, now=1.0) is False and policy.limit == 32  # it cut, and it counts
    assert policy.refused(sent_at=0.5, now=1.1) is True and policy.limit == 32  # sent before the cut: the old limit's
    assert policy.refused(sent_at=1.2, now=1.3) is False and policy.limit == 16  # sent under 32: a new round
    for step in range(10):
        policy.refused(sent_at=2.0 + step, now=2.5 + step)
    assert policy.limit == 1
    assert policy.refused(sent_at=20.0, now=20.1) is False and policy.limit == 1  # never below 1


def test_answers_sent_before_a_cut_do_not_judge_the_limit_after_it():
    policy = AIMDLimit(start=16, ceiling=16, tolerance=2.0)
    policy.answered(0.0, 0.1, 10, True)  # best 0.1
    policy.refused(sent_at=0.2, now=0.3)  # limit 8
    for i in range(3 * MIN_WINDOW):  # slow answers of requests sent under the old limit
        policy.answered(0.25, 2.0 + i, 10, True)
    assert policy.limit == 8 and policy.cuts == 1


def test_a_server_slower_for_reasons_of_its_own_is_rebased_not_cut_to_nothing():
    policy = AIMDLimit(start=64, ceiling=64, tolerance=2.0)
    t = 0.0
    for _ in range(200):  # 0.1 s answers
        policy.answered(t, t + 0.1, 10, True)
        t += 0.01
    for _ in range(2000):  # from now on 0.5 s whatever the load: another user, not our queue
        policy.answered(t, t + 0.5, 10, True)
        t += 0.01
    # Cut down to the floor once (64 -> 1 is six halvings at most), where a slow answer cannot be this
    # client's queue: the new speed becomes the best, no more cuts, and the limit grows back.
    assert policy.rebases == 1 and policy.cuts <= 6
    assert policy.limit >= 32


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="start 0"):
        AIMDLimit(start=0, ceiling=8, tolerance=2)
    with pytest.raises(ValueError, match="tolerance 1"):
        AIMDLimit(start=4, ceiling=8, tolerance=1)
