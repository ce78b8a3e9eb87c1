"""StrategySpec: a strategy as data. An LLM or a generator emits it, a person reads it, and one
compiler (`compiler.compile_spec`) turns it into the signals the backtester trades.

A spec is a JSON document (version 1)::

    {
      "name": "nifty_rsi_reversion_5m",
      "symbol": "NIFTY", "timeframe": "5m", "direction": "long",
      "instrument": {"kind": "index"},
      "entry": {"all": [
        {"left": {"indicator": "rsi", "period": 14}, "op": "crosses_above", "right": 30},
        {"left": {"price": "close"}, "op": ">", "right": {"indicator": "ema", "period": 200}}
      ]},
      "exit": {"stop_loss": {"kind": "atr", "multiple": 1.5},
               "take_profit": {"kind": "r_multiple", "r": 2}},
      "filters": {"time_window": {"start": "09:30", "end": "14:30"}}
    }

Parsing checks the structure, each indicator against the registry (defaults filled in) and the
semantic rules of `validation.py`: a `StrategySpec` that exists is valid. `spec.id` is the first
16 hex digits of the sha256 of the canonical JSON (sorted keys, no spaces, integral floats
written as integers), so it is the same in every process and for any key order or number
spelling (2 and 2.0) of the same rules. It is the spec's cache key and storage key.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode
from pydantic_core import PydanticCustomError, core_schema

from tradeloop.domain.market.candles import Interval
from tradeloop.domain.market.instruments import INDICES, index_instrument
from tradeloop.domain.strategy.conditions import Entry
from tradeloop.domain.strategy.rules import ExitRules, Filters, IndexInstrument, Instrument
from tradeloop.domain.strategy.spec_errors import SEMANTIC_ERROR, describe_errors
from tradeloop.domain.strategy.validation import spec_problems
from tradeloop.errors import NotFoundError, SpecError

SPEC_VERSION: Literal[1] = 1
SPEC_ID_PATTERN = r"^[0-9a-f]{16}$"
"""A spec id: the first 16 hex digits of the SHA-256 of its canonical JSON (`StrategySpec.id`)."""


class CompactJsonSchema(GenerateJsonSchema):
    """The JSON schema without titles: descriptions carry the meaning, titles only cost tokens."""

    def generate(
        self, schema: core_schema.CoreSchema, mode: JsonSchemaMode = "validation"
    ) -> dict[str, Any]:
        generated = super().generate(schema, mode)
        stripped: dict[str, Any] = _drop_titles(generated)
        return stripped


def _drop_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _drop_titles(value)
            for key, value in node.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_drop_titles(item) for item in node]
    return node


class StrategySpec(BaseModel):
    """A trading strategy on NIFTY or BANKNIFTY: when to enter, how to exit, when not to trade.

    Every decision is taken on a bar's close; the entry fills at the next bar's open.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    spec_version: Literal[1] = Field(SPEC_VERSION, description="Version of this format: 1.")
    name: str = Field(
        min_length=1,
        max_length=80,
        pattern=r"^[^\x00-\x1f]+$",
        description="Short readable name, e.g. nifty_rsi_reversion_5m.",
    )
    symbol: str = Field(
        description="Index traded: NIFTY or BANKNIFTY.",
        json_schema_extra={"enum": list(INDICES)},
    )
    timeframe: Interval = Field(description="Bar length of the candles the rules read.")
    direction: Literal["long", "short"] = Field(
        description="long buys (profits when the index rises), short sells."
    )
    instrument: Instrument = Field(
        default_factory=lambda: IndexInstrument(kind="index"),
        description='What is traded: {"kind": "index"}, {"kind": "future"} or an option.',
    )
    entry: Entry = Field(
        description=(
            'When to enter: {"all": [conditions]} or {"any": [conditions]}. A condition is '
            '{"left": operand, "op": ">", "right": operand}; an operand is a number, '
            '{"price": "close"} or {"indicator": "rsi", "period": 14}.'
        )
    )
    exit: ExitRules = Field(description="Stop loss (required), take profit and other exits.")
    filters: Filters = Field(
        default_factory=Filters, description="Time-of-day window and regime conditions."
    )

    @field_validator("symbol", mode="before")
    @classmethod
    def _known_index(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return index_instrument(value).symbol
        except NotFoundError as exc:
            raise PydanticCustomError("unknown_symbol", "{reason}", {"reason": str(exc)}) from None

    @model_validator(mode="after")
    def _semantics(self) -> StrategySpec:
        problems = spec_problems(self)
        if problems:
            raise PydanticCustomError(
                SEMANTIC_ERROR,
                "{summary}",
                {"summary": "; ".join(map(str, problems)), "problems": tuple(problems)},
            )
        return self

    @classmethod
    def model_json_schema(  # type: ignore[override]
        cls,
        by_alias: bool = True,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = CompactJsonSchema,
        mode: JsonSchemaMode = "validation",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The schema given to an LLM: every field described, no titles."""
        return super().model_json_schema(by_alias, ref_template, schema_generator, mode, **kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> StrategySpec:
        """Parse a JSON document; any problem raises a SpecError naming each field and fix.

        A key given twice in one object is refused (JSON parsers differ on which one wins), and
        so is a document nested too deep to parse.
        """
        try:
            document = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
        except _DuplicateKeyError as exc:
            raise SpecError(
                f"strategy spec gives the key {exc.key!r} twice in one object ({exc.where}); "
                "keep the one you mean and delete the other"
            ) from None
        except RecursionError:
            raise SpecError(_TOO_DEEP) from None
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"strategy spec is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                f"{exc.colno}; fix the syntax (double-quoted keys, no trailing commas)"
            ) from None
        except UnicodeDecodeError as exc:
            raise SpecError(f"strategy spec is not UTF-8 text: {exc.reason}") from None
        return cls.from_document(document)

    @classmethod
    def from_document(cls, document: Any) -> StrategySpec:
        """Validate an already-parsed JSON document; errors as in `from_json`."""
        if not isinstance(document, dict):
            raise SpecError(
                f"a strategy spec is a JSON object, got {type(document).__name__}: "
                f"see `tradeloop strategy schema`"
            )
        try:
            return cls.model_validate(document)
        except RecursionError:
            raise SpecError(_TOO_DEEP) from None
        except ValidationError as exc:
            lines = describe_errors(exc, cls)
            name = document.get("name")
            label = f"strategy spec {name!r}" if isinstance(name, str) else "strategy spec"
            raise SpecError(
                f"{label} is invalid ({len(lines)} problem{'s' if len(lines) != 1 else ''}):\n"
                + "\n".join(f"  - {line}" for line in lines)
            ) from None

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, integral floats as integers, -0.0 as 0."""
        return json.dumps(
            _canonical(self.model_dump(mode="json")),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
            allow_nan=False,
        )

    @cached_property
    def id(self) -> str:
        """First 16 hex digits of the sha256 of `canonical_json()`."""
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()[:16]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (`update` is not validated, as in pydantic); its id is computed afresh."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("id", None)
        return copied

    def to_json(self, indent: int | None = 2) -> str:
        """The spec as a readable JSON document (every default written out)."""
        document = _canonical(self.model_dump(mode="json"))
        return json.dumps(document, indent=indent, ensure_ascii=False)


_TOO_DEEP = (
    "strategy spec is nested too deeply to read (lists or objects inside each other hundreds "
    "of levels deep); a spec is a few levels deep: see `tradeloop strategy schema`"
)


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str, where: str) -> None:
        super().__init__(key)
        self.key = key
        self.where = where


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            others = [other for other, _ in pairs if other != key][:5]
            where = f"beside {', '.join(others)}" if others else "in an object with no other keys"
            raise _DuplicateKeyError(key, where)
        document[key] = value
    return document


def _canonical(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(key): _canonical(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_canonical(item) for item in node]
    if isinstance(node, float):
        if not math.isfinite(node):
            raise ValueError(f"non-finite number {node!r} in a validated spec")
        return int(node) if node.is_integer() else node
    return node


def load_spec(path: Path | str) -> StrategySpec:
    """Read a spec file; a missing file or an invalid spec raises a UserError naming the file."""
    source = Path(path)
    try:
        text = source.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"strategy spec file {source} does not exist") from None
    except IsADirectoryError:
        raise SpecError(f"{source} is a directory: give the path of a .json spec file") from None
    try:
        return StrategySpec.from_json(text)
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None
