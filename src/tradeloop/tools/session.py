"""What the research tools of one agent run share: the research context, memory and the run id.

Every backtest the agent runs is remembered in strategy memory under the agent's run id, so the
"remember" stage of the loop happens without a separate tool. Strategy memory replaces a run's
records as a whole (`remember(run_id, records)`), so the session keeps the run's records and
writes all of them each time: a repeated backtest replaces its record instead of adding one.
A session without a run id (a replay, a dry run) remembers nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from tradeloop.app.options import ChainAt
from tradeloop.app.research import ResearchContext
from tradeloop.clock import utc_now
from tradeloop.domain.research import Evaluation
from tradeloop.storage.memory import StrategyMemory, StrategyRecord

_CANDLE_CACHE_SIZE = 2
CandleKey = tuple[str, date | None, date | None]


@dataclass
class ResearchSession:
    """The research context and strategy memory behind the research tools of one run.

    Attributes:
        context: backtest, scoring and cost settings, and the candle store.
        memory: where evaluations are remembered and the best are read.
        run_id: the agent run's id; evaluations are remembered under it (None: not at all).
        now: the clock stamping remembered evaluations.
        option_chain: prices a model option chain (`app.options.chain_at` with its settings).
    """

    context: ResearchContext
    memory: StrategyMemory
    run_id: str | None = None
    now: Callable[[], datetime] = utc_now
    option_chain: ChainAt = field(kw_only=True)
    _records: dict[tuple[str, str], StrategyRecord] = field(default_factory=dict, repr=False)
    _candle_cache: OrderedDict[CandleKey, pl.DataFrame] = field(
        default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def minute_candles(self, symbol: str, start: date | None, end: date | None) -> pl.DataFrame:
        """1m candles of `symbol` from `start` to `end` (IST dates, both inclusive), never the
        lockbox (`ResearchContext.research_candles`): the agent's choices must not see it.

        The last windows read are kept: a research run backtests many specs on one window.
        """
        key = (symbol, start, end)
        with self._lock:
            if key in self._candle_cache:
                self._candle_cache.move_to_end(key)
                return self._candle_cache[key]
        frame = self.context.research_candles(symbol, start, end)
        with self._lock:
            self._candle_cache[key] = frame
            while len(self._candle_cache) > _CANDLE_CACHE_SIZE:
                self._candle_cache.popitem(last=False)
        return frame

    def remember(self, evaluation: Evaluation) -> bool:
        """Remember `evaluation` under the run id; False when the session has none."""
        if self.run_id is None:
            return False
        record = StrategyRecord.of(evaluation, self.run_id, self.now())
        with self._lock:
            self._records[(record.spec_id, record.symbol)] = record
            records = list(self._records.values())
        self.memory.remember(self.run_id, records)
        return True
