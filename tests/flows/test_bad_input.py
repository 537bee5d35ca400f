"""Bad input, property-tested: run configurations, population files, prompt files and follow-graph
CSVs, mostly near-valid (a valid file with values replaced, garbled, removed or retyped) and some
garbage (truncated text, random bytes, other encodings, control characters, huge numbers, NaN).

This module owns the promise for those four inputs: each file either loads into something valid,
or raises its loader's error in one line that names the field (or the line) and the problem; and
`ysim run` given a file that fails prints that line alone, exits 1 without a traceback, and leaves
the database byte for byte as it was (it is never opened: input is checked first).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from agent_models import AGENT_CLASSES, AgentData, FollowGraphError, PopulationError, RunConfig, agent_from_dict
from agent_models import generate_population, load_follow_graph, load_population, save_population
from agent_models.agent_data import SEED_NAMES
from agent_models.agent_factory import FIELD_ALIASES
from agent_models.population_file import agent_to_entry
from agent_models.prompts import PROMPTS, UNUSED_YSOCIAL_PROMPTS, prompt_set
from flows import config_loader
from tasks.run_state import UnknownRecommenderError, check_recommenders, storable_config
from tests.agent_models.test_agent_data import sample
from tests.flows.test_cli import ysim
from tests.ysocial_files import CLASSIC_CONFIG, POPULATION, WEB_CLIENT_CONFIG
from tests.ysocial_files import PROMPTS as YSOCIAL_PROMPTS

EXAMPLES = 500
UNREACHABLE_LLM = "http://127.0.0.1:9/v1"  # a wrongly accepted file stops at the LLM check, before a run
GRAPH_AGENTS = 6  # the follow graphs' population (`ysim run --agents 6`)
SQL_INTEGER = range(-2**31, 2**31)  # the run row's seed and length columns (INTEGER is 32-bit on PostgreSQL)

PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --- Values: near-valid ones, and ones that break careless parsers ------------------------------------

NASTY_TEXT = ["", " ", "\n", "a\nb", "\r\n", "\t", "\x00", "\x1b[31m", "\u2028", "\x85", "[/x]", "[bold]", "{", "}",
              "{{}}", "é", "💥", "\ud800", "nan", "1e999", "~", "'", '"', "\\", ",", "../x", ".", ":smile:"]
NASTY_NUMBERS = [0, -1, 1, 24, 2**31, 2**63, -(2**63) - 1, 10**30, 0.5, -0.0, 1.5, 1e308, float("nan"), float("inf"),
                 float("-inf")]
texts = st.sampled_from(NASTY_TEXT) | st.text(max_size=10)
numbers = st.sampled_from(NASTY_NUMBERS) | st.integers(-5, 50) | st.floats()
values = st.recursive(st.none() | st.booleans() | numbers | texts,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                      max_leaves=5)


def _containers(document: Any) -> Iterator[dict | list]:
    if isinstance(document, (dict, list)):
        yield document
        for child in (document.values() if isinstance(document, dict) else document):
            yield from _containers(child)


@st.composite
def garbled(draw, old: Any) -> Any:
    """`old` changed a little: text with something inserted, a number pushed off its range, a retype."""
    if isinstance(old, str):
        at = draw(st.integers(0, len(old)))
        return old[:at] + draw(texts) + old[at:]
    if isinstance(old, (int, float)) and not isinstance(old, bool):
        return draw(st.sampled_from([-old, old + 1, old - 1, str(old), old * 10**20, float(old)])
                    | st.sampled_from(NASTY_NUMBERS))
    return draw(st.sampled_from([None, "", [], {}, 0, [old], {"x": old}]))


@st.composite
def edited(draw, document: Any, keys: st.SearchStrategy, new_values: st.SearchStrategy, max_edits: int = 3) -> Any:
    """A deep copy of `document` with up to `max_edits` edits, each in a dict or list anywhere in it:
    a value replaced or garbled, an item removed or duplicated, a key added."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(0, max_edits))):
        container = draw(st.sampled_from(list(_containers(document))))
        if isinstance(container, dict):
            key = draw(st.sampled_from(list(container)) | keys) if container else draw(keys)
            present = key in container
        elif container:
            key, present = draw(st.integers(0, len(container) - 1)), True
        else:
            container.append(copy.deepcopy(draw(new_values)))
            continue
        action = draw(st.sampled_from(["garble", "garble", "replace", "remove", "duplicate"]))
        if action == "remove" and present:
            del container[key]
        elif action == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif action == "garble" and present:
            container[key] = copy.deepcopy(draw(garbled(container[key])))
        else:
            container[key] = copy.deepcopy(draw(new_values))  # later edits must not change a strategy's constant
    return document


@dataclass(frozen=True)
class File:
    name: str
    content: bytes


@st.composite
def encoded(draw, text: str) -> bytes:
    """`text` as UTF-8, mostly; else truncated, with a character inserted, in another encoding, or random bytes."""
    how = draw(st.sampled_from(["utf-8"] * 12 + ["truncated", "inserted", "utf-16", "latin-1", "bom", "bytes"]))
    if how == "truncated":
        text = text[:draw(st.integers(0, len(text)))]
    elif how == "inserted":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(NASTY_TEXT) | st.characters()) + text[at:]
    elif how == "utf-16":
        return text.encode("utf-16", "surrogatepass")
    elif how == "latin-1":
        return text.encode("latin-1", "replace")
    elif how == "bytes":
        return draw(st.binary(max_size=40))
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate stays: invalid UTF-8
    return b"\xef\xbb\xbf" + data if how == "bom" else data


def _json(draw, document: Any) -> str:
    return json.dumps(document, ensure_ascii=draw(st.booleans()))  # NaN and Infinity as Python writes them


# --- The four kinds of file ------------------------------------------------------------------------

CONFIG_BASES = [
    {},
    {"simulation": {"seed": 3, "ticks": 48, "hourly_activity": {h: 0.5 for h in range(24)},
                    "actions_likelihood": {"post": 0.5, "read": 0.5, "share": 0.1},
                    "activity_profiles": {"Evenings": "18,19,20"}},
     "agents": {"count": 5, "age": {"min": 20, "max": 30}, "archetypes": {"validator": 1.0}},
     "feeds": {"feed_size": 5}, "llm": {"model": "m", "temperature": 0.5}, "ray": {"batch_size": 4}},
    RunConfig().model_dump(mode="json"),
    json.loads(CLASSIC_CONFIG.read_text()),
    json.loads(WEB_CLIENT_CONFIG.read_text()),
]
CONFIG_FIELDS = ({name for section in RunConfig.model_fields.values()
                  for name in getattr(section.annotation, "model_fields", {})}
                 | set(RunConfig.model_fields) | {"servers", "posts", "days", "starting_agents", "population"})
CONFIG_KEYS = st.sampled_from(sorted(CONFIG_FIELDS)) | texts
# YAML that JSON cannot say: dates, binary, sets, complex keys, aliases, tags, several documents.
YAML_TEXTS = ["a: &x [*x]\n", "simulation: {name: 2020-01-01}\n", "simulation: {seed: !!binary aGk=}\n",
              "? [a, b]\n: 1\n", "agents: !!set {a, b}\n", "simulation: {seed: 0x10, ticks: 1_000}\n",
              "simulation: {ticks: .inf}\n", "llm: {temperature: .nan}\n", "prompts: prompts.json\n",
              'prompts: "\\0"\n', "simulation:\n  hourly_activity: {25: 0.1}\n",
              "!!python/object:os.system {}\n", "--- 1\n--- 2\n", 'agents: {population: "a\\0"}\n',
              "{a: [[[[[[[[[[[[]]]]]]]]]]]]}\n", "? |\n  a\n  b\n: 1\n"]


@st.composite
def config_files(draw) -> File:
    document = draw(edited(draw(st.sampled_from(CONFIG_BASES)), CONFIG_KEYS, values))
    suffix = draw(st.sampled_from([".yaml", ".json"]))
    if suffix == ".json":
        text = _json(draw, document)
    else:
        text = yaml.safe_dump(document, allow_unicode=draw(st.booleans()), sort_keys=False)
        how = draw(st.sampled_from(["as is"] * 6 + ["appended", "instead"]))  # of YAML that JSON cannot say
        if how != "as is":
            text = (text if how == "appended" else "") + draw(st.sampled_from(YAML_TEXTS))
    return File(f"run{suffix}", draw(encoded(text)))


POPULATION_BASES = [
    json.loads(POPULATION.read_text()),
    {"agents": [agent_to_entry(sample(cls)) | {"name": cls.__name__} for cls in AGENT_CLASSES.values()]},
    {"agents": []},
]
# The fields, and PR #21's names the loader accepts besides (`opinions_enabled`, ...).
AGENT_FIELDS = sorted({f for cls in AGENT_CLASSES.values() for f in cls.__dataclass_fields__} | SEED_NAMES)
POPULATION_KEYS = st.sampled_from(AGENT_FIELDS + sorted(FIELD_ALIASES) + ["agents", "is_page"]) | texts
POPULATION_VALUES = values | st.sampled_from(["AgentData", "PageAgentData", "FakeAgent", "ReverseChrono", "Nope",
                                              [["a"], 1], [["a"], 2], [["a", 1], 2], {"climate": 0.5}])


@st.composite
def population_files(draw) -> File:
    document = draw(edited(draw(st.sampled_from(POPULATION_BASES)), POPULATION_KEYS, POPULATION_VALUES))
    return File("population.json", draw(encoded(_json(draw, document))))


# Placeholders: allowed ones, unknown fields, slots and keys, expressions, stray braces, line breaks.
PROMPT_PIECES = ["{self.name}", "{self.nope}", "{interest}", "{', '.join(interest)}", "{article.title}",
                 "{article['x']}", "{interest['\n']}", "{x['a\rb']}", "{'a\nb'.join(interest)}", "{'\n'.join(x)}",
                 "{{", "}}", "{", "}", "{0}", "{__import__('os')}", "{post_text}", "{x.y.z}", "{self.name!r}",
                 "{[/x]}", "{\n}", "{a\u2028b}"]
templates = st.lists(st.sampled_from(PROMPT_PIECES) | texts, max_size=4).map("".join)
PROMPT_KEYS = st.sampled_from(sorted(PROMPTS)) | st.sampled_from(sorted(UNUSED_YSOCIAL_PROMPTS)) | texts
PROMPT_BASES = [json.loads(YSOCIAL_PROMPTS.read_text()), dict(PROMPTS), {}]


@st.composite
def prompt_files(draw) -> File:
    document = draw(edited(draw(st.sampled_from(PROMPT_BASES)), PROMPT_KEYS, templates | templates | values))
    return File("prompts.json", draw(encoded(_json(draw, document))))


CELLS = (st.sampled_from([" 1", "1 ", "-1", str(GRAPH_AGENTS), "99999999999999999999", "1.0", "1e3", "", "x", "0x1",
                          "+2", "١", "\x00", '"1"', "1,2", "\ufeff0", "follower", "#", "9" * 5000, "9" * 200_000])
         | texts | st.integers(-3, GRAPH_AGENTS + 2).map(str))
EDGES = st.tuples(st.integers(0, GRAPH_AGENTS - 1), st.integers(1, GRAPH_AGENTS - 1)).map(
    lambda pair: [str(pair[0]), str((pair[0] + pair[1]) % GRAPH_AGENTS)])  # never a self-loop


@st.composite
def follow_graph_files(draw) -> File:
    rows = draw(edited(draw(st.lists(EDGES, max_size=8)), st.nothing(), CELLS | st.lists(CELLS, max_size=3)))
    separator = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = separator.join(",".join(map(str, row)) if isinstance(row, list) else str(row) for row in rows)
    return File("graph.csv", draw(encoded(text + draw(st.sampled_from(["", separator])))))


# --- Loading, and what a loaded file must be --------------------------------------------------------

def load_run_config(path: Path, db_url: str) -> RunConfig:
    """What `ysim run --config PATH --db URL --llm-url ...` checks before anything else."""
    config = config_loader.build(config_loader.load_file(path), {"database.url": db_url, "llm.url": UNREACHABLE_LLM})
    check_recommenders(config)
    return config


def load_prompt_file(path: Path) -> RunConfig:
    """What `ysim run --prompts PATH` checks."""
    return config_loader.build({"prompts": config_loader.load_prompts(path)}, {})


def check_config(config: RunConfig) -> None:
    """The run stores its configuration as strict JSON in UTF-8 (PostgreSQL refuses NaN) and resumes with it;
    its seed and length fit their columns, and the agents it generates are valid agents."""
    stored = json.loads(json.dumps(storable_config(config), allow_nan=False, ensure_ascii=False).encode())
    assert RunConfig.model_validate(stored) == config.model_copy(update={"llm": config.llm.for_storage()})
    assert config.simulation.seed in SQL_INTEGER and config.simulation.ticks in SQL_INTEGER
    assert config.simulation.drawable_actions and config.simulation.profile_hours() is not None
    for agent in generate_population(config, 2, config.simulation.seed):
        assert agent_from_dict(agent.to_dict()) == agent
        assert all(value in SQL_INTEGER for value in (agent.age, agent.round_actions, agent.daily_activity_level))


def check_population(agents: list[AgentData], folder: Path) -> None:
    """Valid agents with unique names, no NUL in any text (PostgreSQL refuses it), and written out and read
    back unchanged."""
    assert all(isinstance(agent, AgentData) for agent in agents)
    assert len({agent.name for agent in agents}) == len(agents)
    assert not any("\x00" in text for agent in agents for text in _texts(agent.to_dict()))
    assert load_population(save_population(agents, folder / "again.json")) == agents


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple, dict)):
        for item in (value if not isinstance(value, dict) else [*value.keys(), *value.values()]):
            yield from _texts(item)


def check_follow_graph(edges: list[tuple[int, int]]) -> None:
    assert len(set(edges)) == len(edges)
    assert all(0 <= a < GRAPH_AGENTS and 0 <= b < GRAPH_AGENTS and a != b for a, b in edges)


def one_line(message: str) -> str:
    assert message.strip() and message.splitlines() == [message], f"not one line: {message!r}"
    return message


@dataclass
class Outcome:
    result: Any = None
    error: str | None = None  # the loader's message
    warned: tuple[str, ...] = ()


def outcome(load: Callable[[Path], Any], path: Path, errors: tuple[type[Exception], ...]) -> Outcome:
    """The loader's result or its error message; any other exception fails the example."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            found = Outcome(result=load(path))
        except errors as exc:
            found = Outcome(error=one_line(str(exc)))
    found.warned = tuple(one_line(str(w.message)) for w in caught)
    event("error" if found.error is not None else "loads")
    return found


def names(message: str, where: str, heads: set[str] | None = None) -> bool:
    """`message` is `where` (a dotted field path starting with one of `heads`), then `: problem`."""
    match = re.match(rf"(?P<where>{where}): (?P<problem>.*\S.*)$", message, re.DOTALL)
    return match is not None and (heads is None or match["where"].split(".")[0] in heads)


# --- The command line and the database it must leave alone ----------------------------------------

@dataclass(frozen=True)
class Database:
    url: str
    folder: Path
    files: dict[str, str]  # the SHA-256 of every file in the folder, as the fixture left them

    def unchanged(self) -> bool:
        return _digests(self.folder) == self.files


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Database:
    """A SQLite database holding a committed run; nothing in this module may change a byte of it."""
    from db import create_schema, dispose_engines, session_factory
    from db.queries import create_run

    folder = tmp_path_factory.mktemp("database")
    url = f"sqlite:///{folder / 'ysim.db'}"
    create_schema(url)
    with session_factory(url).begin() as session:
        create_run(session, name="kept", seed=1, total_ticks=2, config=storable_config(RunConfig()),
                   agents=[AgentData("a", "a@x"), AgentData("b", "b@x")])
    dispose_engines()  # closes the connection, which checkpoints the WAL into ysim.db
    database = Database(url, folder, _digests(folder))
    assert list(database.files) == ["ysim.db"]
    return database


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("inputs").resolve()


@contextmanager
def written(file: File, scratch: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        path = Path(folder) / file.name
        path.write_bytes(file.content)
        yield path


def assert_cli_refuses(capsys, database: Database, args: list[str], found: Outcome) -> None:
    """`ysim run ARGS` prints the loader's error as its one error line, after one line per warning."""
    code, out, err = ysim(capsys, "run", *args, "--db", database.url, "--llm-url", UNREACHABLE_LLM)
    assert code == 1 and out == "" and err.endswith("\n") and "Traceback" not in err, err
    lines = err.removesuffix("\n").split("\n")
    assert [line for line in lines if not line.startswith("warning: ")] == [f"error: {found.error}"], err
    assert all(f"warning: {message}" in lines for message in found.warned), err
    assert database.unchanged()


# --- The properties --------------------------------------------------------------------------------

def config_error_names_a_field(message: str, path: Path) -> bool:
    """`--config: ...` for the file as a whole; else a section, or another top-level key of the file."""
    if names(message, r"--config|[^:]+", {"--config", *RunConfig.model_fields}):
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        top = config_loader.load_file(path)  # it loads, so the error is about one of its top-level keys
    shown = {form for key in top for form in (str(key), repr(key), json.dumps(key))}
    return message.startswith(tuple(f"{key}{sep}" for key in shown for sep in (": ", ".")))


@PROPERTY
@given(file=config_files())
# found by hypothesis: a UTF-16 file raised UnicodeDecodeError
@example(file=File("run.yaml", b"\xff\xfe{\x00}\x00\n\x00"))
# found by hypothesis: YAML's dates, and an alias inside its own anchor, raised TypeError and ValueError
@example(file=File("run.yaml", b"simulation: {name: 2020-01-01}\n"))
@example(file=File("run.yaml", b"a: &x [*x]\n"))
# found by hypothesis: a NUL in a file name raised ValueError
@example(file=File("run.yaml", b'agents: {population: "a\\0"}\n'))
# found by hypothesis: a section that is null raised TypeError when --db or --llm-url went into it
@example(file=File("run.json", b'{"llm": null}'))
# found by hypothesis: a key with a line break made a two-line error; an empty key was not named
@example(file=File("run.json", b'{"\\n": null}'))
@example(file=File("run.json", b'{"": null}'))
# found by hypothesis: ... and a two-line warning, for a Y Social configuration
@example(file=File("run.json", b'{"servers": {}, "a\\nb": 1}'))
# found by hypothesis: rich read keys of a Y Social configuration as markup: a traceback for "[/x]", "[bold]"
# dropped; and, with the markup escaped, a trailing backslash doubled
@example(file=File("run.json", b'{"servers": {}, "[/x]": null, "simulation": {"name": null}}'))
@example(file=File("run.json", b'{"servers": {}, "[bold]": null, "simulation": {"name": null}}'))
@example(file=File("run.json", b'{"servers": {}, "x\\\\": null, "simulation": {"name": null}}'))
# found by hypothesis: loaded, then failed in the run: a seed too large for its column, NaN that the stored
# configuration loses, a NUL PostgreSQL refuses, an empty pool or a range agents refuse to generate from
@example(file=File("run.yaml", b"simulation: {seed: 300000000000000000000}\n"))
@example(file=File("run.json", b'{"agents": {"opinion_dynamics": {"enabled": NaN}}}'))
@example(file=File("run.json", b'{"agents": {"nationalities": ["\\u0000American"]}}'))
@example(file=File("run.json", b'{"agents": {"big_five": {"oe": []}}}'))
@example(file=File("run.json", b'{"agents": {"daily_activity_level": {"min": -1, "max": 3}}}'))
# found by hand while writing these properties: NaN and infinite weights loaded
@example(file=File("run.yaml", b"simulation: {actions_likelihood: {post: .nan, read: 1}}\n"))
@example(file=File("run.yaml", b"agents: {archetypes: {a: .inf}}\n"))
def test_run_configuration_files(file, database, scratch, capsys):
    with written(file, scratch) as path:
        found = outcome(lambda p: load_run_config(p, database.url), path,
                        (config_loader.ConfigError, UnknownRecommenderError))
        if found.error is None:
            check_config(found.result)
            return
        assert config_error_names_a_field(found.error, path), found.error
        assert_cli_refuses(capsys, database, ["--config", str(path)], found)


@PROPERTY
@given(file=population_files())
# found by hypothesis: `ysim run` opened the database before reading the population, and ignored it when the
# database held a run to resume
@example(file=File("population.json", b"\xff\xfe{\x00}\x00"))
# found by hypothesis: half a surrogate pair loaded, and failed when written
@example(file=File("population.json", b'{"agents": [{"name": "a", "email": "a@x", "interests": ["\\ud800"]}]}'))
# found by hand while writing these properties: a NUL inside a list loaded (PostgreSQL refuses it)
@example(file=File("population.json", b'{"agents": [{"name": "a", "email": "a@x", "interests": ["\\u0000"]}]}'))
def test_population_files(file, database, scratch, capsys):
    with written(file, scratch) as path:
        found = outcome(load_population, path, (PopulationError,))
        if found.error is None:
            check_population(found.result, path.parent)
            return
        where = re.escape(str(path)) + r": (cannot read|not valid JSON|agents|agents\[\d+\]: (?P<field>[^:]+))"
        match = re.match(where + ": ", found.error)
        assert match and names(found.error, where), found.error
        assert match["field"] in (None, "agent", "agent_class", *AGENT_FIELDS), found.error
        assert_cli_refuses(capsys, database, ["--population", str(path)], found)


@PROPERTY
@given(file=prompt_files())
# found by hypothesis: a file that is not UTF-8 raised UnicodeDecodeError
@example(file=File("prompts.json", b"\x80"))
# found by hypothesis: a key, or a placeholder, with a line break made a two-line error
@example(file=File("prompts.json", b'{"\\u001e": ""}'))
@example(file=File("prompts.json", b'{"agent_roleplay_simple": "{interest[\'\\n\']}"}'))
# found by hand while writing these properties: half a surrogate pair loaded
@example(file=File("prompts.json", b'{"handler_post": "\\ud800"}'))
def test_prompt_files(file, database, scratch, capsys):
    with written(file, scratch) as path:
        found = outcome(load_prompt_file, path, (config_loader.ConfigError,))
        if found.error is None:
            assert prompt_set(found.result.prompts).keys() == PROMPTS.keys()
            check_config(found.result)
            return
        if not (names(found.error, "prompts") and str(path) in found.error):  # else the file as a whole
            keys = json.loads(path.read_bytes())  # it parses, so the error is about one of its templates
            assert any(f"prompts.{shown}: " in found.error for key in keys for shown in (key, repr(key))), found.error
        assert_cli_refuses(capsys, database, ["--prompts", str(path)], found)


@PROPERTY
@given(file=follow_graph_files())
# found by hypothesis: `ysim run` compared --agents with the run in the database before reading the graph
@example(file=File("graph.csv", b"\xff\xfe"))
# found by hypothesis: a cell over the csv module's size limit raised csv.Error
@example(file=File("graph.csv", b"9" * 200_000))
def test_follow_graph_files(file, database, scratch, capsys):
    with written(file, scratch) as path:
        found = outcome(lambda p: load_follow_graph(p, GRAPH_AGENTS), path, (FollowGraphError,))
        if found.error is None:
            check_follow_graph(found.result)
            return
        line = r"line \d+(: ('.*'|\".*\")(\.\.\.)?)?"  # the line, and what it holds
        assert names(found.error, re.escape(str(path)) + rf": (cannot read|not a text file|{line})"), found.error
        assert_cli_refuses(capsys, database, ["--agents", str(GRAPH_AGENTS), "--follow-graph", str(path)], found)


@pytest.mark.parametrize("files, load, errors", [
    (config_files(), lambda p: load_run_config(p, "sqlite:///unused.db"),
     (config_loader.ConfigError, UnknownRecommenderError)),
    (population_files(), load_population, (PopulationError,)),
    (prompt_files(), load_prompt_file, (config_loader.ConfigError,)),
    (follow_graph_files(), lambda p: load_follow_graph(p, GRAPH_AGENTS), (FollowGraphError,)),
], ids=["config", "population", "prompts", "follow-graph"])
def test_the_strategies_give_both_outcomes(files, load, errors, scratch):
    """The examples above are worth their time: a good share of each kind loads, a good share fails."""
    outcomes: Counter[str] = Counter()

    @settings(max_examples=100, deadline=None)
    @given(files)
    def classify(file):
        with written(file, scratch) as path, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                load(path)
                outcomes["loads"] += 1
            except errors:
                outcomes["error"] += 1

    classify()
    assert min(outcomes["loads"], outcomes["error"]) >= 10, outcomes
