"""The platform's state in SQL: models, engines, queries, recommenders and the tick writer.

Sessions belong to the caller (`with session_factory(url).begin() as session:`); nothing here
commits. Imports only `agent_models` of ysim, never tasks, flows, Prefect or Ray.
"""

from db.engine import DatabaseURLError, create_schema, display_url, dispose_engines, get_engine, normalize_url, session_factory, sqlite_path
from db.recommenders import CONTENT_RECOMMENDERS, FOLLOW_RECOMMENDERS, FeedContext
from db.writer import ServedFeed, TickWrite, write_results, write_tick

__all__ = [
    "CONTENT_RECOMMENDERS", "DatabaseURLError", "FOLLOW_RECOMMENDERS", "FeedContext", "ServedFeed",
    "TickWrite", "create_schema", "display_url", "dispose_engines", "get_engine", "normalize_url", "session_factory",
    "sqlite_path", "write_results", "write_tick",
]
