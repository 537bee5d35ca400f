"""Y Social's initial follow graph: a CSV edge list `follower,followee` of 0-based agent indices.

The indices count agents in population order (file order for a population file, generation
order otherwise). Y Social applies the edges with `follow` before the first round; ysim writes
them as follows made before tick 0.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


class FollowGraphError(ValueError):
    """A follow graph line that cannot be used: names the file, the line, the value and what is allowed."""


def load_follow_graph(path: str | Path, n_agents: int) -> list[tuple[int, int]]:
    """The distinct (follower, followee) index pairs of `path`, in file order."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise FollowGraphError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise FollowGraphError(f"{path}: not a text file: {exc}") from None
    edges: dict[tuple[int, int], None] = {}
    for number, row in enumerate(_rows(text, path), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        line = ",".join(row)
        where = f"{path}: line {number}: {line[:60]!r}{'...' if len(line) > 60 else ''}"
        if len(row) != 2:
            raise FollowGraphError(f"{where}: expected follower,followee (two agent indices)")
        try:
            follower, followee = (int(cell) for cell in row)
        except ValueError:
            raise FollowGraphError(f"{where}: agent indices must be whole numbers") from None
        for index in (follower, followee):
            if not 0 <= index < n_agents:
                raise FollowGraphError(f"{where}: agent index {index} is outside 0..{n_agents - 1} "
                                       f"(the population has {n_agents} agents)")
        if follower == followee:
            raise FollowGraphError(f"{where}: an agent cannot follow itself")
        edges[(follower, followee)] = None
    return list(edges)


def _rows(text: str, path: Path) -> Iterator[list[str]]:
    rows = csv.reader(text.splitlines())
    try:
        yield from rows
    except csv.Error as exc:  # a cell over the csv module's size limit
        raise FollowGraphError(f"{path}: line {rows.line_num}: {exc}") from None
