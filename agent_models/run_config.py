"""The run configuration: one validated pydantic model for a simulation run.

Every knob of a run is a documented field with a default here (simulation length and seed,
Y Social's activity and action rules, persona pools, feeds, LLM, database, Ray). It is pure
data: loading it from files and the command line is `flows.config_loader`'s job. Validation
errors name the field, the value and what is allowed.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import (
    BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator,
)

from agent_models.dotted import DottedPathError, set_dotted
from agent_models.interventions import Intervention, due
from agent_models.memory import MemorySettings
from agent_models.surveys import Survey
from agent_models.opinion_dynamics import OpinionModel
from agent_models.prompts import prompt_set

HOURS_PER_DAY = 24
# The run's row keeps its seed and length in SQL INTEGER columns, 32-bit on PostgreSQL.
SQL_INTEGER_MAX = 2**31 - 1

# Y Social's action names (config `actions_likelihood` keys) and the ones ysim carries out today.
YSOCIAL_ACTIONS = ("post", "comment", "read", "follow", "search", "share", "cast", "image", "news",
                   "share_link", "share_image")
SUPPORTED_ACTIONS = ("post", "comment", "read", "follow", "search", "share", "cast")
# Configured but never drawn, and why (named once in a warning when a run starts).
SKIPPED_ACTIONS = {
    "image": "needs a vision model, which ysim does not run",
    "news": "only pages post news, each hour their profile covers (regular agents never did in Y Social)",
    "share_link": "a YSimulator action Y Social does not have",
    "share_image": "a YSimulator action Y Social does not have",
}

# Y Social's default hourly activity rates (YClient config_files/config.json).
YSOCIAL_HOURLY_ACTIVITY = {
    0: 0.023, 1: 0.021, 2: 0.020, 3: 0.020, 4: 0.018, 5: 0.017, 6: 0.017, 7: 0.018,
    8: 0.020, 9: 0.020, 10: 0.021, 11: 0.022, 12: 0.024, 13: 0.027, 14: 0.030, 15: 0.032,
    16: 0.032, 17: 0.032, 18: 0.032, 19: 0.031, 20: 0.030, 21: 0.029, 22: 0.027, 23: 0.025,
}


class FieldError(ValueError):
    """A value refused by a check across fields: names the field's dotted path and the value, so
    that the one-line error points at the field rather than at the model that checked it."""

    def __init__(self, field: str, value: Any, message: str) -> None:
        super().__init__(f"{field}: {value!r:.80}: {message}")
        self.field, self.value, self.message = field, value, message


# The persona pools agents are generated from.
POOLS = ("nationalities", "languages", "education_levels", "political_leanings", "interests", "toxicity_levels")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimulationSettings(_Section):
    """Length, seed and Y Social's rules for who acts when."""

    name: str = Field("ysim", description="A label for the run.")
    seed: int = Field(42, ge=-SQL_INTEGER_MAX - 1, le=SQL_INTEGER_MAX,
                      description="Seeds every random draw of the run.")
    pace: float | None = Field(
        None, gt=0, le=86_400,
        description="Real seconds between the starts of two ticks, for runs with people in them (ysim web): a tick "
                    "starts when they have passed, or as soon as a person asks for the next hour. None: as fast as "
                    "the run goes.")
    ticks: int = Field(24, ge=1, le=SQL_INTEGER_MAX,
                       description="Total length in ticks; one tick is one simulated hour.")
    hourly_activity: dict[int, float] = Field(
        default_factory=lambda: dict(YSOCIAL_HOURLY_ACTIVITY),
        description="Share of the population active in each hour of the day (Y Social's rule).")
    actions_likelihood: dict[str, float] = Field(
        default_factory=lambda: {"post": 0.3, "comment": 0.3, "read": 0.3, "follow": 0.1},
        description="Weights for drawing the two candidate actions of each round.")
    activity_profiles: dict[str, str] = Field(
        default_factory=lambda: {"Always On": ",".join(str(h) for h in range(HOURS_PER_DAY))},
        description="Named sets of active hours, as comma-separated hours (Y Social's format).")
    client: Literal["YClientWeb", "YClientBase", "YClientWithPages"] = Field(
        "YClientWeb", description="Whose client loop's rules a run follows (Y Social's `simulation.client`). "
                                  "\"YClientWeb\", the YSocial web app's runner: an active agent plays "
                                  "randint(max(round_actions - 2, 1), round_actions) rounds an hour. "
                                  "\"YClientBase\" and \"YClientWithPages\", YClient's classic loop: exactly "
                                  "round_actions rounds. Everything else follows the web runner either way "
                                  "(docs/deviations.md).")
    offered_actions: Literal["as_drawn", "distinct"] = Field(
        "as_drawn", description="How a round's candidates are listed to the LLM: \"as_drawn\", the two weighted "
                                "draws and NONE, shuffled, a candidate drawn twice listed twice (Y Social: "
                                "\"COMMENT, NONE, COMMENT\"); \"distinct\", each once (what ysim did before this setting: "
                                "\"COMMENT, NONE\"), which lowers the drawn actions' share against NONE.")

    @field_validator("hourly_activity")
    @classmethod
    def _hours(cls, value: dict[int, float]) -> dict[int, float]:
        for hour, rate in value.items():
            if not 0 <= hour < HOURS_PER_DAY:
                raise ValueError(f"hour {hour} is outside 0..23")
            if not 0 <= rate <= 1:
                raise ValueError(f"rate {rate} for hour {hour} is outside 0..1")
        return value

    @field_validator("actions_likelihood")
    @classmethod
    def _actions(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if name.lower() not in YSOCIAL_ACTIONS:
                raise ValueError(f"action {name!r} is not one of {', '.join(YSOCIAL_ACTIONS)}")
            if weight < 0:
                raise ValueError(f"weight {weight} for {name!r} must be >= 0")
        if not any(w > 0 for n, w in value.items() if n.lower() in SUPPORTED_ACTIONS):
            raise ValueError(f"at least one of {', '.join(SUPPORTED_ACTIONS)} needs a weight > 0")
        return {name.lower(): weight for name, weight in value.items()}

    @field_validator("activity_profiles")
    @classmethod
    def _profiles(cls, value: dict[str, str]) -> dict[str, str]:
        for name, hours in value.items():
            parse_hours(hours, name)
        return value

    percentage_new_agents: float = Field(
        0.0, ge=0, le=1, description="At the end of each day, new agents join: max(1, int(active agents of "
                                     "the day x this)) when > 0 (Y Social's percentage_new_agents_iteration).")
    percentage_removed_agents: float = Field(
        0.0, ge=0, le=1, description="At the end of each day, max(1, int(active agents of the day x this)) "
                                     "agents leave, those whose last post is oldest (Y Social's churn).")

    @property
    def skipped_actions(self) -> dict[str, str]:
        """Configured actions ysim never draws, with the reason."""
        return {n: SKIPPED_ACTIONS[n] for n, w in sorted(self.actions_likelihood.items())
                if w > 0 and n in SKIPPED_ACTIONS}

    @property
    def drawable_actions(self) -> dict[str, float]:
        return drawable_actions(self.actions_likelihood)

    def profile_hours(self) -> dict[str, frozenset[int]]:
        return {name: parse_hours(hours, name) for name, hours in self.activity_profiles.items()}


def drawable_actions(likelihood: dict[str, float]) -> dict[str, float]:
    """The actions ysim can draw from Y Social-style weights, upper-cased as agents name them."""
    return {n.upper(): w for n, w in likelihood.items() if w > 0 and n.lower() in SUPPORTED_ACTIONS}


def parse_hours(hours: str, profile: str) -> frozenset[int]:
    try:
        parsed = frozenset(int(h) for h in hours.split(",") if h.strip())
    except ValueError:
        raise ValueError(f"activity profile {profile!r}: {hours!r} is not a comma-separated list of hours") from None
    if not parsed or not all(0 <= h < HOURS_PER_DAY for h in parsed):
        raise ValueError(f"activity profile {profile!r}: hours must be 0..23, got {hours!r}")
    return parsed


class IntRange(_Section):
    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> "IntRange":
        if self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


# The least value agents accept for each drawn range; the greatest is what their INTEGER columns hold.
_RANGE_MINIMUM = {"age": 0, "n_interests": 0, "round_actions": 1, "daily_activity_level": 0}


class AgentSettings(_Section):
    """Population size and the persona value pools agents are sampled from (Y Social's `agents`)."""

    count: int = Field(30, ge=1, description="Agents generated when a run starts.")
    rule_based_share: float = Field(
        0.0, ge=0, le=1, description="Share of generated agents that are rule-based (FakeAgentData): "
                                     "same actions, template text and seeded chance, no LLM.")
    nationalities: list[str] = Field(default_factory=lambda: ["American"],
                                     description="Nationalities drawn from; each picks the Faker locale of names.")
    languages: list[str] = Field(default_factory=lambda: ["English"],
                                 description="Languages agents write in.")
    education_levels: list[str] = Field(
        default_factory=lambda: ["high school", "bachelor", "master", "phd"],
        description="Education levels drawn from.")
    political_leanings: list[str] = Field(
        default_factory=lambda: ["Democrat", "Republican", "Independent"],
        description="Political leanings drawn from (recommenders' leaning bias compares them).")
    age: IntRange = Field(default_factory=lambda: IntRange(min=18, max=60), description="Ages drawn from, inclusive.")
    interests: list[str] = Field(default_factory=lambda: [
        "climate", "politics", "sports", "music", "technology", "movies", "food", "travel",
        "science", "books"], description="Topics drawn from for each agent's interests.")
    n_interests: IntRange = Field(default_factory=lambda: IntRange(min=2, max=4),
                                   description="How many interests each agent gets, inclusive.")
    toxicity_levels: list[str] = Field(default_factory=lambda: ["no", "low", "average"],
                                       description="Toxicity levels drawn from (a persona trait in prompts).")
    round_actions: IntRange = Field(default_factory=lambda: IntRange(min=1, max=3),
                                     description="Each agent's `round_actions`: an active hour gives it "
                                                 "randint(max(round_actions-2, 1), round_actions) rounds.")
    daily_activity_level: IntRange = Field(default_factory=lambda: IntRange(min=1, max=5),
                                            description="Each agent's weight when the hour's active agents "
                                                        "are sampled.")
    big_five: dict[Literal["oe", "co", "ex", "ag", "ne"], list[str]] = Field(
        default_factory=lambda: {
            "oe": ["inventive/curious", "consistent/cautious"],
            "co": ["efficient/organized", "extravagant/careless"],
            "ex": ["outgoing/energetic", "solitary/reserved"],
            "ag": ["friendly/compassionate", "critical/judgmental"],
            "ne": ["sensitive/nervous", "resilient/confident"]},
        description="Big Five adjectives drawn from, per trait (Y Social's strings).")
    content_rec_sys: str = Field("ReverseChronoFollowersPopularity",
                                 description="Content recommender for generated agents (Y Social name).")
    follow_rec_sys: str = Field("FollowRecSys",
                                description="Follow recommender for generated agents (Y Social name).")
    max_length_thread_reading: int = Field(5, ge=1, description="Messages of a thread shown before commenting.")
    llm_models: list[str] = Field(default_factory=list,
                                  description="Model names generated agents draw from (Y Social's `llm_agents`); "
                                              "empty: every agent uses `llm.model`.")
    archetypes: dict[str, float] = Field(
        default_factory=dict, description="Archetype name -> share of generated agents (Y Social's "
                                          "`agent_archetypes.distribution`); empty: no archetypes.")
    attention_window: int = Field(336, ge=0, description="Ticks of history that shape an agent's interests.")
    probability_of_daily_follow: float = Field(0.0, ge=0, le=1, description="Carried on agents (Y Social's "
                                                                            "end-of-day follow chance).")
    probability_of_secondary_follow: float = Field(0.0, ge=0, le=1, description="Carried on agents (Y Social's "
                                                                                "follow-after-like chance).")
    emotions: list[str] = Field(default_factory=list, description="Emotion labels carried on agents "
                                                                  "(Y Social's `posts.emotions`).")
    annotate_emotions: bool = Field(False, description="Carried on agents (Y Social's `emotion_annotation`).")
    opinion_dynamics: dict[str, Any] | None = Field(None, description="Y Social's opinion-dynamics settings, "
                                                                      "carried on agents.")
    population: str | None = Field(None, description="A Y Social population JSON file; when set, its agents "
                                                     "are the run's population instead of generated ones.")
    news_feeds: str | None = Field(None, description="A Y Social `rss_feeds.json` list of news feeds: one page "
                                                     "agent per feed posts its articles (feed_url may be a "
                                                     "local RSS/Atom file, relative to the list).")
    follow_graph: str | None = Field(None, description="A CSV of `follower,followee` agent indices (0-based, "
                                                       "no header) followed before the first tick.")

    @field_validator("age", "n_interests", "round_actions", "daily_activity_level")
    @classmethod
    def _drawn_range(cls, value: IntRange, info: ValidationInfo) -> IntRange:
        low = _RANGE_MINIMUM[info.field_name]
        if value.min < low or value.max > SQL_INTEGER_MAX:
            raise ValueError(f"min {value.min} and max {value.max} must lie within {low}..{SQL_INTEGER_MAX}")
        return value

    @field_validator("opinion_dynamics")
    @classmethod
    def _opinion_model(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        OpinionModel.from_settings(value)  # raises naming the bad parameter
        return value

    @field_validator("archetypes")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        if any(share < 0 for share in value.values()) or (value and sum(value.values()) <= 0):
            raise ValueError(f"archetype shares {value} must be >= 0 with a positive sum")
        return value


class FeedSettings(_Section):
    """What recommenders may show (Y Social's `/read` and `/follow_suggestions` parameters)."""

    visibility_rounds: int = Field(36, ge=1, description="Posts younger than this many ticks are visible.")
    feed_size: int = Field(10, ge=1, description="Posts per feed.")
    followers_ratio: float = Field(0.6, ge=0, le=1, description="Share of a feed taken from followees.")
    follow_suggestions: int = Field(10, ge=1, description="Candidates a follow recommender returns.")
    leaning_bias: float = Field(1.0, ge=0, description="Score multiplier for candidates of the same leaning.")
    search_without_hashtags: Literal["interests", "nothing"] = Field(
        "interests", description="What SEARCH finds for an agent that has used no hashtag in its visible posts "
                                 "(SEARCH finds others' visible posts carrying the hashtags the agent used): "
                                 "\"interests\", others' visible posts about one of its interests; \"nothing\", "
                                 "as Y Social's server, so that early in a run, and for agents who rarely post, "
                                 "SEARCH ends with no post to comment on.")


class LLMSettings(_Section):
    """The OpenAI-compatible server. No `url`: ysim starts its embedded demo model."""

    url: str | None = Field(None, description="Base URL, e.g. http://127.0.0.1:8000/v1 (vLLM).")
    api_key: SecretStr | None = Field(None, description="API key. Kept secret: masked in logs, flow parameters and "
                                                        "errors, and never stored with the run. None: the Prefect "
                                                        "Secret block `api_key_secret`, else the environment "
                                                        "variable YSIM_LLM_API_KEY, else none (local servers "
                                                        "ignore it).")
    api_key_secret: str | None = Field(None, description="Name of a Prefect Secret block holding the API key.")
    model: str = Field("", description="Default model name; agents may name their own.")
    temperature: float = Field(0.9, ge=0, le=2, description="Sampling temperature of every request.")
    max_tokens: int | None = Field(96, ge=1, description="Completion token cap per call; null: no cap, the "
                                                        "server's own limit (Y Social's -1).")
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(2, ge=0, description="Client retries on timeouts, 429 and 5xx.")
    concurrency: int | Literal["auto"] = Field(
        "auto", description="Requests in flight per LLM client (one per gpu task, and per single-agent or parallel "
                            "call). \"auto\": adaptive, starting at `concurrency_start` and backing off on 429, "
                            "503, timeouts and round trips past `concurrency_latency_tolerance` x the best seen, "
                            "growing back by 1 while the server answers well, up to `concurrency_max` (the "
                            "embedded server: its `embedded_parallel` slots). An integer: a fixed cap.")
    concurrency_start: int = Field(64, ge=1, description="With `concurrency: auto`: the limit a server starts at in "
                                                         "each process (high, so that a server that batches or "
                                                         "serves any number at once is busy from the first request).")
    concurrency_max: int = Field(256, ge=1, validate_default=True,
                                 description="With `concurrency: auto`: the most the limit grows to.")
    concurrency_latency_tolerance: float = Field(
        2.0, gt=1, description="With `concurrency: auto`: the limit is cut when a window of answers' median round "
                               "trip exceeds this multiple of the best seen for answers of about their length.")
    structured_output: bool = Field(True, description="Ask for JSON-schema answers for decisions.")
    embedded_parallel: int = Field(4, ge=1, description="Parallel slots of the embedded server.")
    embedded_startup_timeout_s: float = Field(60.0, gt=0, description="Seconds the embedded server may take "
                                                                     "from its launch to answering /health (it "
                                                                     "loads the model first); past them it is "
                                                                     "stopped and the run ends with an error.")
    embedded: bool = Field(False, description="Set by ysim while it serves the embedded model at `url`; "
                                              "such a URL is not stored with the run.")
    cache_only: bool = Field(False, description="Answer only from the run's response cache, never from a "
                                                "server (`ysim replay`); a missing answer stops the run.")
    max_tokens_total: int | None = Field(None, ge=1, description="Token budget of the run (prompt + "
                                                                 "completion): it stops at the first tick "
                                                                 "boundary at or past it.")

    @field_validator("concurrency", mode="before")
    @classmethod
    def _concurrency(cls, value: Any) -> Any:
        allowed = 'an integer >= 1 (a fixed cap) or "auto" (adaptive)'
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"must be {allowed}")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"must be {allowed}") from None
        if number < 1:
            raise ValueError(f"must be {allowed}")
        return number

    @field_validator("concurrency_max")
    @classmethod
    def _concurrency_max(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("concurrency_start")
        if start is not None and value < start:
            raise ValueError(f"must be >= llm.concurrency_start ({start})")
        return value

    def for_storage(self) -> "LLMSettings":
        """These settings as a run should remember them: without a temporary embedded URL, and without
        the API key (a resumed run finds it again where this one did)."""
        stored = self.model_copy(update={"api_key": None})
        return stored.model_copy(update={"url": None, "embedded": False}) if self.embedded else stored


class DatabaseSettings(_Section):
    """Where the run's state lives."""

    url: str = Field("sqlite:///ysim.db", description="SQLAlchemy URL: sqlite:///file.db or postgresql://...")


class RaySettings(_Section):
    """Where tasks run and how they are batched."""

    address: str | None = Field(None, description="Ray cluster to join (host:port); none starts a local Ray.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray (default: all).")
    batch_size: int = Field(50, ge=1, description="Agents per task run.")
    gpu_share: float = Field(0.1, gt=0, le=1, description="GPU (or gpu_slot) share each gpu task asks for.")
    gpu_slots: int = Field(1, ge=1, description="gpu_slot resources a local GPU-less Ray declares.")
    tick_retries: int = Field(1, ge=0, description="Times a failed tick flow is retried.")
    task_retries: int = Field(2, ge=0, description="Times a failed task run is retried (a function run's "
                                                   "retry asks again only the LLM requests it had not answered).")
    task_retry_delay_s: float = Field(0.5, ge=0, description="Seconds before a failed function run "
                                                             "(post_content[b3], ...) is retried.")


class RunConfig(_Section):
    """Everything a run needs; stored with the run so that resuming uses the same rules."""

    prompts: dict[str, str] = Field(default_factory=dict, description="Prompt templates replacing ysim's, "
                                                                      "by Y Social key (a `prompts.json`).")

    simulation: SimulationSettings = Field(default_factory=SimulationSettings)
    agents: AgentSettings = Field(default_factory=AgentSettings)
    feeds: FeedSettings = Field(default_factory=FeedSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ray: RaySettings = Field(default_factory=RaySettings)
    memory: MemorySettings = Field(default_factory=MemorySettings, description="Agent memory (off by default; "
                                   "docs/memory.md).")
    surveys: list[Survey] = Field(default_factory=list, description="Questions put to a group at a tick, in "
                                  "character, optionally on a Likert scale or choices; answers stored in "
                                  "`interviews` (docs/memory.md).")
    interventions: list[Intervention] = Field(
        default_factory=list, description="Changes of settings from a tick on: each `{at: <tick or \"day D hour "
                                          "H\">, set: {<dotted setting>: <value>, ...}, note: <text>}`, recorded "
                                          "by the tick it starts at (docs/experiments.md).")

    @field_validator("prompts")
    @classmethod
    def _prompts(cls, value: dict[str, str]) -> dict[str, str]:
        prompt_set(value)  # raises a PromptError (a ValueError) naming the bad key
        return value

    @model_validator(mode="after")
    def _interventions_apply(self) -> "RunConfig":
        """Each intervention makes a valid configuration, checked now so that a bad one stops the
        run before its first tick. (One past the run's length is allowed: it applies when the run
        is extended, by `ysim run --ticks` or a scheduled `advance`; the CLI names it.)"""
        for index, intervention in enumerate(self.interventions):
            try:
                self._with_settings(intervention.set.items())
            except DottedPathError as exc:
                raise FieldError(f"interventions[{index}].set", intervention.set, str(exc)) from None
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(str(part) for part in error["loc"])
                raise FieldError(f"interventions[{index}].set.{where}", error.get("input"),
                                 error["msg"].removeprefix("Value error, ")) from None
        return self

    def at_tick(self, tick: int) -> "RunConfig":
        """The configuration tick `tick` runs with: every intervention up to it applied, in tick
        order (entries of one tick in list order)."""
        settings = [item for _, intervention in due(self.interventions, tick) for item in intervention.set.items()]
        return self._with_settings(settings) if settings else self

    def _with_settings(self, settings: Iterable[tuple[str, Any]]) -> "RunConfig":
        data = self.model_dump()  # python values: the API key stays a SecretStr
        data["interventions"] = []  # checked once, on the base configuration
        for dotted, value in settings:
            set_dotted(data, dotted, copy.deepcopy(value), _default_values())
        applied = RunConfig.model_validate(data)
        return applied.model_copy(update={"interventions": self.interventions})

    @model_validator(mode="after")
    def _pools_for_generated_agents(self) -> "RunConfig":
        """A persona pool may be empty (the YSocial web app writes `"interests": []` when a
        population file gives the agents) unless agents are generated from it: at the start when
        no `agents.population` is given, and at the end of each day when new agents join."""
        agents = self.agents
        if agents.population is not None and self.simulation.percentage_new_agents == 0:
            return self
        why = ("new agents join (simulation.percentage_new_agents > 0)" if agents.population is not None
               else "agents are generated (no agents.population)")
        for name in POOLS:
            if not getattr(agents, name):
                raise FieldError(f"agents.{name}", [], f"must hold at least one value when {why}")
        for trait, adjectives in agents.big_five.items():
            if not adjectives:
                raise FieldError(f"agents.big_five.{trait}", [], f"must hold at least one value when {why}")
        return self


@functools.cache
def _default_values() -> dict[str, Any]:
    """The default configuration's values, for a setting an intervention reaches inside of
    (`set_dotted` copies what it takes)."""
    return RunConfig().model_dump()
