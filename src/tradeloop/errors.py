"""The tradeloop error tree: who must act, and how.

::

    TradeloopError              root: catch this to catch everything of ours
    ├── UserError               the user's input is wrong; the message says how to fix it
    │   ├── ConfigError         settings, tradeloop.toml, environment
    │   ├── DataValidationError candles or files refused (names the rows and the rule)
    │   ├── SpecError           an invalid StrategySpec (names the field)
    │   └── NotFoundError       a symbol, run id or file that does not exist
    ├── ModelError              the LLM's reply is unusable (bad JSON, unknown tool, bad
    │   │                       args): fed back to the model, never executed
    │   └── PlannerError        the model gave no usable call after the planner's re-asks
    ├── TransientError          may work on retry (timeouts, 5xx, rate limits, a locked
    │   │                       database): the only family retried (Prefect, the agent)
    │   ├── RateLimitedError
    │   ├── DatabaseUnavailableError  the ledger database cannot be reached: names host and
    │   │                       port (never the password) and what to start
    │   └── PrefectUnavailableError   the Prefect API does not answer or its temporary
    │                           server cannot start: names which and what to start
    └── OperationalError        an operational stop: raised loud, never retried
        ├── TradingRefusedError     live trading refused (a missing switch), kill switch, HALTED
        ├── OrderStateUnknownError  an order's outcome is unknown: reconcile before anything else
        ├── NotSentError            refused before anything left this process (nothing to
        │                           reconcile: the gateway journals the order NOT_SENT)
        └── ReconciliationError     the ledger and the broker disagree; a person must look

Bugs in tradeloop itself are ordinary Python exceptions (AssertionError, TypeError, ...): they are
never caught and re-labelled as one of the above.

In an agent run a tool's `UserError` or `ModelError` is fed back to the model, a
`TransientError` is retried and then fed back as retryable, and anything else (a bug, an
`OperationalError`) ends the run `crashed` and is raised (see `tradeloop.agent.executor`).
"""

from __future__ import annotations


class TradeloopError(Exception):
    """Root of every error tradeloop raises on purpose."""


class UserError(TradeloopError):
    """The user's input is wrong. The message names what is wrong and how to fix it."""


class ConfigError(UserError):
    """Settings, `tradeloop.toml` or the environment are invalid."""


class DataValidationError(UserError):
    """Candles or an input file were refused whole; nothing was written."""


class SpecError(UserError):
    """A strategy spec is invalid."""


class NotFoundError(UserError):
    """Something named by the user does not exist."""


class ModelError(TradeloopError):
    """The model's reply cannot be executed; it is fed back to the model as an observation."""


class PlannerError(ModelError):
    """The model gave no usable call for a step after the planner fed its mistakes back."""


class TransientError(TradeloopError):
    """A failure that may succeed on retry: timeouts, 5xx, rate limits, a locked database."""


class RateLimitedError(TransientError):
    """A rate limit was hit; retry after a pause."""


class DatabaseUnavailableError(TransientError):
    """The ledger database cannot be reached or opened; the message names where, never the
    password, and what to start."""


class PrefectUnavailableError(TransientError):
    """The Prefect API the flows need does not answer, or its temporary server did not start;
    the message names the URL or the server's log, and what to start."""


class OperationalError(TradeloopError):
    """An operational stop: raised loudly, never retried automatically."""


class TradingRefusedError(OperationalError):
    """Trading was refused: live mode switches missing, kill switch on, or trading HALTED."""


class OrderStateUnknownError(OperationalError):
    """The outcome of an order call is unknown; reconcile by correlation id before anything else."""


class NotSentError(OperationalError):
    """A call was refused before anything left this process: the broker never saw it.

    A broker's `place` raises it only when it is certain (the request could not be built, a
    local guard refused it); the gateway then journals the order NOT_SENT, a final state.
    """


class ReconciliationError(OperationalError):
    """The ledger and the broker disagree; a person must decide."""


def is_transient(exc: BaseException) -> bool:
    """True when `exc` is worth retrying (used as Prefect's `retry_condition_fn`)."""
    return isinstance(exc, TransientError)
