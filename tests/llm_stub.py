"""An OpenAI-compatible stub LLM server for tests and benchmarks (stdlib only; loopback unless a test host asks).

The real `openai` client talks to it over HTTP, so retries, timeouts and parsing run for real.
Answers are a pure function of the request, so runs are reproducible. Knobs, changeable while
it runs: `latency_s`, `capacity` (requests served at once; others queue), `fail_plan` (HTTP
statuses for the next requests, e.g. [500, 429]; "timeout" sleeps past the client timeout,
"malformed" answers 200 with a cut-short answer),
`garbage` (answers with no allowed word), `schema_supported` (False: 400 on `response_format`),
`script` ((marker, answer) rules: a request whose messages contain the marker gets that answer),
`pick_listed` (a one-of choice is drawn among the items the prompt lists, an option listed twice
with twice the chance: a model with no preference reading the list).
`/v1/embeddings` answers `stub_embedding` vectors (`concepts`: words that mean the same; `embedding_status`:
an error status for every embedding request). It counts requests and the most it had in flight.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMBEDDING_DIMENSIONS = 64
WORDS = ("policy vote school climate tax jobs rent park music game match movie science book travel "
         "food coffee city river phone").split()
MODEL = "stub-model"


def scripted_answer(body: dict, script: list[tuple[str | tuple[str, ...], str]]) -> str | None:
    """The answer of the first (marker, answer) rule whose marker the request's messages contain
    (a tuple of markers: all of them).

    A bare answer to a JSON-schema request is wrapped as the schema asks ({"reaction": "LIKE"},
    or a list for an array property), so tests script words, not JSON.
    """
    text = "\n".join(m.get("content", "") for m in body.get("messages", []))
    for marker, answer in script:
        if all(m in text for m in (marker if isinstance(marker, tuple) else (marker,))):
            fmt = body.get("response_format") or {}
            if fmt.get("type") != "json_schema" or answer.lstrip().startswith(("{", "[")):
                return answer
            key, spec = next(iter(fmt["json_schema"]["schema"]["properties"].items()))
            value = [a.strip() for a in answer.split(",")] if spec.get("type") == "array" else answer
            return json.dumps({key: value})
    return None


def fake_answer(body: dict, garbage: bool, pick_listed: bool = False) -> str:
    digest = hashlib.sha256(json.dumps([body.get("messages"), body.get("seed")], sort_keys=True).encode()).digest()
    if garbage:
        return "???"
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        props = fmt["json_schema"]["schema"]["properties"]
        key, spec = next(iter(props.items()))
        if spec.get("type") == "array":
            return json.dumps({key: spec["items"]["enum"][:1 + digest[0] % 2]})
        if pick_listed:
            return json.dumps({key: listed_pick(user_text(body), spec["enum"], digest)})
        return json.dumps({key: spec["enum"][digest[0] % len(spec["enum"])]})
    text = " ".join(WORDS[b % len(WORDS)] for b in digest[2:2 + 6 + digest[1] % 10]).capitalize()
    return f"{text} #{WORDS[digest[3] % len(WORDS)]}"


def stub_embedding(text: str, concepts: dict[str, str]) -> list[float]:
    """The stub's embedding of `text`: its words, each mapped to its concept where `concepts` names
    one, counted into EMBEDDING_DIMENSIONS hashed dimensions. Texts sharing a concept point the same
    way though they share no word: what an embedding model does that word overlap cannot."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in re.findall(r"[\w#@']+", text.lower()):
        concept = concepts.get(word.strip("#@'"), word.strip("#@'"))
        vector[int.from_bytes(hashlib.sha256(concept.encode()).digest()[:4], "big") % EMBEDDING_DIMENSIONS] += 1.0
    return vector


def user_text(body: dict) -> str:
    return "\n".join(m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user")


def listed_pick(text: str, options: list[str], digest: bytes) -> str:
    """One of `options`, uniformly among their whole-word occurrences in `text` (an option listed
    twice counts twice); uniformly among `options` when the text lists none of them."""
    listed = [word for word in re.findall(r"[A-Za-z_]+", text) if word in options] or list(options)
    return listed[int.from_bytes(digest[:8], "big") % len(listed)]


@dataclass
class StubState:
    latency_s: float = 0.0
    capacity: int = 64
    fail_plan: list = field(default_factory=list)
    garbage: bool = False
    schema_supported: bool = True
    script: list = field(default_factory=list)  # (marker, answer) rules tried before the hashed answer
    pick_listed: bool = False  # one-of choices drawn among the items the prompt lists
    timeout_sleep_s: float = 5.0
    requests: list = field(default_factory=list)
    concepts: dict = field(default_factory=dict)  # word -> concept, for /embeddings (`stub_embedding`)
    embedding_requests: list = field(default_factory=list)  # /embeddings bodies (not in `requests`)
    embedding_status: int = 200  # every /embeddings request answered with this status
    authorizations: list = field(default_factory=list)  # each request's Authorization header
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: threading.Semaphore | None = None

    def slots(self) -> threading.Semaphore:
        with self.lock:
            if self._slots is None:
                self._slots = threading.BoundedSemaphore(self.capacity)
            return self._slots


def _handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # keep-alive writes otherwise cost 40 ms each

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, payload: dict, headers: tuple = ()) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [
                    {"id": MODEL, "object": "model", "created": 0, "owned_by": "stub"}]})
            else:
                self._send(200, {"status": "ok"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self.path.rstrip("/").endswith("/embeddings"):
                return self._embeddings(body)
            with state.lock:
                planned = state.fail_plan.pop(0) if state.fail_plan else 200
                state.requests.append(body)
                state.authorizations.append(self.headers.get("Authorization"))
            if planned == "timeout":
                time.sleep(state.timeout_sleep_s)
                planned = 200
            planned_malformed = planned == "malformed"
            if planned_malformed:
                planned = 200
            if planned != 200:
                headers = (("retry-after-ms", "10"),) if planned == 429 else ()
                return self._send(planned, {"error": {"message": f"stub {planned}", "code": planned}}, headers)
            if body.get("response_format") and not state.schema_supported:
                return self._send(400, {"error": {"message": "response_format not supported"}})
            with state.slots():
                with state.lock:
                    state.in_flight += 1
                    state.max_in_flight = max(state.max_in_flight, state.in_flight)
                try:
                    time.sleep(state.latency_s)
                finally:
                    with state.lock:
                        state.in_flight -= 1
            # "malformed": a 200 whose answer is cut short (broken JSON, or too short to be a post).
            text = '{"' if planned_malformed else scripted_answer(body, state.script) or fake_answer(body, state.garbage,
                                                                                     state.pick_listed)
            prompt_tokens = sum(len(m.get("content", "").split()) for m in body.get("messages", []))
            completion_tokens = len(text.split())
            self._send(200, {
                "id": "chatcmpl-stub", "object": "chat.completion", "created": 0,
                "model": body.get("model", MODEL),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}})

        def _embeddings(self, body: dict) -> None:
            with state.lock:
                state.embedding_requests.append(body)
            if state.embedding_status != 200:
                return self._send(state.embedding_status, {"error": {"message": f"stub {state.embedding_status}"}})
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vectors = [stub_embedding(text, state.concepts) for text in texts]
            if body.get("encoding_format") == "base64":  # the openai client's default: little-endian float32
                vectors = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]
            self._send(200, {"object": "list", "model": body.get("model", MODEL), "data": [
                {"object": "embedding", "index": n, "embedding": vector} for n, vector in enumerate(vectors)],
                "usage": {"prompt_tokens": 0, "total_tokens": 0}})

    return Handler


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 resets connections under bursts

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LLMStub:
    """A running stub: `url` is its OpenAI base URL, `state` its knobs and counters."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **knobs: object) -> None:
        self.state = StubState(**knobs)
        self.server = StubServer((host, port), _handler(self.state))
        self.url = f"http://{host}:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LLMStub":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":  # python tests/llm_stub.py [latency_s [host [port [capacity [listed]]]]]: until Ctrl-C
    latency, host, port, capacity, listed = (sys.argv[1:] + ["0", "127.0.0.1", "0", "0", ""][len(sys.argv) - 1:])[:5]
    knobs = {"capacity": int(capacity)} if int(capacity) else {}  # 0: the default
    with LLMStub(host=host, port=int(port), latency_s=float(latency), pick_listed=listed == "listed", **knobs) as stub:
        print(stub.url, flush=True)
        threading.Event().wait()
