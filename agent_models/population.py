"""Generated populations: personas sampled from a configuration's value pools.

Follows Y Social's `generate_user`: Faker names in the nationality's locale (Y Social's own
nationality -> locale table), then each attribute drawn from its pool. Agent `i` of a
population depends only on (seed, i), so growing a population keeps its first agents.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from faker import Faker

from agent_models.agent_data import AgentData, FakeAgentData
from agent_models.agent_factory import ConfigLike, agent_defaults, agent_settings
from agent_models.seeding import derive_seed, rng_for

# Y Social's table (YClient config_files/nationality_locale.json); others fall back to en_US.
NATIONALITY_LOCALES: dict[str, str] = json.loads(
    resources.files("agent_models").joinpath("nationality_locale.json").read_text())
GENDERS = ("male", "female")


def generate_population(config: ConfigLike, n: int, seed: int) -> list[AgentData]:
    """`n` agents with unique names, fully determined by `seed`.

    `config` is a `RunConfig`, its `agents` section, or a configuration dict (ysim's, or a Y Social
    client configuration).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n: {n!r} must be a whole number >= 0")
    settings = agent_settings(config)
    shared = agent_defaults(settings)
    archetypes = sorted(settings.archetypes)
    fakers: dict[str, Faker] = {}
    agents: list[AgentData] = []
    taken: set[str] = set()
    for index in range(n):
        rng = rng_for(seed, -1, index, "persona")
        nationality = rng.choice(settings.nationalities)
        locale = NATIONALITY_LOCALES.get(nationality, "en_US")
        if locale not in fakers:  # one Faker per locale: building one costs ~2 ms
            fakers[locale] = Faker(locale)
        fake = fakers[locale]
        fake.seed_instance(derive_seed(seed, index, "faker"))
        gender = rng.choice(GENDERS)
        full_name = fake.name_male() if gender == "male" else fake.name_female()
        username = _unique_username(full_name, index, taken)
        n_interests = min(rng.randint(settings.n_interests.min, settings.n_interests.max),
                          len(settings.interests))
        cls = FakeAgentData if rng.random() < settings.rule_based_share else AgentData
        persona: dict[str, Any] = dict(
            name=username,
            email=f"{username}@ysim.example",
            age=rng.randint(settings.age.min, settings.age.max),
            gender=gender,
            nationality=nationality,
            language=rng.choice(settings.languages),
            education_level=rng.choice(settings.education_levels),
            profession=fake.job(),
            leaning=rng.choice(settings.political_leanings),
            interests=rng.sample(settings.interests, n_interests),
            toxicity=rng.choice(settings.toxicity_levels),
            round_actions=rng.randint(settings.round_actions.min, settings.round_actions.max),
            daily_activity_level=rng.randint(settings.daily_activity_level.min,
                                             settings.daily_activity_level.max),
            **{trait: rng.choice(pool) for trait, pool in sorted(settings.big_five.items())},
        )
        # Drawn last, and only when configured, so that adding a pool leaves the other draws alone.
        if settings.llm_models:
            persona["type"] = rng.choice(settings.llm_models)
        if archetypes:
            persona["archetype"] = rng.choices(archetypes, weights=[settings.archetypes[a] for a in archetypes])[0]
        agents.append(cls(**persona, **shared, opinion_dynamics=_copy(settings.opinion_dynamics)))
    return agents


def _copy(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return json.loads(json.dumps(value)) if value is not None else None


def _unique_username(full_name: str, index: int, taken: set[str]) -> str:
    base = "".join(ch for ch in full_name.lower() if ch.isalnum())[:12] or "agent"
    name = base if base not in taken else f"{base}{index}"
    taken.add(name)
    return name
