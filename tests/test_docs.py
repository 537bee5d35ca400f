"""The docs say what the code does: quoted messages exist, links lead somewhere.

- docs/troubleshooting.md quotes ysim's messages in ```text blocks and Ray's and Prefect's in
  ```console blocks, with `<...>` where a value goes. Each line's literal fragments must be in
  ysim's sources (text) or in the installed ray and prefect packages (console).
- Every relative link of docs/*.md and README.md names a file that exists, and an anchor that
  one of its headings makes.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
PACKAGES = ("flows", "analysis", "tasks", "db", "agent_models")

# What a quoted line may start with that the source does not spell out: the CLI's `error: ` and
# `warning: ` prefixes, or the exception class of a traceback's last line.
_PREFIX = re.compile(r"^(error|warning|[\w.]*(Error|Exception)): ")
_VALUE = re.compile(r"<[^>]*>|'[^']*'")
MIN_FRAGMENT = 6


def _blocks(page: Path, language: str) -> list[str]:
    lines = []
    for block in re.findall(rf"^ *```{language}\n(.*?)^ *```", page.read_text(), re.S | re.M):
        lines += [line.strip() for line in block.splitlines() if line.strip()]
    return lines


def _joined(text: str) -> str:
    """Source text with implicitly concatenated string literals across lines joined."""
    return re.sub(r"""["']\s*\n\s*[rbfuRBFU]*["']""", "", text)


@cache
def _ysim_sources() -> str:
    return "\n".join(_joined(p.read_text()) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py")))


@cache
def _third_party_sources() -> bytes:
    parts = []
    for name in ("ray", "prefect"):
        location = Path(importlib.util.find_spec(name).origin).parent
        parts += [_joined(p.read_text(errors="replace")).encode() for p in location.rglob("*.py")]
    parts.append((Path(importlib.util.find_spec("ray").origin).parent / "core/src/ray/raylet/raylet").read_bytes())
    return b"\n".join(parts)


def _fragments(line: str) -> list[str]:
    pieces = _VALUE.split(_PREFIX.sub("", line))
    return [f for f in (p.strip(" ()[].,;:") for p in pieces) if len(f) >= MIN_FRAGMENT]


def _found(fragment: str, haystack: str | bytes) -> bool:
    """In the sources: whole, or (ysim's) as one literal's end followed by another's start after a
    placeholder, for a message that one module ends and another extends (`f"{exc} (committed ...)"`)."""
    if isinstance(haystack, bytes):
        return fragment.encode() in haystack
    if fragment in haystack:
        return True
    return any(fragment[:i] + '"' in haystack and "}" + fragment[i:] in haystack for i in range(1, len(fragment)))


def test_troubleshooting_quotes_ysims_own_messages():
    page = DOCS / "troubleshooting.md"
    lines = _blocks(page, "text")
    assert len(lines) >= 15
    assert 'print(f"error: {exc}", file=sys.stderr)' in (ROOT / "flows" / "cli.py").read_text()  # the prefix
    for line in lines:
        fragments = _fragments(line)
        assert fragments, f"{line!r}: no fragment long enough to look for"
        missing = [f for f in fragments if not _found(f, _ysim_sources())]
        assert not missing, f"troubleshooting.md quotes {line!r}, but {missing} is in no ysim source"


def test_troubleshooting_quotes_ray_and_prefect_as_they_are():
    lines = _blocks(DOCS / "troubleshooting.md", "console")
    assert len(lines) >= 3
    for line in lines:
        fragments = _fragments(line)
        assert fragments, f"{line!r}: no fragment long enough to look for"
        missing = [f for f in fragments if not _found(f, _third_party_sources())]
        assert not missing, f"troubleshooting.md quotes {line!r}, but {missing} is in neither Ray nor Prefect"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)  # no headings inside code
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name if p.parent == DOCS else "README")
def test_links_lead_to_files_and_headings_that_exist(page):
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: link {target!r}: no such file"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{page.name}: link {target!r}: no such heading in {resolved.name}"
