"""`ysim report` and `ysim compare` end to end: gather, draw, export, write the page.

The command line resolves the runs first (`data.resolve_run`) and checks the output folder
(`prepare_out_dir`), so a user error leaves nothing behind; these functions then write
`DIR/index.html`, `DIR/plots/<name>.png` and, for a report, `DIR/tables/` and the follow graph.
The statistics of a comparison over seeds are `comparison`'s.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from matplotlib import rc_context

from analysis import configs, exports, html
from analysis.data import RunReport, default_label, gather
from analysis.measures import measures
from analysis.plots import PLOTS, render_png

PAGE = "index.html"
PLOTS_DIR = "plots"
MEASURES_DIR = "measures"


class OutputDirError(OSError):
    """The output folder cannot be created or written."""


@dataclass(frozen=True, slots=True)
class ReportOutput:
    page: Path
    plots: tuple[Path, ...]
    tables: tuple[exports.TableFiles, ...] = ()
    graph: exports.GraphFile | None = None
    measures: tuple[exports.TableFiles, ...] = ()  # the outcome measures (analysis.measures), per tick


def prepare_out_dir(path: Path) -> Path:
    """Create `path` (and its parents) and check a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise OutputDirError(f"{path} cannot be written: {exc.strerror or exc}") from None
    return path


def write_report(db_url: str, run_id: int, out_dir: Path, export_run: int | None) -> ReportOutput:
    """One run's report in `out_dir`. Tables are exported for run `export_run` only where it is
    given (`--run`), else whole."""
    run = gather(db_url, run_id)
    tables = exports.write_tables(db_url, export_run, out_dir)
    graph = exports.write_follow_graph(db_url, run_id, out_dir)
    outcome = measures(db_url, run_id)
    measured = exports.write_frames({"measures": outcome.ticks, "polarization": outcome.polarization},
                                    out_dir / MEASURES_DIR, f"run {run_id}, one row per committed tick")
    images = _draw([run])
    links = [html.ExportLink(f"table {t.name}", t.rows, (relative(t.csv, out_dir), relative(t.parquet, out_dir)),
                             t.kept) for t in tables]
    links += [html.ExportLink(f"outcome {t.name}", t.rows, (relative(t.csv, out_dir), relative(t.parquet, out_dir)),
                              t.kept) for t in measured]
    answered = exports.write_frames({"surveys": run.surveys}, out_dir / MEASURES_DIR,
                                    f"run {run_id}, one row per survey, tick asked and answer")
    links += [html.ExportLink("survey answers", t.rows, (relative(t.csv, out_dir), relative(t.parquet, out_dir)),
                              t.kept) for t in answered]
    links.append(html.ExportLink(f"follow graph ({graph.nodes:,} agents, {graph.edges:,} follows)", None,
                                 (relative(graph.path, out_dir),), f"run {run_id}'s current follows"))
    page = _write_page(out_dir, html.render_page(f"ysim run {run.run_id}: {run.label}", [run], images,
                                                 exports=links))
    return ReportOutput(page, write_plots(out_dir, images), tuple(tables), graph, tuple(measured + answered))


@dataclass(frozen=True, slots=True)
class RunChoice:
    """One side of a comparison: a database, its run, and the label given for it (None: automatic)."""

    db_url: str
    run_id: int
    label: str | None = None


def write_comparison(first: RunChoice, second: RunChoice, out_dir: Path,
                     see_also: Sequence[tuple[str, str]] = ()) -> ReportOutput:
    """Two runs side by side in `out_dir`: plots with one column per run, both headline tables,
    and the configuration keys they differ in; `see_also` (href, text) links under the title."""
    gathered = [gather(choice.db_url, choice.run_id) for choice in (first, second)]
    diff = configs.differences(gathered[0].config, gathered[1].config)
    automatic = configs.labels((default_label(first.db_url), default_label(second.db_url)), diff)
    runs = [replace(run, label=choice.label or label)
            for run, choice, label in zip(gathered, (first, second), automatic, strict=True)]
    images = _draw(runs)
    page = _write_page(out_dir, html.render_page(f"ysim: {runs[0].label} vs {runs[1].label}", runs, images,
                                                 differences=diff, see_also=see_also))
    return ReportOutput(page, write_plots(out_dir, images))


def _draw(runs: list[RunReport]) -> list[html.PlotImage]:
    # Labels, topics and hashtags are the user's text: a '$' in them must not start mathtext
    # (an unbalanced or unknown TeX command would end the report with a traceback).
    with rc_context({"text.parse_math": False}):
        return [html.PlotImage(plot.name, plot.title, plot.description, render_png(plot.draw(runs)))
                for plot in PLOTS]


def write_plots(out_dir: Path, images: list[html.PlotImage]) -> tuple[Path, ...]:
    """Each image as `out_dir/plots/<name>.png` (the report's, a comparison's and the statistics page's)."""
    folder = out_dir / PLOTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in images:
        path = folder / f"{image.name}.png"
        path.write_bytes(image.png)
        paths.append(path)
    return tuple(paths)


def _write_page(out_dir: Path, text: str) -> Path:
    path = out_dir / PAGE
    path.write_text(text, encoding="utf-8")
    return path


def relative(path: Path, root: Path) -> str:
    """`path` as a page in `root` links to it."""
    return path.relative_to(root).as_posix()
