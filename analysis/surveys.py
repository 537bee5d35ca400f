"""A run's surveys in its report: each survey's answer distribution at every tick it was asked.

A survey is known by its label (`name`, else `survey<position>`); surveys that share a label (one
question asked at several ticks) make one series over time. The answers a survey allows come from
the run's stored configuration (agent_models.surveys): every one is listed at each tick, zero
included, in the scale's or the choices' order, then `NO_ANSWER` (an answer that named none of
them, or an LLM error). A free-text survey's answers are counted as `FREE_TEXT` (the texts are in
the exported `interviews` table). The counts come from `db.report_queries.survey_answers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from agent_models.surveys import Survey

NO_ANSWER = "(no answer)"
FREE_TEXT = "(free text)"
COLUMNS = ["survey", "tick", "answer", "agents", "share"]


def survey_options(config: Mapping[str, Any]) -> dict[str, list[str] | None]:
    """Each survey label of a run's configuration -> the answers it allows in order (None: free text),
    in the order the configuration lists them; a label shared by several surveys allows the union."""
    options: dict[str, list[str] | None] = {}
    for position, entry in enumerate(config.get("surveys") or []):
        survey = Survey.model_validate(entry)
        label, allowed = survey.label(position), survey.options()
        if label not in options:
            options[label] = allowed
        elif options[label] is None or allowed is None:
            options[label] = None  # one of them free text: counted as such
        else:
            options[label] += [a for a in allowed if a not in options[label]]
    return options


def answer_distribution(answers: pd.DataFrame, options: Mapping[str, list[str] | None]) -> pd.DataFrame:
    """survey, tick, answer, agents, share (of the agents asked at that tick): one row per allowed
    answer and `NO_ANSWER` (or `FREE_TEXT` and `NO_ANSWER`) per survey and tick asked, surveys in
    the configuration's order (a label it does not list, by name, its answers as given)."""
    rows = []
    order = {label: n for n, label in enumerate(options)}
    asked = answers.groupby(["survey", "tick"], sort=False)
    for (survey, tick), group in sorted(asked, key=lambda item: (order.get(item[0][0], len(order)), item[0][0],
                                                                item[0][1])):
        counts: dict[str, int] = {}
        allowed = options.get(survey, _as_given(group))
        for answer, agents in zip(group["answer"], group["agents"], strict=True):
            key = NO_ANSWER if pd.isna(answer) else FREE_TEXT if allowed is None else answer
            counts[key] = counts.get(key, 0) + int(agents)
        listed = [FREE_TEXT] if allowed is None else list(allowed)
        listed += [a for a in counts if a not in listed and a != NO_ANSWER] + [NO_ANSWER]
        total = sum(counts.values())
        rows += [(survey, int(tick), answer, counts.get(answer, 0), counts.get(answer, 0) / total) for answer in listed]
    return pd.DataFrame(rows, columns=COLUMNS).astype({"tick": int, "agents": int, "share": float})


def _as_given(group: pd.DataFrame) -> list[str]:
    """The answers of a survey the configuration does not list, sorted (a name it no longer has)."""
    return sorted(a for a in group["answer"].unique() if pd.notna(a))
