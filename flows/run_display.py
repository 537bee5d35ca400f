"""What `ysim run` shows on the terminal while a run goes: one line per tick under a progress bar
by default, one line per phase and per tick with --verbose (no bar), nothing but the summary with
--quiet.

Each display is a progress listener (flows.progress) and a context manager; the text of each line
is flows.progress.event_line, the same the flows log to their Prefect runs. Lines go to stderr,
flushed one by one, so a pipe or a log file sees each as it happens (the kill tests in
tests/flows/test_exactly_once.py read them to tell the phase a run is in).
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from flows.progress import event_line, tick_label


class ProgressBar:
    """The default: a rich progress bar naming the phase under way, each tick's line printed above it.

    On a terminal the bar redraws in place; into a pipe or a file there is no bar, and the tick
    lines are all that is written.
    """

    def __init__(self, console: Console) -> None:
        self.console = console

    def __enter__(self) -> "ProgressBar":
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TimeRemainingColumn(), console=self.console,
                            disable=not self.console.is_terminal)
        self.bar.__enter__()
        self.task = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "start":
            self.task = self.bar.add_task(f"run {event['run_id']}", total=event["total_ticks"],
                                          completed=event["first_tick"])
        elif kind == "phase":  # the tick under way: which phase, how many batches done
            self.bar.update(self.task, description=event_line(event))
        else:
            if kind == "tick":
                self.bar.update(self.task, advance=1, description=f"{tick_label(event['tick'])}: committed")
            # Text, not markup: a line is printed as it is. Printed through the bar's console, it
            # goes above the bar.
            self.console.print(event_line(event), markup=False, highlight=False)


class Lines:
    """One stderr line per tick; with `phases`, one per phase as well (--verbose)."""

    def __init__(self, phases: bool) -> None:
        self.phases = phases

    def __enter__(self) -> "Lines":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __call__(self, event: dict[str, Any]) -> None:
        if event["event"] != "phase" or self.phases:
            self._print(event_line(event))

    @staticmethod
    def _print(line: str) -> None:
        print(line, file=sys.stderr, flush=True)


class Quiet(Lines):
    """Only what stops a run early (the token budget); the summary is printed after."""

    def __init__(self) -> None:
        super().__init__(phases=False)

    def __call__(self, event: dict[str, Any]) -> None:
        if event["event"] == "budget":
            self._print(event_line(event))


class SweepLines(Lines):
    """A sweep's members, several at once: one stderr line when each starts and ends, prefixed
    with the member (`[popular seed 2]`); with --verbose, each tick's line too; nothing with --quiet
    but what stops a member early."""

    def __init__(self, ticks: bool, quiet: bool) -> None:
        super().__init__(phases=False)
        self.ticks, self.quiet = ticks, quiet

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        shown = kind == "budget" or not self.quiet and (kind in ("start", "member") or kind == "tick" and self.ticks)
        if shown:
            self._print(f"[{event.get('variant')} seed {event.get('seed')}] {event_line(event)}")


def display(console: Console, verbose: bool, quiet: bool) -> ProgressBar | Lines:
    if quiet:
        return Quiet()
    return Lines(phases=True) if verbose else ProgressBar(console)
