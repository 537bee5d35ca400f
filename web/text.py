"""Agent text as HTML: escaped, with its hashtags and mentions made links.

Agent text is LLM output and untrusted: every piece of it is escaped (markupsafe), and only the
links built here are markup; a link's target is built from the escaped tag or name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from markupsafe import Markup, escape

_TAGGED = re.compile(r"([#@])(\w+)")


def linked(text: str, href: Callable[..., str]) -> Markup:
    """`text` escaped, each #hashtag a link to its page and each @name a search for the name;
    `href(path, **params)` makes a link in the page's view (web.app.View.href)."""
    parts, last = [], 0
    for match in _TAGGED.finditer(text):
        parts.append(escape(text[last:match.start()]))
        mark, word = match.groups()
        target = href(f"/hashtags/{quote(word)}") if mark == "#" else href("/search", q=word)
        parts.append(Markup('<a class="{}" href="{}">{}{}</a>').format(
            "hashtag" if mark == "#" else "mention", target, mark, word))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


__all__ = ["linked"]
