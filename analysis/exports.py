"""A report's data files: every table as CSV and Parquet, and the follow graph as GraphML.

Tables are streamed (`db.table_export`): each chunk of rows becomes an Arrow record batch
written to both files, so a table never has to fit in memory. Both files of a table share one
Arrow schema taken from the column types (integers stay integers when a chunk has NULLs, JSON
is its text, times are UTC). The follow graph is built with networkx, which holds it in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from agent_models import HUMAN_CLASS
from db import report_queries
from db.table_export import ExportTable, Kind, export_tables, table_chunks
from analysis.data import reading

EXPORT_CHUNK_ROWS = 20_000  # rows per read and per Parquet row group: memory grows with it (docs/reports.md)
TABLES_DIR = "tables"
GRAPH_FILE = "follow_graph.graphml"

_ARROW_TYPES: dict[Kind, pa.DataType] = {
    "integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),  # ysim stores UTC; SQLite hands it back without a zone
    "json": pa.string(), "text": pa.string(),
}


@dataclass(frozen=True, slots=True)
class TableFiles:
    name: str
    rows: int
    csv: Path
    parquet: Path
    kept: str  # which rows it holds, in words, for the page (`_kept_rows`)


@dataclass(frozen=True, slots=True)
class GraphFile:
    path: Path
    nodes: int
    edges: int


def arrow_schema(table: ExportTable) -> pa.Schema:
    return pa.schema([pa.field(column.name, _ARROW_TYPES[column.kind]) for column in table.columns])


def write_tables(db_url: str, run_id: int | None, out_dir: Path,
                 chunk_rows: int = EXPORT_CHUNK_ROWS) -> list[TableFiles]:
    """`out_dir/tables/<name>.csv` and `.parquet` for every table of the database; only run
    `run_id`'s rows where a table belongs to runs and `run_id` is given."""
    folder = out_dir / TABLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with reading(db_url) as session:
        return [_write_table(session, table, run_id, folder, chunk_rows) for table in export_tables(session)]


def _write_table(session, table: ExportTable, run_id: int | None, folder: Path, chunk_rows: int) -> TableFiles:
    schema = arrow_schema(table)
    csv_path, parquet_path = folder / f"{table.name}.csv", folder / f"{table.name}.parquet"
    rows = 0
    with pa_csv.CSVWriter(csv_path, schema) as csv_writer, pq.ParquetWriter(parquet_path, schema) as parquet_writer:
        for chunk in table_chunks(session, table, run_id, chunk_rows):
            batch = pa.RecordBatch.from_arrays(
                [pa.array(values, type=field.type) for values, field in zip(zip(*chunk, strict=True), schema,
                                                                             strict=True)], schema=schema)
            csv_writer.write_batch(batch)
            parquet_writer.write_batch(batch)
            rows += batch.num_rows
    return TableFiles(table.name, rows, csv_path, parquet_path, _kept_rows(table.run_scope, run_id))


def _kept_rows(run_scope: str, run_id: int | None) -> str:
    """Which rows an exported table holds, for the page: a reader of `posts.csv` next to
    `emotions.csv` must see that one is the run's and the other the whole database's."""
    if run_id is None:
        return "every run's"
    if run_scope == "shared":
        return "all: shared by the runs"
    if run_scope.startswith("via "):
        return f"run {run_id}'s, {run_scope}"
    return f"run {run_id}'s"


def write_frames(frames: dict[str, pd.DataFrame], folder: Path, kept: str) -> list[TableFiles]:
    """Each frame as `folder/<name>.csv` and `.parquet` (the outcome measures, per tick)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
        pa_csv.write_csv(table, csv_path)
        pq.write_table(table, parquet_path)
        written.append(TableFiles(name, len(frame), csv_path, parquet_path, kept))
    return written


def write_follow_graph(db_url: str, run_id: int, out_dir: Path) -> GraphFile:
    """`out_dir/follow_graph.graphml`: the run's agents as nodes, its current follows as edges
    (follower -> followee, with the tick of the follow).

    Node attributes: `label` (the agent's name, which Gephi shows), `agent_class`, `rule_based`,
    `human` (a person who joined from ysim web), `is_page`, `leaning`, `age`, `gender`, `archetype`, `toxicity`, the two recommenders,
    `joined_on` and `left_on`; an attribute the agent lacks is left out (GraphML has no null).
    """
    graph = nx.DiGraph()
    with reading(db_url) as session:
        for agent in report_queries.agent_attributes(session, run_id):
            graph.add_node(agent.pop("agent_id"), **_node_attributes(agent))
        for follower, followee, tick in report_queries.current_follow_edges(session, run_id):
            graph.add_edge(follower, followee, tick=tick)
    path = out_dir / GRAPH_FILE
    nx.write_graphml(graph, path)
    return GraphFile(path, graph.number_of_nodes(), graph.number_of_edges())


def _node_attributes(agent: dict[str, object]) -> dict[str, object]:
    attributes = {"label": agent.pop("name"), "rule_based": str(agent["agent_class"]).startswith("Fake"),
                  "human": agent["agent_class"] == HUMAN_CLASS,
                  "is_page": bool(agent.pop("is_page")),
                  "content_rec_sys": agent.pop("content_rec_sys_name"),
                  "follow_rec_sys": agent.pop("follow_rec_sys_name")}
    attributes.update(agent)
    return {key: value for key, value in attributes.items() if value is not None}
