"""News pages from Y Social's feed list (`rss_feeds.json`): one page agent per feed.

Each entry has `name`, `feed_url`, `url_site`, `leaning` and `category`, as in Y Social's
file. A `feed_url` that is not an http(s) address is a local RSS/Atom file, relative to the
list (ysim reads feeds offline; `tasks.news` parses them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from agent_models.agent_data import FakePageAgentData, PageAgentData

REQUIRED_KEYS = ("name", "feed_url")


class NewsFeedError(ValueError):
    """A feed list ysim cannot use: names the file, the entry and what is wrong."""


def load_news_pages(path: str | Path, shared: dict[str, Any] | None = None,
                    rule_based: bool = False) -> list[PageAgentData]:
    """The page agents of the feed list at `path`, in file order.

    `shared` holds the per-agent settings every page starts with (recommenders, model, ...).
    """
    path = Path(path)
    try:
        entries = json.loads(path.read_text())
    except OSError as error:
        raise NewsFeedError(f"news_feeds: cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise NewsFeedError(f"news_feeds: {path} is not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(entries, list):
        raise NewsFeedError(f"news_feeds: {path} must hold a JSON list of feeds, got {type(entries).__name__}")
    cls = FakePageAgentData if rule_based else PageAgentData
    shared = {k: v for k, v in (shared or {}).items() if k not in ("emotions", "annotate_emotions")}
    pages, names = [], set()
    for index, entry in enumerate(entries):
        missing = [k for k in REQUIRED_KEYS if not isinstance(entry, dict) or not entry.get(k)]
        if missing:
            raise NewsFeedError(f"news_feeds: {path} entry {index}: missing {', '.join(missing)} "
                                f"(each feed needs {', '.join(REQUIRED_KEYS)})")
        name = entry["name"]
        if name in names:
            raise NewsFeedError(f"news_feeds: {path} entry {index}: feed name {name!r} appears twice")
        names.add(name)
        pages.append(cls(name=name, email=f"{_slug(name)}@news.ysim.example", leaning=entry.get("leaning"),
                         interests=[entry["category"]] if entry.get("category") else [],
                         language=entry.get("language"), nationality=entry.get("country"),
                         feed_url=_resolve(entry["feed_url"], path.parent), **shared))
    return pages


def _resolve(feed_url: str, base: Path) -> str:
    if urlparse(feed_url).scheme in ("http", "https", "file"):
        return feed_url
    return str((base / feed_url).resolve())


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "page"
