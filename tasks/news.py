"""News feeds: a page's RSS/Atom feed parsed with `feedparser`, and the article it posts this hour.

Feeds are read from local files (or `file://` URLs): ysim's machines reach no news sites, and a
saved feed keeps a run reproducible. Each worker process parses a feed once per file version
(path and modification time) and keeps its articles.
"""

from __future__ import annotations

import os
import random
import re
from functools import lru_cache
from urllib.parse import urlparse

import feedparser

from agent_models import AgentData
from agent_models.intents import ArticleRef


class FeedUnavailableError(RuntimeError):
    """A page's feed cannot be read or holds no entries."""


def pick_article(page: AgentData, rng: random.Random) -> ArticleRef | None:
    """A random article of the page's feed (Y Social's PageAgent); None when the feed has no entry.

    Raises FeedUnavailableError when the page has no feed or it cannot be read.
    """
    feed_url = getattr(page, "feed_url", None)
    if not feed_url:
        raise FeedUnavailableError(f"feed_url: page {page.name!r} has none, so it has no news to post")
    articles = feed_articles(feed_url, page.name, page.leaning, _category(page))
    return rng.choice(articles) if articles else None


def feed_articles(feed_url: str, website: str, leaning: str | None = None,
                  category: str | None = None) -> tuple[ArticleRef, ...]:
    """The articles of the feed at `feed_url` (a local path or file:// URL), in feed order."""
    path = urlparse(feed_url).path if feed_url.startswith("file://") else feed_url
    if is_remote(feed_url):
        raise FeedUnavailableError(f"feed_url: {feed_url!r} is remote; ysim reads feeds from local files "
                                   "(save the feed and point feed_url at the file)")
    try:
        version = os.stat(path).st_mtime_ns
    except OSError as error:
        raise FeedUnavailableError(f"feed_url: cannot read {path}: {error.strerror}") from None
    return _parse(path, version, website, leaning, category)


def is_remote(feed_url: str) -> bool:
    return urlparse(feed_url).scheme in ("http", "https")


@lru_cache(maxsize=256)
def _parse(path: str, version: int, website: str, leaning: str | None, category: str | None) -> tuple[ArticleRef, ...]:
    parsed = feedparser.parse(path)
    if parsed.get("bozo") and not parsed.entries:
        raise FeedUnavailableError(f"feed_url: {path} is not an RSS or Atom feed ({parsed.get('bozo_exception')})")
    language = parsed.feed.get("language")
    return tuple(ArticleRef(title=entry.get("title", "").strip(), summary=_plain(entry.get("summary", "")),
                            link=entry.get("link") or f"{path}#{index}", website=website, rss=path,
                            leaning=leaning, category=category, language=language)
                 for index, entry in enumerate(parsed.entries) if entry.get("title"))


def _plain(summary: str) -> str:
    """Feed summaries often carry HTML; the prompt wants text."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", summary)).strip()


def _category(page: AgentData) -> str | None:
    return page.interests[0] if page.interests else None
