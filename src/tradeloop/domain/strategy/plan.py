"""The order a batch of specs is compiled in, so each indicator is computed once and soon freed.

Indicators are computed in the order the specs first need them, specs taken fewest-new-
indicators first. Each check and exit array (`checks.Need`) is answered right after the last
indicator it reads (while that indicator is still in the CPU cache), each spec is assembled as
soon as everything it needs is answered, and the plan says when each indicator and each answer
is no longer needed, so a large batch keeps few full-length arrays alive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tradeloop.domain.strategy.checks import IndicatorKey, Need, indicators_read, needs_of
from tradeloop.domain.strategy.spec import StrategySpec


@dataclass
class Step:
    """What happens once one more indicator is available (the first step needs none)."""

    answer: list[Need] = field(default_factory=list)
    assemble: list[int] = field(default_factory=list)
    """Positions, in the batch, of the specs whose signals can now be assembled."""
    drop_indicators: list[IndicatorKey] = field(default_factory=list)
    drop_answers: list[Need] = field(default_factory=list)


def plan_batch(specs: Sequence[StrategySpec]) -> list[Step]:
    """The steps that compile `specs` (distinct specs), in order."""
    needs = [needs_of(spec) for spec in specs]
    indicators = [indicators_read(own) for own in needs]
    position: dict[IndicatorKey, int] = {}
    for index in _fewest_new_indicators_first(indicators):
        for key in sorted(indicators[index]):
            position.setdefault(key, len(position))
    steps = [Step() for _ in range(len(position) + 1)]

    def due(keys: frozenset[IndicatorKey]) -> int:
        """The step after which every indicator in `keys` is available."""
        return 1 + max((position[key] for key in keys), default=-1)

    answered: dict[Need, int] = {}
    for own in needs:
        for need in own:
            if need not in answered:
                answered[need] = due(need.indicators)
                steps[answered[need]].answer.append(need)
    last_read: dict[IndicatorKey, int] = {}
    for need, step in answered.items():
        for key in need.indicators:
            last_read[key] = max(step, last_read.get(key, 0))
    last_used: dict[Need, int] = {}
    for index, own in enumerate(needs):
        ready = max(answered[need] for need in own)
        steps[ready].assemble.append(index)
        for need in own:
            last_used[need] = max(ready, last_used.get(need, 0))
    for key, step in last_read.items():
        steps[step].drop_indicators.append(key)
    for need, step in last_used.items():
        steps[step].drop_answers.append(need)
    return steps


def _fewest_new_indicators_first(needs: list[frozenset[IndicatorKey]]) -> list[int]:
    """A spec order that keeps few indicators alive at once: always next the spec needing the
    fewest indicators not computed yet (ties in input order). O(specs x indicators)."""
    users: dict[IndicatorKey, list[int]] = {}
    for index, keys in enumerate(needs):
        for key in keys:
            users.setdefault(key, []).append(index)
    missing = [len(keys) for keys in needs]
    buckets: dict[int, dict[int, None]] = {}
    for index, count in enumerate(missing):
        buckets.setdefault(count, {})[index] = None
    computed: set[IndicatorKey] = set()
    order: list[int] = []
    while len(order) < len(needs):
        fewest = min(count for count, members in buckets.items() if members)
        chosen = next(iter(buckets[fewest]))
        del buckets[fewest][chosen]
        order.append(chosen)
        for key in needs[chosen] - computed:
            computed.add(key)
            for user in users[key]:
                if user in buckets.get(missing[user], {}):
                    del buckets[missing[user]][user]
                    missing[user] -= 1
                    buckets.setdefault(missing[user], {})[user] = None
    return order
