"""The driver of the multi-node check (test_multinode.py), run on test host a.

    python tests/flows/multinode_driver.py DB_URL LLM_URL TICKS

It joins the Ray cluster named by RAY_ADDRESS, reports to the Prefect API named by
PREFECT_API_URL (both set by the test), runs a simulation through `simulation_flow` and prints
one JSON object: the Ray nodes it saw and each tick's summary (with its task runs per node).
"""

from __future__ import annotations

import json
import sys

import ray

from agent_models import RunConfig
from flows.simulation import listen, simulation_flow


def main(db_url: str, llm_url: str, ticks: int) -> None:
    config = RunConfig.model_validate({
        "simulation": {"seed": 5, "ticks": ticks, "hourly_activity": {h: 1.0 for h in range(24)}},
        "agents": {"count": 12, "rule_based_share": 0.5},
        "database": {"url": db_url},
        "llm": {"url": llm_url, "model": "stub-model"},
        # A whole gpu_slot per decide batch: each node runs one at a time, so batches must spread.
        "ray": {"batch_size": 3, "gpu_share": 1.0}})
    events: list[dict] = []
    with listen(events.append):
        final = simulation_flow(config)
    nodes = sorted(n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"])
    print(json.dumps({"nodes": nodes, "ticks": [e for e in events if e["event"] == "tick"], "final": final},
                     default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
