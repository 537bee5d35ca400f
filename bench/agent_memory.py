"""Bytes per agent: ysim's slotted AgentData against a plain object holding the same fields.

Measured with tracemalloc (memory still allocated after the population is built, garbage
collected), side by side in one run:

- generated: `generate_population(n)` as a run starts (pool strings such as "Democrat" are
  shared between agents, as in a real run; the Faker generators count too);
- loaded: the same agents read back from JSON lines, once as `AgentData` (`agent_from_dict`,
  which shares repeated pool values such as "Democrat" between agents) and once as a plain
  `__dict__` object with the same fields and values as parsed (every string the agent's own, as
  an ordinary class built from a population file keeps them); their ratio is the comparison of
  the issue;
- object only: the agent object itself without the values it refers to (`sys.getsizeof`): the
  slotted dataclass against the plain object plus its `__dict__`, the part slots alone save.

Also reports the pickled size of an agent, which is what crosses to a Ray worker.

    python bench/agent_memory.py [--agents 100000]

Results: bench/results/bytes_per_agent.json and the `bytes_per_agent` entry of latest.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_models import RunConfig, agent_from_dict, generate_population  # noqa: E402
from bench.results_store import add_results_dir, record  # noqa: E402

GOAL_BYTES = 1.5 * 1024


def plain_agent_class() -> type:
    """A fresh ordinary class (its shared-key cache unused, so measurements do not depend on
    each other): what an agent costs with the same fields in an instance `__dict__`."""

    class PlainAgent:
        def __init__(self, **fields: Any) -> None:
            for name, value in fields.items():
                setattr(self, name, value)

    return PlainAgent


def retained_bytes(build: Callable[[], Any]) -> tuple[int, Any]:
    """Bytes still allocated after `build()` returns (its result kept alive), and that result."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    add_results_dir(parser)
    args = parser.parse_args()
    n, config = args.agents, RunConfig()

    started = time.perf_counter()
    generated_bytes, agents = retained_bytes(lambda: generate_population(config, n, args.seed))
    generate_s = time.perf_counter() - started
    lines = [agent.to_json() for agent in agents]
    pickle_bytes = sum(len(pickle.dumps(agent)) for agent in agents[:1000]) / min(n, 1000)
    del agents

    def load_dataclasses() -> list[Any]:
        return [agent_from_dict(json.loads(line)) for line in lines]

    def load_plain_objects() -> list[Any]:
        plain_agent = plain_agent_class()
        return [plain_agent(**json.loads(line)) for line in lines]

    dataclass_bytes, loaded = retained_bytes(load_dataclasses)
    assert len(loaded) == n
    sample = loaded[: min(n, 1000)]
    slotted_object = sum(sys.getsizeof(a) for a in sample) / len(sample)
    plain_agent = plain_agent_class()
    plain = [plain_agent(**{f: getattr(a, f) for f in a.__dataclass_fields__}) for a in sample]
    plain_object = sum(sys.getsizeof(p) + sys.getsizeof(p.__dict__) for p in plain) / len(plain)
    del loaded, sample, plain
    plain_bytes, loaded = retained_bytes(load_plain_objects)
    assert len(loaded) == n
    del loaded

    result = {
        "agents": n,
        "python": platform.python_version(),
        "generated_dataclass_bytes_per_agent": round(generated_bytes / n, 1),
        "loaded_dataclass_bytes_per_agent": round(dataclass_bytes / n, 1),
        "loaded_plain_object_bytes_per_agent": round(plain_bytes / n, 1),
        "plain_over_dataclass_ratio": round(plain_bytes / dataclass_bytes, 2),
        "object_only_dataclass_bytes": round(slotted_object, 1),
        "object_only_plain_bytes": round(plain_object, 1),
        "pickled_bytes_per_agent": round(pickle_bytes, 1),
        "generate_seconds_under_tracemalloc": round(generate_s, 2),
        "goal_bytes_per_agent": GOAL_BYTES,
        "meets_goal": generated_bytes / n <= GOAL_BYTES and dataclass_bytes / n <= GOAL_BYTES,
    }
    for key, value in result.items():
        print(f"{key:40} {value}")
    out = record("bytes_per_agent", {"dataclass": result["loaded_dataclass_bytes_per_agent"],
                                     "plain_object": result["loaded_plain_object_bytes_per_agent"],
                                     "generated_dataclass": result["generated_dataclass_bytes_per_agent"],
                                     "goal": GOAL_BYTES, "meets_goal": result["meets_goal"]}, result,
                 args.results_dir)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
