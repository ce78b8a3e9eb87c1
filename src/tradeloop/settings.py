"""Settings: environment (`TRADELOOP_*`), `.env`, and an optional `tradeloop.toml`.

Precedence, highest first: explicit arguments, environment variables, `.env`, `tradeloop.toml`,
defaults. Nested sections use `__` in the environment: `TRADELOOP_RISK__MAX_OPEN_POSITIONS=2`
overrides `[risk] max_open_positions` in the file. The file's path is `./tradeloop.toml` unless
`TRADELOOP_CONFIG` names another. An unknown key anywhere in the file is refused by name.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.market import session
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.errors import ConfigError

ENV_PREFIX = "TRADELOOP_"
LIVE_CONFIRM_PHRASE = "yes-i-accept-real-losses"


def config_file_path() -> Path:
    """The `tradeloop.toml` in use: `$TRADELOOP_CONFIG` or `./tradeloop.toml`."""
    return Path(os.environ.get(f"{ENV_PREFIX}CONFIG", "tradeloop.toml"))


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
    weekly_expiry_weekday: dict[str, int] = Field(
        default_factory=lambda: {"NIFTY": 1, "BANKNIFTY": 1},
        description="Weekday (0=Monday) of the weekly expiry per index.",
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
    dhan_base_url: str = "https://api.dhan.co/v2"
    database_url: SecretStr | None = Field(
        None, description="SQLModel URL of the ledger; default SQLite under the data dir."
    )
    ollama_host: str | None = Field(
        None, description="Ollama server; default $OLLAMA_HOST or localhost."
    )
    ollama_model: str = "qwen2.5:7b-instruct"
    ollama_num_ctx: int = Field(8192, ge=512)
    ollama_timeout_s: float = Field(120.0, gt=0)
    risk: RiskLimits = RiskLimits()
    strategy: ScoringConfig = ScoringConfig()
    execution: ExecutionSettings = ExecutionSettings()
    market: MarketSettings = MarketSettings()

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

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
        return (init_settings, env_settings, dotenv_settings, toml)

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
    def audit_dir(self) -> Path:
        return self.data_dir / "audit"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @property
    def ledger_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'ledger.sqlite'}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into a `ConfigError` that names the key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc)) from exc


def _describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(
                f"unknown setting '{key}' (in {config_file_path()} or a {ENV_PREFIX}* variable): "
                "remove it or check its spelling against `tradeloop config show`"
            )
        else:
            lines.append(f"setting '{key}': {error['msg']} (got {error.get('input')!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


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
