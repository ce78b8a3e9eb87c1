"""Settings: environment (`TRADELOOP_*`), `.env`, and an optional `tradeloop.toml`.

Precedence, highest first: explicit arguments, environment variables, `.env`, `tradeloop.toml`,
defaults. Nested sections use `__` in the environment: `TRADELOOP_RISK__MAX_OPEN_POSITIONS=2`
overrides `[risk] max_open_positions` in the file. The file's path is `./tradeloop.toml` unless
`TRADELOOP_CONFIG` (in the environment or `.env`) names another; a named file must exist, while
an absent `./tradeloop.toml` just means defaults. An unknown key anywhere in the file, a TOML
syntax error and an invalid value are each a `ConfigError` naming the file or variable and key.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.market import session
from tradeloop.domain.market.plausibility_rules import PlausibilityRules
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.errors import ConfigError

ENV_PREFIX = "TRADELOOP_"
LIVE_CONFIRM_PHRASE = "yes-i-accept-real-losses"


CONFIG_VARIABLE = f"{ENV_PREFIX}CONFIG"
DOTENV_FILE = ".env"
# Variables with a `TRADELOOP_` prefix that are not settings: read by something else, so a
# `.env` line naming them is explained rather than called an unknown setting.
_NOT_SETTINGS = {
    f"{ENV_PREFIX}HOME": (
        "it is read by `prefect deploy` (deployments/prefect.yaml) from the shell environment, "
        "not by tradeloop; export it in the shell that runs `prefect deploy` and remove it "
        "from .env"
    ),
}


def dotenv_entries() -> dict[str, str]:
    """The `.env` file's variables, names upper-cased (settings names are case-insensitive)."""
    if not os.path.isfile(DOTENV_FILE):
        return {}
    entries = dotenv_values(DOTENV_FILE, encoding="utf-8")
    return {key.upper(): value or "" for key, value in entries.items()}


def config_file_source() -> str | None:
    """Where the config file's name came from: `env ...`, `.env ...`, or None for the default."""
    if CONFIG_VARIABLE in os.environ:
        return f"env {CONFIG_VARIABLE}"
    if CONFIG_VARIABLE in dotenv_entries():
        return f".env {CONFIG_VARIABLE}"
    return None


def config_file_path() -> Path:
    """The `tradeloop.toml` in use: `$TRADELOOP_CONFIG` (environment, then `.env`) or the default.

    A file named by `TRADELOOP_CONFIG` must exist: a `ConfigError` says so rather than quietly
    using the defaults (the user's risk limits would not be in force).
    """
    source = config_file_source()
    if source is None:
        return Path("tradeloop.toml")
    named = os.environ.get(CONFIG_VARIABLE)
    if named is None:
        named = dotenv_entries()[CONFIG_VARIABLE]
    if not named.strip():
        raise ConfigError(
            f"{CONFIG_VARIABLE} is empty ({source}): set it to the path of your tradeloop.toml, "
            "or unset it to use ./tradeloop.toml if present"
        )
    path = Path(named).expanduser()
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise ConfigError(
            f"{CONFIG_VARIABLE}={named} ({source}) names a config file that {problem} "
            f"(resolved: {path.resolve()}); fix the path, create the file, or unset "
            f"{CONFIG_VARIABLE} to use ./tradeloop.toml if present. Nothing was run with the "
            "defaults in its place."
        )
    return path


def _refuse_not_settings_in_dotenv() -> None:
    for name, why in _NOT_SETTINGS.items():
        if name in dotenv_entries():
            raise ConfigError(f"{name} in {DOTENV_FILE} is not a tradeloop setting: {why}")


class _DotEnvWithoutConfig(PydanticBaseSettingsSource):
    """The `.env` source minus `TRADELOOP_CONFIG`, which chose the file and is no setting."""

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._inner = inner

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        values = self._inner()
        return {key: value for key, value in values.items() if key.upper() != CONFIG_VARIABLE}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExecutionSettings(_Section):
    """How orders are simulated (paper, backtest) and sent (live)."""

    slippage_bps: float = Field(
        2.0, ge=0, description="Slippage against the taker in basis points."
    )
    costs_table: Path | None = Field(
        None,
        description=(
            "A TOML cost table to charge instead of the newest bundled one (see docs/costs.md)."
        ),
    )
    square_off_time: time = Field(
        session.SQUARE_OFF, description="Intraday positions close at this IST time."
    )
    break_even_after_r: float = Field(1.0, gt=0, description="Move the stop to entry after +X R.")


class MarketSettings(_Section):
    """Exchange calendar settings."""

    holidays_file: Path | None = Field(
        None, description="Extra NSE holidays (CSV: date,description) added to the bundled table."
    )


class OptionsSettings(_Section):
    """How index options are priced where no market price is at hand (model chains)."""

    risk_free_rate: float = Field(
        0.065, ge=-0.05, le=0.5, description="Risk-free rate, a decimal per year (0.065 = 6.5 %)."
    )
    dividend_yield: float = Field(
        0.0, ge=0, le=0.2, description="The index's continuous dividend yield (0 = ignore)."
    )
    smile_skew: float = Field(
        -0.08, ge=-1, le=1, description="Smile slope per standard deviation of moneyness."
    )
    smile_curvature: float = Field(
        0.03, ge=0, le=1, description="Smile curvature per squared standard deviation."
    )
    expiry_square_off: time = Field(
        session.SQUARE_OFF,
        description="On its expiry day, a bought option is sold at this IST time (backtests).",
    )


class DeploySettings(_Section):
    """What research deploys: the best strategies that passed the significance gate."""

    top_k: int = Field(
        3, ge=0, description="Deploy this many of a research run's passing strategies (0: none)."
    )
    mode: Literal["paper"] = Field(
        "paper",
        description="Research deploys to paper only; `tradeloop deployments promote` goes live.",
    )


class Settings(BaseSettings):
    """Every setting tradeloop reads. Build it once with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Field(Path(".tradeloop"), description="Candles, memory, ledger, audit logs.")
    trading_mode: Literal["paper", "live"] = "paper"
    live_confirm: str | None = Field(
        None, description=f"Must equal '{LIVE_CONFIRM_PHRASE}' for live trading."
    )
    dhan_client_id: str | None = None
    dhan_access_token: SecretStr | None = None
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token of the REST API's POST routes (`tradeloop api`); without it "
        "the API binds to loopback only and refuses every POST.",
    )
    dhan_base_url: str = "https://api.dhan.co/v2"
    dhan_feed_url: str = Field(
        "wss://api-feed.dhan.co",
        description="Dhan's live market feed (a test points it at a local replay).",
    )
    database_url: SecretStr | None = Field(
        None, description="SQLModel URL of the ledger; default SQLite under the data dir."
    )
    ollama_host: str | None = Field(
        None, description="Ollama server; default $OLLAMA_HOST or localhost."
    )
    ollama_model: str = "qwen2.5:7b-instruct"
    ollama_num_ctx: int = Field(8192, ge=512)
    ollama_timeout_s: float = Field(
        90.0,
        gt=0,
        # 90 s fits the default 7B Q4 model on a CPU: ~1k new prompt tokens at >= 30 tok/s plus
        # a <= 300-token call at >= 6 tok/s; smaller models answer well inside it (issue 14).
        description="Seconds to wait for one Ollama reply; named in the timeout error.",
    )
    risk: RiskLimits = RiskLimits()
    strategy: ScoringConfig = ScoringConfig()
    execution: ExecutionSettings = ExecutionSettings()
    market: MarketSettings = MarketSettings()
    plausibility: PlausibilityRules = PlausibilityRules()
    options: OptionsSettings = OptionsSettings()
    deploy: DeploySettings = DeploySettings()

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_not_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            # Path("") is the current directory: never a data dir nobody asked for.
            raise ValueError(
                "is empty; set it to a directory path (it is created if missing) or unset it "
                "for ./.tradeloop"
            )
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        resolved = value.expanduser().resolve()
        if resolved.exists() and not resolved.is_dir():
            raise ValueError(f"{resolved} is a file, not a directory; name a directory")
        return resolved

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file_path())
        dotenv = _DotEnvWithoutConfig(settings_cls, dotenv_settings)
        return (init_settings, env_settings, dotenv, toml)

    # Paths under the data directory: one place, so nothing writes elsewhere.
    @property
    def candles_dir(self) -> Path:
        return self.data_dir / "candles"

    @property
    def memory_dir(self) -> Path:
        return self.data_dir / "memory"

    @property
    def volatility_dir(self) -> Path:
        return self.data_dir / "volatility"

    @property
    def agent_runs_dir(self) -> Path:
        return self.data_dir / "agent_runs"

    @property
    def backtests_dir(self) -> Path:
        return self.data_dir / "backtests"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @property
    def ledger_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'ledger.sqlite'}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; every mistake in them is a `ConfigError` naming the input and fix."""
    path = config_file_path()
    _refuse_not_settings_in_dotenv()
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML: {exc}. Fix that line (text and times "
            'need quotes, e.g. square_off_time = "15:15:00"; numbers do not, and inf/nan '
            f"are refused) or point {CONFIG_VARIABLE} at another file"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8"
        ) from exc
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, path)) from exc


def _source_of_key(loc: tuple[str, ...], path: Path) -> str:
    """Which input set a key: the variable (environment or `.env`) or the config file."""
    variable = ENV_PREFIX + "__".join(loc).upper()
    if variable in {key.upper() for key in os.environ}:
        return f"environment variable {variable}"
    if variable in dotenv_entries():
        return f"{variable} in {DOTENV_FILE}"
    section = ".".join(loc[:-1])
    return f"{path} [{section}]" if section else f"{path} (top level)"


def _describe_validation_error(exc: ValidationError, path: Path) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        key = ".".join(loc)
        if error["type"] == "extra_forbidden":
            lines.append(
                f"unknown setting '{key}' (in {path}, {DOTENV_FILE} or a {ENV_PREFIX}* "
                "variable): remove it or check its spelling against `tradeloop config show`"
            )
            continue
        field = _field_of(loc)
        if (
            field is not None
            and isinstance(field.annotation, type)
            and issubclass(field.annotation, BaseModel)
        ):
            # A rule across keys of one section (entry_window_start before entry_window_end).
            variables = f"{ENV_PREFIX}{'__'.join(loc).upper()}__*"
            lines.append(
                f"section [{key}] (from {path}, {DOTENV_FILE} or {variables} variables): "
                f"{error['msg'].removeprefix('Value error, ')}; fix those values"
            )
            continue
        hint = f" ({field.description})" if field is not None and field.description else ""
        lines.append(
            f"setting '{key}' from {_source_of_key(loc, path)}: "
            f"{error['msg'].removeprefix('Value error, ')} "
            f"(got {error.get('input')!r}){hint}; fix the value there"
        )
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _field_of(loc: tuple[str, ...]) -> Any:
    """The pydantic field at a location in `Settings`, or None (a model-level error)."""
    model: Any = Settings
    field = None
    for part in loc:
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return None
        field = fields[part]
        model = field.annotation
    return field


def configure_prefect_environment(settings: Settings) -> None:
    """Keep Prefect's files inside the data dir and its analytics off, unless the user chose.

    Must run before `prefect` is imported: Prefect reads these variables at import time.
    """
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # A cold temporary server (migrations on a new SQLite file) can take longer than Prefect's
    # default wait on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Prefect creates its home without parents and fails later with "unable to open database".
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
