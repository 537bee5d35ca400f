"""Issue 22, item 2: the same seed and the same LLM answers give the same database as before the
change to how a tick runs its agent functions.

The fixture, tests/fixtures/equality_before_64b04d1.json.gz, is the whole database of the fixed
run of tests/equality_run.py (tests/fixtures/equality_run.yaml and tests/fixtures/equality/: one
simulated day of 30 agents, LLM and rule-based, two news pages, opinion dynamics evaluated by the
LLM, daily follows, churn and new agents) as the code of commit 64b04d1, the last commit before
that change, wrote it on SQLite against the stub LLM: every table, every column but the
wall-clock ones of tests/table_dumps.py, ids included. It was made with

    git worktree add /tmp/before-64b04d1 64b04d1
    .venv/bin/python tests/fixtures/make_equality_fixture.py /tmp/before-64b04d1

which runs this checkout's run with the worktree's code (a child process with the worktree first
on PYTHONPATH, Ray's workers included), and a second run at 64b04d1 gave the same dump
(`--compare tests/fixtures/equality_before_64b04d1.json.gz`). Regenerate it the same way, from a
checkout of the commit before the change, and only when the run itself (the YAML, the inputs)
changes: made with the changed code, it would compare that code with itself. A new default that
the stored configuration shows can be pinned to its old value in the YAML instead.

Here the current code runs the same configuration on SQLite (one simulated day takes minutes on
the CI machine; PostgreSQL writes through the same tick code, and the retry, replay and same-seed
tests run there), and its database must equal the fixture table by table; a failure names each differing table with its row counts
and first differing rows, column by column. Tables and columns the fixture lacks (new schema)
are not compared but named in a warning.
"""

from __future__ import annotations

import copy
import warnings
from collections import Counter

import pytest

from tests import equality_run

# What the fixed run writes through: if a regenerated fixture lost one of these, the comparison
# would silently stop covering that path.
WRITTEN_TABLES = ("agents", "posts", "reactions", "follows", "actions", "votes", "mentions", "post_emotions",
                  "post_hashtags", "post_topics", "agent_opinions", "agent_interests", "recommendations", "websites",
                  "articles", "llm_calls", "llm_cache", "ticks")
LLM_FUNCTIONS = {"select_action_llm", "post_content", "comment_on_post", "share_post", "reaction_to_post",
                 "evaluate_follow", "emotion_annotation", "cast_vote", "update_opinions", "news_post",
                 "news_post_topics"}


@pytest.fixture(scope="module")
def fixture() -> dict:
    return equality_run.load(equality_run.FIXTURE)


def test_the_current_code_writes_the_database_the_commit_before_the_change_wrote(ray_session, llm_stub, sqlite_url,
                                                                                  fixture):
    db_url = sqlite_url
    llm_stub.state.script = list(equality_run.SCRIPT)
    summary = equality_run.run(db_url, llm_stub.url)
    current = equality_run.normalized_dump(db_url, llm_stub.url)

    assert summary["ticks_committed"] == 24 and summary["llm_errors"] == 0
    new = equality_run.additions(fixture, current)
    if new:
        warnings.warn(f"not compared (the fixture's commit has no such schema): {', '.join(new)}", stacklevel=1)
    found = equality_run.differences(fixture, current)
    assert not found, (f"the fixed run's database differs from the one commit {fixture['commit'][:7]} wrote "
                       f"({len(found)} tables):\n" + "\n\n".join(found))


def test_the_fixture_covers_the_write_paths(fixture):
    assert fixture["commit"].startswith("64b04d1") and not fixture["uncommitted_changes"]
    counts = equality_run.row_counts(fixture)
    assert [t for t in WRITTEN_TABLES if not counts[t]] == []

    def column(table: str, name: str) -> list:
        at = fixture["columns"][table].index(name)
        return [row[at] for row in fixture["tables"][table]]

    assert set(column("llm_calls", "function")) == LLM_FUNCTIONS
    done = zip(column("actions", "action"), column("actions", "status"), strict=True)
    actions = Counter(a for a, s in done if s == "done")
    assert {"POST", "COMMENT", "REPLY", "READ", "FOLLOW", "SEARCH", "SHARE", "CAST", "NEWS"} <= set(actions)
    assert set(column("reactions", "kind")) == {"like", "dislike"}
    assert set(column("follows", "action")) == {"follow", "unfollow"}
    assert 23 in column("follows", "tick")  # the end of the day's follow rounds
    assert 24 in column("agents", "joined_on") and 24 in column("agents", "left_on")  # new agents, churn
    assert {"AgentData", "FakeAgentData", "PageAgentData"} == set(column("agents", "agent_class"))
    assert any(t > 0 for t in column("agent_opinions", "tick"))  # opinions moved after the start
    assert len(set(column("actions", "round_index"))) > 1  # several rounds an hour


def test_a_difference_is_named_by_table_row_and_column(fixture):
    changed = copy.deepcopy(fixture)
    posts, votes = changed["tables"]["posts"], changed["tables"]["votes"]
    posts[5][changed["columns"]["posts"].index("text")] = "not what was written"
    del votes[-1]
    changed["columns"]["ticks"].append("new_column")
    for row in changed["tables"]["ticks"]:
        row.append(0)
    stored = changed["tables"]["runs"][0][changed["columns"]["runs"].index("config")]
    stored["llm"]["new_knob"] = 1  # a new configuration field: not a difference

    found = equality_run.differences(fixture, changed)

    assert len(found) == 2
    assert found[0].startswith(f"posts: {len(posts)} rows in the fixture, {len(posts)} now\n"
                               f"  row 5 (key {posts[5][0]}): text: fixture ")
    assert found[0].endswith("!= now 'not what was written'")
    assert found[1].startswith(f"votes: {len(votes) + 1} rows in the fixture, {len(votes)} now\n"
                               f"  row {len(votes)}: only in the fixture: ")
    assert equality_run.additions(fixture, changed) == ["column ticks.new_column"]
    assert equality_run.differences(fixture, copy.deepcopy(fixture)) == []

    stored["llm"]["temperature"] = 0.5  # a changed value of a field the fixture has: a difference
    found = equality_run.differences(fixture, changed)
    assert len(found) == 3
    assert any(f.startswith("runs: 1 rows in the fixture, 1 now\n  row 0 (key 1): config: fixture ") for f in found)
