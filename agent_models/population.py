"""Generated populations: personas sampled from the run configuration's value pools.

Follows Y Social's `generate_user`: Faker names in the nationality's locale, then each
attribute drawn from its pool. Agent `i` of a population depends only on (seed, i), so growing
a population keeps its first agents.
"""

from __future__ import annotations

from faker import Faker

from agent_models.agent_data import AgentData, FakeAgentData
from agent_models.run_config import AgentSettings
from agent_models.seeding import derive_seed, rng_for

# Nationality -> Faker locale for names; unknown nationalities fall back to en_US.
NATIONALITY_LOCALES = {
    "American": "en_US", "British": "en_GB", "Canadian": "en_CA", "Australian": "en_AU",
    "Italian": "it_IT", "French": "fr_FR", "German": "de_DE", "Spanish": "es_ES",
    "Dutch": "nl_NL", "Brazilian": "pt_BR", "Mexican": "es_MX", "Indian": "en_IN",
}
GENDERS = ("male", "female")


def generate_population(settings: AgentSettings, n: int, seed: int) -> list[AgentData]:
    """`n` agents with unique names, fully determined by `seed`."""
    fakers: dict[str, Faker] = {}
    agents: list[AgentData] = []
    taken: set[str] = set()
    for index in range(n):
        rng = rng_for(seed, -1, index, "persona")
        nationality = rng.choice(settings.nationalities)
        locale = NATIONALITY_LOCALES.get(nationality, "en_US")
        fake = fakers.setdefault(locale, Faker(locale))
        fake.seed_instance(derive_seed(seed, index, "faker"))
        gender = rng.choice(GENDERS)
        full_name = fake.name_male() if gender == "male" else fake.name_female()
        username = _unique_username(full_name, index, taken)
        n_interests = min(rng.randint(settings.n_interests.min, settings.n_interests.max),
                          len(settings.interests))
        cls = FakeAgentData if rng.random() < settings.rule_based_share else AgentData
        agents.append(cls(
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
            content_rec_sys_name=settings.content_rec_sys,
            follow_rec_sys_name=settings.follow_rec_sys,
            **{trait: rng.choice(pool) for trait, pool in sorted(settings.big_five.items())},
        ))
    return agents


def _unique_username(full_name: str, index: int, taken: set[str]) -> str:
    base = "".join(ch for ch in full_name.lower() if ch.isalnum())[:12] or "agent"
    name = base if base not in taken else f"{base}{index}"
    taken.add(name)
    return name
