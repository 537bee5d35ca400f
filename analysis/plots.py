"""The report's figures: one function per plot, each taking one run's data (`ysim report`) or
several (`ysim compare`: one column per run, axes shared, so the runs read side by side), and
`measure_over_seeds`, one measure's mean over seeds per variant with its 95 % band (`ysim compare`'s
statistics).

Figures are `matplotlib.figure.Figure` objects rendered by the Agg canvas directly: no pyplot,
no global backend switch, nothing happens at import. A panel with nothing to show says so in
words instead of drawing empty axes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from agent_models import HOURS_PER_DAY
from agent_models.activity import NONE_ACTION
from analysis.data import TOP_HASHTAGS, RunReport
from analysis.surveys import FREE_TEXT, NO_ANSWER

PANEL_SIZE = (6.4, 3.6)  # inches per run column and panel row
LEGEND_WIDTH = 1.8  # inches added on the right for a figure legend
DPI = 100
MAX_OPINION_TOPICS = 8  # opinion panels: the topics most agents hold an opinion on
OPINION_PANEL_HEIGHT = 2.2  # inches: eight topics stay one screenful or two
SURVEY_PANEL_HEIGHT = 2.6  # inches per survey row
MAX_TICK_LABELS = 8  # keeps two-line tick labels from overlapping
TICK_MARGIN = 0.6  # x axis room left and right of the first and last tick (a bar is 0.85 wide)
NONE_COLOUR = "#c7c7c7"
MAX_LINEAR_DEGREE = 30  # above this many followers, the in-degree plot uses log axes


@dataclass(frozen=True, slots=True)
class Plot:
    """A figure of the report: its stable name (file name, HTML id), title and what it shows."""

    name: str
    title: str
    description: str
    draw: Callable[[Sequence[RunReport]], Figure]


def render_png(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def actions_per_tick(runs: Sequence[RunReport]) -> Figure:
    kinds = sorted({kind for run in runs for kind in run.actions.columns}, key=lambda k: (k == NONE_ACTION, k))
    colours = _colours(kinds)
    figure, axes = _grid(runs, legend=True)
    for ax, run in zip(axes[0], runs, strict=True):
        if run.actions.empty:
            _say(ax, "no ticks committed")
            continue
        bottom = np.zeros(len(run.actions))
        for kind in kinds:
            counts = run.actions[kind].to_numpy() if kind in run.actions else np.zeros(len(run.actions))
            ax.bar(run.actions.index, counts, bottom=bottom, width=0.85, color=colours[kind], label=kind)
            bottom += counts
        _tick_axis(ax, runs)
    axes[0][0].set_ylabel("actions (agent rounds)")
    _legend(figure, axes, "action")
    figure.suptitle("Actions per tick by kind")
    return figure


def active_agents(runs: Sequence[RunReport]) -> Figure:
    figure, axes = _grid(runs, legend=True)
    for ax, run in zip(axes[0], runs, strict=True):
        if run.ticks.empty:
            _say(ax, "no ticks committed")
            continue
        marker = "o" if len(run.ticks) <= HOURS_PER_DAY * 2 else None
        ax.plot(run.ticks["tick"], run.ticks["selected"], marker=marker, color="#1f77b4", label="selected to act")
        ax.plot(run.ticks["tick"], run.ticks["acting"], marker=marker, color="#d62728",
                label="acted (an action other than NONE)")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _tick_axis(ax, runs)
    _floor_at_zero(axes[0])
    axes[0][0].set_ylabel("agents")
    _legend(figure, axes, "agents")
    figure.suptitle("Active agents per tick")
    return figure


def follower_in_degree(runs: Sequence[RunReport]) -> Figure:
    figure, axes = _grid(runs)
    # A few followers each: bars. A heavy tail (some agents with hundreds): points on log axes,
    # or the bars of the many agents with few followers hide the tail.
    heavy = max((int(run.in_degree["degree"].max()) for run in runs if not run.in_degree.empty), default=0) > \
        MAX_LINEAR_DEGREE
    for ax, run in zip(axes[0], runs, strict=True):
        degrees = run.in_degree
        if degrees.empty:
            _say(ax, "no agents")
            continue
        if heavy:
            ax.plot(degrees["degree"], degrees["agents"], "o", markersize=4, color="#2ca02c")
            ax.set_xscale("symlog", linthresh=1)  # symlog keeps degree 0 on the axis
            ax.set_yscale("log")
        else:
            ax.bar(degrees["degree"], degrees["agents"], width=0.85, color="#2ca02c")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        mean = (degrees["degree"] * degrees["agents"]).sum() / degrees["agents"].sum()
        ax.text(0.98, 0.95, f"mean {mean:.2f} followers\nmax {degrees['degree'].max()}", transform=ax.transAxes,
                ha="right", va="top", fontsize=9)
        ax.set_xlabel("followers (current follows)" + (", log scale" if heavy else ""))
    axes[0][0].set_ylabel("agents" + (" (log scale)" if heavy else ""))
    figure.suptitle("Follower in-degree distribution")
    return figure


def opinions(runs: Sequence[RunReport]) -> Figure:
    topics = _opinion_topics(runs)
    if not topics:
        return _nothing_to_show(runs, "no opinions recorded", "Opinion distribution per topic")
    figure, axes = _grid(runs, rows=len(topics), legend=True, height=OPINION_PANEL_HEIGHT)
    for row, topic in zip(axes, topics, strict=True):
        for ax, run in zip(row, runs, strict=True):
            bands = run.opinions.get(topic)
            if bands is None:
                _say(ax, f"no opinions on {topic}")
                continue
            marker = "o" if len(bands) <= HOURS_PER_DAY * 2 else None
            ax.fill_between(bands["tick"], bands["q05"], bands["q95"], color="#9467bd", alpha=0.2, label="5-95 %")
            ax.fill_between(bands["tick"], bands["q25"], bands["q75"], color="#9467bd", alpha=0.45, label="25-75 %")
            ax.plot(bands["tick"], bands["q50"], marker=marker, markersize=4, color="#4b2a7b", label="median")
            ax.set_ylim(0, 1)
            holders = int(bands["holders"].iloc[-1])
            ax.text(0.01, 0.96, f"{holders} agent{'s' if holders != 1 else ''} at the end", transform=ax.transAxes,
                    ha="left", va="top", fontsize=8, color="#333333")
            _tick_axis(ax, runs, label=row is axes[-1])
        row[0].set_ylabel(f"{topic}\nopinion")
    shown = len(topics)
    total = len({t for run in runs for t in run.opinions})
    suffix = f"\n({shown} of {total} topics: those most agents hold an opinion on)" if total > shown else ""
    _legend(figure, axes, "opinions held")
    figure.suptitle(f"Opinion distribution per topic after each tick{suffix}")
    return figure


def top_hashtags(runs: Sequence[RunReport]) -> Figure:
    figure, axes = _grid(runs, share_y=False, height=max(PANEL_SIZE[1], 0.28 * _most_hashtags(runs) + 1))
    for ax, run in zip(axes[0], runs, strict=True):
        tags = run.hashtags
        if tags.empty:
            _say(ax, "no hashtags recorded")
            continue
        positions = np.arange(len(tags))
        ax.barh(positions, tags["posts"], color="#ff7f0e")
        ax.set_yticks(positions, tags["hashtag"], fontsize=9)
        ax.invert_yaxis()  # the most used on top
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("posts")
    figure.suptitle(f"Top {TOP_HASHTAGS} hashtags by posts")
    return figure


def llm_usage(runs: Sequence[RunReport]) -> Figure:
    figure, axes = _grid(runs, rows=2, legend=True)
    tokens, latency = axes
    for ax_tokens, ax_latency, run in zip(tokens, latency, runs, strict=True):
        llm = run.llm
        if llm.empty or llm["calls"].sum() == 0:
            _say(ax_tokens, "no LLM calls")
            _say(ax_latency, "no LLM calls")
            continue
        ax_tokens.bar(llm["tick"], llm["prompt_tokens"], width=0.85, color="#1f77b4", label="prompt tokens")
        ax_tokens.bar(llm["tick"], llm["completion_tokens"], bottom=llm["prompt_tokens"], width=0.85,
                      color="#aec7e8", label="completion tokens")
        _tick_axis(ax_tokens, runs, label=False)
        # The server's round trip and the client's queue apart: a slow server and a full queue
        # (llm.concurrency below what the server takes) call for different remedies.
        ax_latency.plot(llm["tick"], llm["latency_p50_ms"], marker="o", color="#2ca02c", label="server latency median")
        ax_latency.plot(llm["tick"], llm["latency_p95_ms"], marker="o", color="#d62728", label="server latency p95")
        ax_latency.plot(llm["tick"], llm["wait_p50_ms"], marker="s", linestyle="--", color="#9467bd",
                        label="wait for a slot median")
        ax_latency.plot(llm["tick"], llm["wait_p95_ms"], marker="s", linestyle="--", color="#8c564b",
                        label="wait for a slot p95")
        _tick_axis(ax_latency, runs)
    _floor_at_zero(latency)
    tokens[0].set_ylabel("tokens per tick")
    latency[0].set_ylabel("ms per call")
    _legend(figure, axes, "LLM")
    figure.suptitle("LLM tokens and latency per tick")
    return figure


def survey_answers(runs: Sequence[RunReport]) -> Figure:
    labels = list(dict.fromkeys(label for run in runs for label in run.surveys["survey"]))
    if not labels:
        return _nothing_to_show(runs, "no survey asked", "Survey answers")
    figure, axes = _grid(runs, rows=len(labels), legend=True, height=SURVEY_PANEL_HEIGHT)
    for row, label in zip(axes, labels, strict=True):
        answers = list(dict.fromkeys(a for run in runs for a in run.surveys.loc[run.surveys["survey"] == label, "answer"]))
        colours = _answer_colours(answers)
        for ax, run in zip(row, runs, strict=True):
            rows = run.surveys[run.surveys["survey"] == label]
            if rows.empty:
                _say(ax, f"{label} not asked")
                continue
            shares = rows.pivot_table(index="tick", columns="answer", values="share", aggfunc="sum", fill_value=0.0)
            bottom = np.zeros(len(shares))
            for answer in answers:
                values = shares[answer].to_numpy() if answer in shares else np.zeros(len(shares))
                ax.bar(shares.index, values, bottom=bottom, width=0.85, color=colours[answer], label=answer)
                bottom += values
            for tick, asked in rows.groupby("tick")["agents"].sum().items():
                ax.text(tick, 1.01, f"{asked}", ha="center", va="bottom", fontsize=8, color="#333333")
            ax.set_ylim(0, 1.1)
            _tick_axis(ax, runs, label=row is axes[-1])
        row[0].set_ylabel(f"{label}\nshare of answers")
        handles, names = next((ax.get_legend_handles_labels() for ax in row if ax.get_legend_handles_labels()[0]),
                              ([], []))
        row[-1].legend(handles, names, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, title=label)
    figure.suptitle("Survey answers at each tick asked (the number above a bar: agents asked)")
    return figure


def measure_over_seeds(over_seeds: pd.DataFrame, measure: str, variants: Sequence[str], title: str) -> Figure:
    """One line per variant: the mean over its seeds after each tick (`statistics.over_seeds`), in a
    shaded band from ci_low to ci_high, also drawn as a bar at each tick (a band between ticks
    without an interval would not show); no band where a tick has fewer than two runs."""
    figure = Figure(figsize=(PANEL_SIZE[0] * 1.6, PANEL_SIZE[1] * 1.3), dpi=DPI, layout="constrained")
    ax = figure.subplots()
    rows = over_seeds[over_seeds["measure"] == measure]
    drawn = False
    for number, variant in enumerate(variants):
        line = rows[(rows["variant"] == variant) & (rows["runs"] > 0)].sort_values("tick")
        if line.empty:
            continue
        colour = f"C{number % 10}"
        marker = "o" if len(line) <= HOURS_PER_DAY * 2 else None
        ax.fill_between(line["tick"], line["ci_low"], line["ci_high"], color=colour, alpha=0.2, linewidth=0)
        ax.vlines(line["tick"], line["ci_low"], line["ci_high"], color=colour, alpha=0.5, linewidth=1.5)
        ax.plot(line["tick"], line["mean"], marker=marker, markersize=4, color=colour,
                label=f"{variant} (up to {int(line['runs'].max())} runs)")
        drawn = True
    if drawn:
        low, high = rows["tick"].min() - TICK_MARGIN, rows["tick"].max() + TICK_MARGIN
        ax.set_xlim(low, high)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=MAX_TICK_LABELS, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_tick_label))
        ax.set_xlabel("tick (day, hour)")
        ax.set_ylabel(measure)
        # Below the axes: variant labels (settings) are long.
        figure.legend(loc="outside lower center", title="variant: mean over runs, 95 % interval", fontsize=9,
                      ncols=1 if len(variants) > 3 else len(variants) or 1)
    else:
        _say(ax, "no run has a value")
    figure.suptitle(title)
    return figure


PLOTS: tuple[Plot, ...] = (
    Plot("actions-per-tick", "Actions per tick by kind",
         "Every round an active agent played, by the action it chose (NONE: it chose to do nothing).",
         actions_per_tick),
    Plot("active-agents", "Active agents per tick",
         "Agents drawn to act in the hour, and those that did something other than NONE.", active_agents),
    Plot("follower-in-degree", "Follower in-degree distribution",
         "How many agents have each number of followers at the end of the run (latest follow or unfollow "
         "per pair).", follower_in_degree),
    Plot("opinions", "Opinion distribution per topic",
         "The opinions agents hold after each tick: median, 25-75 % and 5-95 % bands.", opinions),
    Plot("top-hashtags", "Top hashtags", "The hashtags on most posts.", top_hashtags),
    Plot("survey-answers", "Survey answers",
         "Each survey's answers at every tick it was asked, as shares of the agents asked (surveys sharing a name "
         "make one series); every answer its scale or choices allow, then those that named none.", survey_answers),
    Plot("llm-usage", "LLM tokens and latency per tick",
         "Prompt and completion tokens summed per tick; median and 95th percentile of the tick's calls' server "
         "round trip (latency) and of their wait for one of the client's concurrency slots (llm.concurrency).",
         llm_usage),
)


def _grid(runs: Sequence[RunReport], rows: int = 1, share_y: bool = True, legend: bool = False,
          height: float | None = None) -> tuple[Figure, list[list[Axes]]]:
    """One column per run, `rows` rows; columns share their axes so runs compare at a glance."""
    width = PANEL_SIZE[0] * len(runs) + (LEGEND_WIDTH if legend else 0)
    figure = Figure(figsize=(width, (height or PANEL_SIZE[1]) * rows), dpi=DPI, layout="constrained")
    grid = figure.subplots(rows, len(runs), squeeze=False, sharex=True, sharey="row" if share_y else False)
    for ax, run in zip(grid[0], runs, strict=True):
        ax.set_title(f"{run.label} (run {run.run_id})", fontsize=11)
    return figure, [list(row) for row in grid]


def _floor_at_zero(row: list[Axes]) -> None:
    """Start a row's shared y axis at zero, once every column is drawn (earlier, the first
    column's top would cut the others off)."""
    row[0].autoscale_view()
    row[0].set_ylim(bottom=0)


def _tick_axis(ax: Axes, runs: Sequence[RunReport], label: bool = True) -> None:
    """Ticks on the x axis as `tick` over `day, hour`, limited to the runs' ticks (no label for a
    tick that never ran), with day boundaries marked."""
    ticks = [tick for run in runs for tick in run.ticks["tick"]] + \
        [tick for run in runs for bands in run.opinions.values() for tick in bands["tick"]]
    low, high = min(ticks) - TICK_MARGIN, max(ticks) + TICK_MARGIN
    ax.set_xlim(low, high)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=MAX_TICK_LABELS, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(_tick_label))
    for day_start in range(HOURS_PER_DAY, int(high) + 1, HOURS_PER_DAY):
        if day_start > low:
            ax.axvline(day_start - 0.5, color="#999999", linestyle=":", linewidth=0.8)
    if label:
        ax.set_xlabel("tick (day, hour)")


def _tick_label(value: float, _position: int | None) -> str:
    tick = int(round(value))
    return f"{tick}\nd{tick // HOURS_PER_DAY} {tick % HOURS_PER_DAY:02d}h"


def _nothing_to_show(runs: Sequence[RunReport], message: str, title: str) -> Figure:
    """A figure of one row whose every panel says `message`."""
    figure, axes = _grid(runs)
    for ax in axes[0]:
        _say(ax, message)
    figure.suptitle(title)
    return figure


def _say(ax: Axes, message: str) -> None:
    """A panel with nothing to plot: the reason, in words."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=12, color="#555555")
    ax.set_axis_off()  # not set_xticks([]): that would clear the ticks of the panels sharing its axes


def _legend(figure: Figure, axes: list[list[Axes]], title: str) -> None:
    """One legend for the figure, right of the panels: every label any panel drew, once."""
    entries: dict[str, Any] = {}
    for ax in (ax for row in axes for ax in row):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if entries:
        figure.legend(list(entries.values()), list(entries), loc="outside right upper", title=title, fontsize=9)


def _colours(kinds: list[str]) -> dict[str, str]:
    # Matplotlib's ten colours without its grey (C7), which NONE's grey would be confused with.
    palette = [f"C{i}" for i in range(10) if i != 7] + ["#393b79", "#637939", "#8c6d31", "#843c39"]
    colours = {kind: palette[i % len(palette)] for i, kind in enumerate(k for k in kinds if k != NONE_ACTION)}
    colours[NONE_ACTION] = NONE_COLOUR
    return colours


def _answer_colours(answers: list[str]) -> dict[str, str]:
    """A Likert scale's answers along a diverging colour map (1..N reads as a gradient), choices in
    distinct colours, free text in blue, no answer in grey."""
    listed = [a for a in answers if a not in (NO_ANSWER, FREE_TEXT)]
    if all(a.isdigit() for a in listed):
        ramp = colormaps["RdYlBu"]
        colours = {a: to_hex(ramp(n / max(len(listed) - 1, 1))) for n, a in enumerate(listed)}
    else:
        colours = {a: colour for a, colour in _colours(listed).items() if a in listed}
    return colours | {NO_ANSWER: NONE_COLOUR, FREE_TEXT: "#1f77b4"}


def _opinion_topics(runs: Sequence[RunReport]) -> list[str]:
    """The topics of the opinion panels: most holders at the end (over the runs) first, ties by name."""
    holders: dict[str, int] = {}
    for run in runs:
        for topic, bands in run.opinions.items():
            holders[topic] = holders.get(topic, 0) + int(bands["holders"].iloc[-1])
    return sorted(holders, key=lambda t: (-holders[t], t))[:MAX_OPINION_TOPICS]


def _most_hashtags(runs: Sequence[RunReport]) -> int:
    return max(len(run.hashtags) for run in runs)
