"""The environment a test gives a `tradeloop` command it runs in its own process."""

from __future__ import annotations

import os
from pathlib import Path


def cli_environment(root: Path) -> dict[str, str]:
    """This process's environment without any PREFECT_/TRADELOOP_ setting, with a data dir
    and Prefect home under `root`, an empty config file, no analytics and a wide terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TRADELOOP_"))}
    root.mkdir(parents=True, exist_ok=True)
    config = root / "empty.toml"
    config.write_text("", encoding="utf-8")
    env |= {
        "TRADELOOP_DATA_DIR": str(root / "data"),
        "TRADELOOP_CONFIG": str(config),
        "PREFECT_HOME": str(root / "data" / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "200",
    }
    return env
