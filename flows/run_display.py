"""What `ysim run` shows on the terminal while a run goes: a progress bar by default, one line per
phase and per tick with --verbose, nothing but the summary with --quiet.

Each display is a progress listener (flows.progress) and a context manager. Lines go to stderr,
flushed one by one, so a pipe or a log file sees each as it happens (the kill tests in
tests/flows/test_exactly_once.py read them to tell the phase a run is in).
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from agent_models import HOURS_PER_DAY


def tick_label(tick: int) -> str:
    return f"tick {tick} (day {tick // HOURS_PER_DAY} hour {tick % HOURS_PER_DAY:02d})"


def budget_notice(event: dict[str, Any]) -> str:
    return (f"Stopped before tick {event['tick']}: {event['tokens_used']} tokens used, the budget "
            f"(--max-tokens-total) is {event['budget']}. Committed ticks are kept; run again with a larger budget "
            f"to continue.")


def tick_line(event: dict[str, Any]) -> str:
    """One tick's outcome: tick, actions, tokens, seconds."""
    if event.get("already_committed"):
        return f"{tick_label(event['tick'])}: already committed"
    actions = sum(event.get("actions", {}).values())
    tokens = event.get("prompt_tokens", 0) + event.get("completion_tokens", 0)
    return (f"{tick_label(event['tick'])} committed: {event.get('active_agents', 0)} active, {actions} actions, "
            f"{sum(event.get('written', {}).values())} writes, {event.get('llm_calls', 0)} LLM calls, "
            f"{tokens} tokens, {event.get('wall_s', 0):.2f} s")


class ProgressBar:
    """A rich progress bar fed by the simulation's tick events (the default)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __enter__(self) -> "ProgressBar":
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TimeRemainingColumn(), console=self.console)
        self.bar.__enter__()
        self.task = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, event: dict[str, Any]) -> None:
        if event["event"] == "budget":
            self.console.print(budget_notice(event))
        elif event["event"] == "start":
            self.task = self.bar.add_task(f"run {event['run_id']}", total=event["total_ticks"],
                                          completed=event["first_tick"])
        elif event["event"] == "phase":  # the tick under way: which phase, how many batches done
            self.bar.update(self.task, description=f"{tick_label(event['tick'])}: {event['phase']}")
        else:
            self.bar.update(self.task, advance=1, description=f"{tick_label(event['tick'])}: "
                            f"{event.get('active_agents', 0)} active, {sum(event.get('written', {}).values())} writes")


class Lines:
    """One stderr line per tick; with `phases`, one per phase as well (--verbose)."""

    def __init__(self, phases: bool) -> None:
        self.phases = phases

    def __enter__(self) -> "Lines":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __call__(self, event: dict[str, Any]) -> None:
        if event["event"] == "budget":
            self._print(budget_notice(event))
        elif event["event"] == "start":
            self._print(f"run {event['run_id']}: ticks {event['first_tick']} to {event['total_ticks'] - 1}")
        elif event["event"] == "phase":
            if self.phases:
                self._print(f"{tick_label(event['tick'])}: {event['phase']}")
        else:
            self._print(tick_line(event))

    @staticmethod
    def _print(line: str) -> None:
        print(line, file=sys.stderr, flush=True)


class Quiet(Lines):
    """Only what stops a run early (the token budget); the summary is printed after."""

    def __init__(self) -> None:
        super().__init__(phases=False)

    def __call__(self, event: dict[str, Any]) -> None:
        if event["event"] == "budget":
            self._print(budget_notice(event))


def display(console: Console, verbose: bool, quiet: bool) -> ProgressBar | Lines:
    if quiet:
        return Quiet()
    return Lines(phases=True) if verbose else ProgressBar(console)
