"""A batch's LLM work as Prefect task runs of its agent functions: `post_content[b3]`, `comment_on_post[b3]`, ...

The agents of a batch run as coroutines inside the batch's `decide` task, which Ray runs with the
`gpu` tag's resources. Each LLM request an agent makes is handed to the task run of its function
for this batch (`FunctionRuns.call`): the run starts with the function's first request, serves
every request of that function (concurrently, on the batch's clients), and stays open, idle
between requests, until the batch closes its runs (`FunctionRuns.wait_closed`, once all its agents
are done): a batch makes one run per function it used, however often that function's queue
empties and refills (each run costs the Prefect engine's work: tens of milliseconds of CPU on a
small machine). So the Prefect UI shows which functions a batch used, each run's state, duration
(open time: from the function's first request to the batch's end) and error, while an agent's
steps still run in Y Social's order (an agent awaits each answer before its next step) and a
request never waits for other agents' requests to be gathered.

Retries happen where the failure was: a request that fails transiently after the client's own
retries (`LLMUnavailableError`) fails its function's run once the run's other requests have ended;
Prefect retries that run (`ray.task_retries`, after `ray.task_retry_delay_s`), which asks the LLM
again only for the failed request and those queued since (a request that arrives between the
failed attempt and its retry waits in the queue for the retry); the retry stays open as the run
did. Every answer already received went to its agent. A run that fails for good (or on any other
error) fails the requests it still held, and with them the batch, as before. Function runs are
nested in the batch's task run, in the same process: they cost the Prefect engine's work, not a
Ray dispatch.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prefect import Task
from prefect.cache_policies import NO_CACHE
from prefect.transactions import BaseTransaction

from agent_models import BatchResult
from tasks.context import BatchReads, Sealed, unsealed
from tasks.llm_client import CallSite, LLMClient, LLMUnavailableError

# The request of a page's news post that extracts its topics belongs to the news_post function.
_FUNCTION_OF_CALL = {"news_post_topics": "news_post"}


def function_of(call_name: str) -> str:
    """The agent function a call (an `LLMCallRecord.function`) belongs to."""
    return _FUNCTION_OF_CALL.get(call_name, call_name)


def run_name(function: str, batch: int) -> str:
    return f"{function}[b{batch}]"


@dataclass(slots=True)
class FunctionRunCount:
    """What one function's runs did in one batch: runs started, and attempts (a retry is one more)."""

    runs: int = 0
    attempts: int = 0

    @property
    def retries(self) -> int:
        return self.attempts - self.runs

    def add(self, other: "FunctionRunCount") -> None:
        self.runs += other.runs
        self.attempts += other.attempts


class _Desk:
    """One function's requests in one batch, whether a run of it is serving them, and whether the
    batch has closed its runs."""

    __slots__ = ("function", "queue", "arrived", "serving", "closed", "count", "task")

    def __init__(self, function: str, closed: bool = False) -> None:
        self.function = function
        self.queue: deque[tuple[Callable[[], Awaitable[Any]], asyncio.Future]] = deque()
        self.arrived = asyncio.Event()  # set on a new request and on close: wakes an idle run
        self.serving = False  # True from a run's start until it ends (its retries included)
        self.closed = closed  # the batch is done: the run ends once its queue is empty
        self.count = FunctionRunCount()
        self.task: Task | None = None  # the function's task with this batch's run name and retries

    def fail_queued(self, error: BaseException) -> None:
        while self.queue:
            _, future = self.queue.popleft()
            if not future.done():
                future.set_exception(error)


async def _serve(desk: _Desk) -> int:
    """The body of a function run: serve the desk's requests, waiting for more while the desk is
    open, until it is closed and none is left; the number served.

    On a transient failure it stops taking new requests, lets those in flight end, puts the failed
    ones back at the head of the queue and raises: Prefect retries the run, which serves them again.
    """
    in_flight: dict[asyncio.Future, tuple[Callable[[], Awaitable[Any]], asyncio.Future]] = {}
    failed: list[tuple[Callable[[], Awaitable[Any]], asyncio.Future]] = []
    error: BaseException | None = None
    served = 0
    desk.count.attempts += 1
    while True:
        while desk.queue and error is None:
            work, future = desk.queue.popleft()
            in_flight[asyncio.ensure_future(work())] = (work, future)
        if not in_flight:
            if error is not None:
                desk.queue.extendleft(reversed(failed))
                raise error
            if desk.closed:
                # decided in the same step as the queue was found empty: no request is stranded
                desk.serving = False
                return served
            # idle and open: the next request of this function, or the batch's close, wakes it
        desk.arrived.clear()
        arrival = asyncio.ensure_future(desk.arrived.wait())
        done, _ = await asyncio.wait([*in_flight, arrival], return_when=asyncio.FIRST_COMPLETED)
        if arrival not in done:
            arrival.cancel()
        for request in done:
            if request is arrival:
                continue
            work, future = in_flight.pop(request)
            problem = request.exception()
            if problem is None:
                served += 1
                if not future.done():
                    future.set_result(request.result())
            elif isinstance(problem, LLMUnavailableError):
                failed.append((work, future))  # asked again by the retry
                error = error or problem
            else:  # not transient: the agent's call fails, and so does the run (no retry helps)
                if not future.done():
                    future.set_exception(problem)
                error = error or problem


def _retry_transient_only(task: Task, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry a function run only when an LLM request failed transiently."""
    # The failed state carries the exception itself as its data: function runs persist no result
    # (and `state.result()` would be a coroutine here, inside the async engine).
    return isinstance(state.data, LLMUnavailableError)


def _function_task(function: str, tag: str) -> Task:
    return Task(fn=_serve, name=function, tags=[tag], cache_policy=NO_CACHE, persist_result=False,
                retry_condition_fn=_retry_transient_only)


_TASKS: dict[tuple[str, str], Task] = {}


def function_task(function: str, tag: str = "gpu") -> Task:
    """The Prefect task whose runs serve `function`'s requests (one object per function and tag)."""
    key = (function, tag)
    if key not in _TASKS:
        _TASKS[key] = _function_task(function, tag)
    return _TASKS[key]


class FunctionRuns:
    """The function runs of one batch: created on first use, counted per function."""

    def __init__(self, batch: int, retries: int, retry_delay_s: float, tag: str = "gpu") -> None:
        self.batch, self.retries, self.retry_delay_s, self.tag = batch, retries, retry_delay_s, tag
        self._desks: dict[str, _Desk] = {}
        self._runs: set[asyncio.Future] = set()
        self._closed = False

    def client(self, llm: LLMClient | None) -> "RoutedClient | None":
        """`llm`'s requests, served by this batch's function runs (None stays None: rule-based agents)."""
        return None if llm is None else RoutedClient(self, llm)

    async def call(self, function: str, work: Callable[[], Awaitable[Any]]) -> Any:
        """`work()`'s result, computed by the run of `function` for this batch."""
        desk = self._desks.get(function)
        if desk is None:
            desk = self._desks[function] = _Desk(function, closed=self._closed)
        future = asyncio.get_running_loop().create_future()
        desk.queue.append((work, future))
        if desk.serving:
            desk.arrived.set()
        else:
            desk.serving = True
            run = asyncio.ensure_future(self._run(desk))
            self._runs.add(run)
            run.add_done_callback(self._runs.discard)
        return await future

    async def _run(self, desk: _Desk) -> None:
        desk.count.runs += 1
        if desk.task is None:  # made once per function and batch: `with_options` copies the whole task
            desk.task = function_task(desk.function, self.tag).with_options(
                task_run_name=run_name(desk.function, self.batch), retries=self.retries,
                retry_delay_seconds=self.retry_delay_s)
        task = desk.task
        # Outside the batch task's transaction (this coroutine has its own copy of the context):
        # Prefect rolls a transaction back when one of its task runs fails, and would mark every
        # function run of the batch that had completed "RolledBack" when one run fails and retries.
        BaseTransaction.__var__.set(None)
        try:
            await task(desk)
        except Exception as error:
            # The run failed for good: the requests it still holds fail with its error, which so
            # reaches their agents and fails the batch (each request it had answered got its answer).
            desk.serving = False
            desk.fail_queued(error)
        except BaseException:  # cancelled: so are the requests waiting for it
            desk.serving = False
            desk.fail_queued(asyncio.CancelledError())
            raise

    async def wait_closed(self) -> None:
        """Close the batch's function runs and wait for each to have ended.

        Called once the batch's agents are done. An idle run wakes and ends Completed; a run still
        serving ends once its queue is empty; a run between a failed attempt and its retry ends
        after the retry has served what was queued (or fails for good)."""
        self._closed = True
        for desk in self._desks.values():
            desk.closed = True
            desk.arrived.set()
        while self._runs:
            await asyncio.gather(*list(self._runs), return_exceptions=True)

    def counts(self) -> dict[str, FunctionRunCount]:
        return {name: desk.count for name, desk in self._desks.items()}


class RoutedClient:
    """An `LLMClient` whose `complete` goes through the batch's function run of the call's function."""

    __slots__ = ("_runs", "_llm")

    def __init__(self, runs: FunctionRuns, llm: LLMClient) -> None:
        self._runs, self._llm = runs, llm

    async def complete(self, site: CallSite, messages: list[dict[str, str]], model: str = "",
                       response_format: dict | None = None) -> tuple[str | None, Any]:
        return await self._runs.call(function_of(site.function),
                                     lambda: self._llm.complete(site, messages, model, response_format))


# --- cpu functions: the reads of a batch ----------------------------------------------------------
def _call_step(work: Any) -> Any:
    """The body of a cpu function run: the batch's query, given as a sealed zero-argument callable
    (sealed so that Prefect neither walks the batch's data nor records it)."""
    return Sealed(unsealed(work)())


_STEP_TASKS: dict[str, Task] = {}


def step_task(function: str) -> Task:
    """The Prefect task whose runs compute one cpu agent function (a read) for a batch."""
    if function not in _STEP_TASKS:
        _STEP_TASKS[function] = Task(fn=_call_step, name=function, tags=["cpu"], cache_policy=NO_CACHE,
                                     persist_result=False)
    return _STEP_TASKS[function]


class StepRuns:
    """Runs a batch's cpu functions one after another, each as a task run `function[bN]` nested in the
    batch's task run (`batch` None: inline, for callers outside a tick).

    They are not retried on their own: they read one snapshot in one transaction, which a failed
    query may have ended, so the batch's read task (retried by Prefect) reads again from the start.
    """

    __slots__ = ("batch", "ran")

    def __init__(self, batch: int | None) -> None:
        self.batch = batch
        self.ran: list[str] = []  # the functions run, in order

    def __call__(self, function: str, work: Callable[[], Any]) -> Any:
        if self.batch is None:
            return work()
        self.ran.append(function)
        return unsealed(step_task(function).with_options(task_run_name=run_name(function, self.batch))(Sealed(work)))


# --- the tick's report ------------------------------------------------------------------------------
def per_function(results: list[BatchResult], reads: list[BatchReads]) -> dict[str, dict[str, float]]:
    """{function: {tag, runs, retries, llm_calls, llm_errors, prompt_tokens, completion_tokens, llm_s}}
    over a tick's batches: the LLM functions from their call records and run counts, the cpu
    functions (the reads) from the runs each batch made."""
    table: dict[str, dict[str, float]] = {}

    def row(function: str, tag: str) -> dict[str, float]:
        return table.setdefault(function, {"tag": tag, "runs": 0, "retries": 0, "llm_calls": 0, "llm_errors": 0,
                                           "prompt_tokens": 0, "completion_tokens": 0, "llm_s": 0.0})

    for batch_reads in reads:
        for function in batch_reads.steps:
            row(function, "cpu")["runs"] += 1
    for result in results:
        for function, (runs, retries) in result.function_runs.items():
            mine = row(function, "gpu")
            mine["runs"] += runs
            mine["retries"] += retries
        for call in result.llm_calls:
            mine = row(function_of(call.function), "gpu")
            mine["llm_calls"] += 1
            mine["llm_errors"] += call.is_error
            mine["prompt_tokens"] += call.prompt_tokens
            mine["completion_tokens"] += call.completion_tokens
            mine["llm_s"] += call.latency_ms / 1000
    for mine in table.values():
        mine["llm_s"] = round(mine["llm_s"], 3)
    return table
