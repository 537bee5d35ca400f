"""A paced run's wait between ticks (`simulation.pace`): real time for people to act in `ysim web`.

The next tick starts `pace` seconds after the previous one started, or as soon as a person asks
for the next hour (a `next_hour` submission in the inbox, which that tick then marks applied).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from db import people, session_factory

POLL_S = 0.25  # how often the inbox is read while waiting


def wait_for_pace(db_url: str, run_id: int, until: float, clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> str:
    """Wait until `clock()` reaches `until` or a person asks for the next hour; which ended it
    ("paced" or "asked")."""
    sessions = session_factory(db_url)
    while True:
        with sessions() as session:
            if people.next_hour_requested(session, run_id):
                return "asked"
        left = until - clock()
        if left <= 0:
            return "paced"
        sleep(min(POLL_S, left))
