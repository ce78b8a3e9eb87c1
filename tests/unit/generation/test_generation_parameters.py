"""The research run's generator options: rules by default, a clear refusal for anything else."""

from __future__ import annotations

import pytest

from tradeloop.cli.research import research_parameters
from tradeloop.errors import UserError
from tradeloop.flows.research import ResearchParameters


def test_the_rule_based_generators_stay_the_default() -> None:
    parameters = ResearchParameters()
    assert parameters.generator == "rules"
    assert (parameters.llm_count, parameters.llm_timeframe, parameters.llm_retries) == (5, "5m", 2)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"generator": "gpt"}, "--generator gpt"),
        ({"generator": "ollama", "llm_count": 0}, "--llm-count 0"),
        ({"generator": "ollama", "llm_timeframe": "7m"}, "--llm-timeframe 7m"),
    ],
    ids=["unknown-generator", "no-specs", "unknown-timeframe"],
)
def test_a_bad_generator_option_is_refused_naming_it(options: dict[str, object], says: str) -> None:
    with pytest.raises(UserError, match="invalid option") as refused:
        research_parameters(**options)
    assert says in str(refused.value)
