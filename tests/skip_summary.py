"""The end of a test run's summary: why tests were skipped, one line per reason with its count.

A green run on a machine without Chromium skips the browser tests; this says so in the summary
instead of leaving it to a count. tests/conftest.py imports the hook; `-p tests.skip_summary`
loads it for a run without that conftest (tests/test_fresh_machine.py does).
"""

from __future__ import annotations

from collections import Counter

SECTION = "skipped, by reason"


def pytest_terminal_summary(terminalreporter) -> None:
    reasons = Counter(skip_reason(report) for report in terminalreporter.stats.get("skipped", []))
    if reasons:
        terminalreporter.section(SECTION)
        for reason, count in reasons.most_common():
            terminalreporter.write_line(f"{count:4d} {reason}")


def skip_reason(report) -> str:
    """The reason a test was skipped (pytest keeps it as (file, line, "Skipped: reason"))."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
