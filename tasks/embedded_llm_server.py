"""Process entry point of the embedded LLM: serves a GGUF with xllamacpp until SIGTERM.

Run as `python -m tasks.embedded_llm_server --model PATH ...` by `tasks.embedded_llm`; it
prints `LISTENING <url>` on stdout once the server accepts requests. Kept in its own process
so native crashes and llama.cpp's threads stay out of the simulation.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx-per-slot", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.n_parallel = args.parallel
    params.n_ctx = args.ctx_per_slot * args.parallel  # n_ctx is the total across slots
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.sampling.seed = args.seed
    params.port = 0  # a free port, chosen by the server
    server = xllamacpp.Server(params)
    print(f"LISTENING {server.listening_address}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
