"""The platform's state in SQL: models, migrations, engines, queries, recommenders and the tick writer.

Sessions belong to the caller (`with session_factory(url).begin() as session:`); nothing here
commits. Imports only `agent_models` of ysim, never tasks, flows, Prefect or Ray.
"""

from db.engine import (
    DatabaseURLError, absolute_url, display_url, dispose_engines, get_engine, normalize_url, session_factory, sqlite_path,
)
from db.migrate import create_schema, current_revision, head_revision, upgrade
from db.recommenders import CONTENT_RECOMMENDERS, FOLLOW_RECOMMENDERS, FeedContext
from db.writer import ServedFeed, TickWrite, write_results, write_tick

__all__ = [
    "CONTENT_RECOMMENDERS", "DatabaseURLError", "FOLLOW_RECOMMENDERS", "FeedContext", "ServedFeed", "TickWrite",
    "absolute_url", "create_schema", "current_revision", "display_url", "dispose_engines", "get_engine", "head_revision",
    "normalize_url", "session_factory", "sqlite_path", "upgrade", "write_results", "write_tick",
]
