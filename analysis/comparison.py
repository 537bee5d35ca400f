"""`ysim compare`'s statistics over seeds end to end: group the runs into variants, compute every
run's outcome measures, their statistics over seeds, and write the files, figures and page.

`write_statistics_comparison` writes, in `out_dir`: `measures/{measures,over_seeds,final_values,
differences,surveys}.csv` and `.parquet`, `plots/measure-<name>.png` (one per measure), and the page
`index.html`. The caller resolves the runs and checks the folder first (`data.resolve_run`,
`report.prepare_out_dir`), as for the other reports. Beside the side-by-side page of two runs,
`ysim compare` writes them in its folder's `statistics/`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib import rc_context

from analysis import exports, html, statistics
from analysis.data import survey_distribution
from analysis.measures import MEASURES, measures
from analysis.plots import MAX_OPINION_TOPICS, measure_over_seeds, render_png
from analysis.report import MEASURES_DIR, PAGE, relative, write_plots
from analysis.statistics_page import render_statistics_page
from analysis.surveys import COLUMNS as SURVEY_COLUMNS
from analysis.variants import ComparedRun, GroupedRun, Variant, group

__all__ = ["ComparedRun", "StatisticsOutput", "measure_frame", "write_statistics_comparison"]

STATISTICS_DIR = "statistics"  # the statistics' folder beside the side-by-side page of two runs
LONG_COLUMNS = ["variant", "seed", "database", "run_id", "tick", "measure", "value"]
# (column of analysis.measures' polarization frame, prefix of its measure name `<prefix>:<topic>`)
TOPIC_MEASURES = (("variance", "opinion_variance"), ("bimodality", "opinion_bimodality"))
TITLES = {
    "engagement": ("Engagement", "Reactions and comments written in the tick per agent that acted in it."),
    "reactions_gini": ("Inequality of reactions received", "Gini coefficient of the reactions each present agent "
                                                           "has received so far."),
    "followers_gini": ("Inequality of followers", "Gini coefficient of each present agent's followers."),
    "follow_ei": ("E-I index of the follow graph", "Krackhardt and Stern's E-I index of leaning over the follows "
                                                   "(-1: a closed echo chamber, 0: as many ties across as within)."),
    "exposure_ei": ("E-I index of exposure", "Krackhardt and Stern's E-I index of leaning over the posts the "
                                             "recommenders served in the tick (reader, author)."),
    "modularity": ("Modularity of the follow graph", "Modularity of networkx's greedy modularity communities of "
                                                     "the undirected follow graph."),
    "clustering": ("Clustering of the follow graph", "Average clustering coefficient of the undirected follow "
                                                     "graph."),
    "opinion_variance": ("Opinion variance on {topic}", "Variance of the opinions agents hold on {topic}."),
    "opinion_bimodality": ("Opinion bimodality on {topic}", "Sarle's bimodality coefficient of the opinions agents "
                                                            "hold on {topic} (above 5/9 suggests two camps)."),
}
KEPT = {
    "measures": "every run's, one row per committed tick and measure",
    "over_seeds": "per variant, measure and tick: the mean over the runs and its 95 % interval (Student's t)",
    "final_values": "per variant and measure: the mean of the runs' last-tick values and its 95 % interval",
    "differences": "per variant and measure: the difference of mean final values from {reference} and its 95 % "
                   "interval (Welch)",
    "surveys": "every run's survey answers, one row per survey, tick asked and answer",
}


@dataclass(frozen=True, slots=True)
class StatisticsOutput:
    page: Path
    plots: tuple[Path, ...]
    tables: tuple[exports.TableFiles, ...]
    variants: tuple[Variant, ...]


def measure_frame(runs: Sequence[GroupedRun]) -> pd.DataFrame:
    """Every run's measures per committed tick, long: variant, seed, database (URL, password
    masked), run_id, tick, measure, value; MEASURES, then `opinion_variance:<topic>` and
    `opinion_bimodality:<topic>` for every topic an agent holds an opinion on."""
    frames = [_run_measures(run) for run in runs]
    if not frames:
        return pd.DataFrame(columns=LONG_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def survey_frame(runs: Sequence[GroupedRun]) -> pd.DataFrame:
    """Every run's survey answers (analysis.surveys), long: variant, seed, database, run_id, then
    survey, tick, answer, agents, share."""
    frames = []
    for run in runs:
        frame = survey_distribution(run.db_url, run.run_id)
        for position, (name, value) in enumerate((("variant", run.variant), ("seed", run.seed),
                                                  ("database", run.url), ("run_id", run.run_id))):
            frame.insert(position, name, value)
        frames.append(frame)
    columns = ["variant", "seed", "database", "run_id", *SURVEY_COLUMNS]
    return pd.concat(frames, ignore_index=True).loc[:, columns] if frames else pd.DataFrame(columns=columns)


def write_statistics_comparison(runs: Sequence[ComparedRun], out_dir: Path,
                                see_also: Sequence[tuple[str, str]] = ()) -> StatisticsOutput:
    """The statistics over seeds of `runs` in `out_dir` (created if need be); the first variant is
    the reference of the differences. A run's `variant` and `seed` are taken as given where not
    None. `see_also`: (href, text) links under the page's title."""
    variants = group(runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    reference = variants[0].name
    long = measure_frame([run for variant in variants for run in variant.runs])
    over = statistics.over_seeds(long)
    frames = {"measures": long, "over_seeds": over, "final_values": statistics.final_values(long),
              "differences": statistics.differences(long, reference),
              "surveys": survey_frame([run for variant in variants for run in variant.runs])}
    tables = [table for name, frame in frames.items()
              for table in exports.write_frames({name: frame}, out_dir / MEASURES_DIR,
                                                KEPT[name].format(reference=reference))]
    plotted, omitted = _plotted_measures(long)
    images = _draw(over, plotted, [variant.name for variant in variants])
    links = [html.ExportLink(table.name, table.rows, (relative(table.csv, out_dir), relative(table.parquet, out_dir)),
                             table.kept) for table in tables]
    count = sum(len(variant.runs) for variant in variants)
    title = f"ysim compare: {len(variants)} variant{'s' if len(variants) != 1 else ''}, {count} run{'s' * (count != 1)}"
    text = render_statistics_page(title, variants, frames["final_values"], frames["differences"], images, links,
                                  omitted, see_also)
    page = out_dir / PAGE
    page.write_text(text, encoding="utf-8")
    return StatisticsOutput(page, write_plots(out_dir, images), tuple(tables), tuple(variants))


def _run_measures(run: GroupedRun) -> pd.DataFrame:
    outcome = measures(run.db_url, run.run_id)
    per_tick = outcome.ticks.melt(id_vars="tick", value_vars=list(MEASURES), var_name="measure", value_name="value")
    polarization = outcome.polarization.sort_values(["topic", "tick"], kind="stable")
    per_topic = [pd.DataFrame({"tick": polarization["tick"], "measure": f"{prefix}:" + polarization["topic"],
                               "value": polarization[column]})
                 for column, prefix in TOPIC_MEASURES]
    frame = pd.concat([per_tick, *per_topic], ignore_index=True).astype({"tick": "int64", "value": float})
    frame.insert(0, "variant", run.variant)
    frame.insert(1, "seed", run.seed)
    frame.insert(2, "database", run.url)
    frame.insert(3, "run_id", run.run_id)
    return frame.loc[:, LONG_COLUMNS]


def _plotted_measures(long: pd.DataFrame) -> tuple[list[str], str]:
    """MEASURES, then the topic measures of the MAX_OPINION_TOPICS topics with most values (ties by
    name); and, where topics are left out, a sentence saying so."""
    held = long[long["measure"].str.startswith(f"{TOPIC_MEASURES[0][1]}:") & long["value"].notna()]
    counts = held.groupby("measure").size()
    topics = sorted((name.split(":", 1)[1] for name in counts.index),
                    key=lambda topic: (-counts[f"{TOPIC_MEASURES[0][1]}:{topic}"], topic))
    shown = topics[:MAX_OPINION_TOPICS]
    omitted = (f"Opinion figures of {len(shown)} of {len(topics)} topics (those with most values); every topic's "
               f"numbers are in measures/.") if len(topics) > len(shown) else ""
    return [*MEASURES, *(f"{prefix}:{topic}" for topic in shown for _, prefix in TOPIC_MEASURES)], omitted


def _draw(over: pd.DataFrame, names: list[str], variants: list[str]) -> list[html.PlotImage]:
    images, used = [], set()
    # Variant names and topics are the user's text: a '$' in them must not start mathtext.
    with rc_context({"text.parse_math": False}):
        for measure in names:
            kind, _, topic = measure.partition(":")
            title, description = (text.format(topic=topic) for text in TITLES[kind])
            figure = measure_over_seeds(over, measure, variants, title)
            images.append(html.PlotImage(_file_name(measure, used), title,
                                         f"{description} Per variant, the mean over its runs after each tick, in "
                                         f"its 95 % interval (shaded).", render_png(figure)))
    return images


def _file_name(measure: str, used: set[str]) -> str:
    """`measure-<name>`, with characters other than letters, digits, _ and - as -, unique."""
    base = "measure-" + re.sub(r"[^A-Za-z0-9_-]+", "-", measure)
    name, number = base, 2
    while name in used:
        name, number = f"{base}-{number}", number + 1
    used.add(name)
    return name
