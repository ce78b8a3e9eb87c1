"""`tradeloop serve`: every deployment of deployments/prefect.yaml, served from this process.

For a laptop: no work pool and no worker. Each entry of the file becomes
``flow.to_deployment(...)`` with the entry's name, description, parameters, schedules (IST unless
the entry names a timezone) and concurrency limit, and `prefect.serve` runs them all: it creates
the scheduled runs' processes, and runs started from the Prefect UI or `prefect deployment run`.

It needs a Prefect server the user started (`prefect server start`, PREFECT_API_URL set). Unlike
the other commands it does not start a temporary server: that server runs without the scheduler
service and without the UI, so nothing would run on schedule and nothing could be opened.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from tradeloop.cli._common import console, settings
from tradeloop.errors import ConfigError, PrefectUnavailableError

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

IST = "Asia/Kolkata"
DEFAULT_FILE = Path("deployments/prefect.yaml")
_ENTRY_KEYS = {
    "name",
    "description",
    "entrypoint",
    "parameters",
    "schedules",
    "concurrency_limit",
    "tags",
    "version",
}
# What a worker needs and a served deployment does not: read past, not refused.
_IGNORED_KEYS = {"work_pool", "job_variables", "build", "push", "pull"}
_SCHEDULE_KINDS = ("cron", "interval", "rrule")


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""
    app.command("serve")(serve)


@dataclass(frozen=True)
class Schedule:
    """One schedule of an entry: `kind` is cron, interval (seconds) or rrule."""

    kind: str
    value: str | float
    timezone: str = IST
    active: bool = True

    def describe(self) -> str:
        when = f"every {self.value:g} s" if self.kind == "interval" else str(self.value)
        zone = "IST" if self.timezone == IST else self.timezone
        return f"{when} ({zone}){'' if self.active else ', paused'}"


@dataclass(frozen=True)
class ServedEntry:
    """One deployment of the file, checked: its flow is `module`.`function`."""

    name: str
    entrypoint: str
    module: str
    function: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: tuple[Schedule, ...] = ()
    concurrency_limit: int | None = None
    collision_strategy: str | None = None
    tags: tuple[str, ...] = ()
    version: str | None = None


def read_entries(path: Path, root: Path) -> list[ServedEntry]:
    """The deployments of the prefect.yaml at `path`, their entrypoints resolved against `root`
    (the directory Prefect resolves them against: the one the command runs from).

    Raises `ConfigError` naming the file and the entry for anything that cannot be served.
    """
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path} does not exist: run `tradeloop serve` from the repository root, or give "
            "the deployments file with --file"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    entries = document.get("deployments") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path} has no `deployments:` list: nothing to serve")
    parsed = [_entry(path, root, index, raw) for index, raw in enumerate(entries)]
    names = [entry.name for entry in parsed]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"{path}: deployment name(s) used twice: {', '.join(repeated)}")
    return parsed


def _entry(path: Path, root: Path, index: int, raw: object) -> ServedEntry:
    where = f"{path}: deployments[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} is not a mapping of name, entrypoint, parameters, ...")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where} has no `name`")
    where = f"{path}: deployment {name!r}"
    unknown = sorted(set(raw) - _ENTRY_KEYS - _IGNORED_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: `tradeloop serve` does not know {', '.join(unknown)} "
            f"(it reads {', '.join(sorted(_ENTRY_KEYS))})"
        )
    module, function = _flow_location(where, root, raw.get("entrypoint"))
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ConfigError(f"{where}: `parameters` must be a mapping of the flow's parameters")
    limit, strategy = _concurrency(where, raw.get("concurrency_limit"))
    return ServedEntry(
        name=name,
        entrypoint=str(raw["entrypoint"]),
        module=module,
        function=function,
        description=" ".join(str(raw["description"]).split()) if raw.get("description") else None,
        parameters=parameters,
        schedules=tuple(_schedule(where, item) for item in raw.get("schedules") or []),
        concurrency_limit=limit,
        collision_strategy=strategy,
        tags=tuple(str(tag) for tag in raw.get("tags") or []),
        version=None if raw.get("version") is None else str(raw["version"]),
    )


def _flow_location(where: str, root: Path, entrypoint: object) -> tuple[str, str]:
    """The module and function of `path/to/file.py:function`, the file found under `root` and
    inside an importable package (so the flow runs from the installed tradeloop)."""
    if not isinstance(entrypoint, str) or ":" not in entrypoint:
        raise ConfigError(f"{where}: `entrypoint` must be `path/to/file.py:flow_function`")
    file, function = entrypoint.rsplit(":", 1)
    source = (root / file).resolve()
    if not source.is_file():
        raise ConfigError(
            f"{where}: the entrypoint file {file} does not exist under {root} (entrypoints are "
            "relative to the directory you run from: the repository root)"
        )
    parts = [source.stem]
    directory = source.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts), function


def _concurrency(where: str, raw: object) -> tuple[int | None, str | None]:
    if raw is None:
        return None, None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw, None
    if isinstance(raw, dict) and isinstance(raw.get("limit"), int):
        strategy = raw.get("collision_strategy")
        return raw["limit"], None if strategy is None else str(strategy)
    raise ConfigError(
        f"{where}: `concurrency_limit` must be a number or `{{limit: N, collision_strategy: "
        "ENQUEUE | CANCEL_NEW}`"
    )


def _schedule(where: str, raw: object) -> Schedule:
    kinds = [kind for kind in _SCHEDULE_KINDS if isinstance(raw, dict) and kind in raw]
    if not isinstance(raw, dict) or len(kinds) != 1:
        raise ConfigError(f"{where}: each schedule needs exactly one of cron, interval, rrule")
    kind = kinds[0]
    value = raw[kind]
    if kind == "interval" and not isinstance(value, int | float):
        raise ConfigError(f"{where}: a schedule's `interval` is a number of seconds")
    return Schedule(
        kind=kind,
        value=value if kind == "interval" else str(value),
        timezone=str(raw.get("timezone") or IST),
        active=bool(raw.get("active", True)),
    )


def to_runner_deployment(entry: ServedEntry) -> RunnerDeployment:
    """`entry` as Prefect's `flow.to_deployment`, its flow imported from the installed package."""
    from prefect import Flow
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType, RunnerDeployment
    from prefect.schedules import Cron, Interval, RRule

    where = f"deployment {entry.name!r} ({entry.entrypoint})"
    try:
        module = importlib.import_module(entry.module)
    except ImportError as exc:
        raise ConfigError(f"{where}: module {entry.module} cannot be imported: {exc}") from None
    flow = getattr(module, entry.function, None)
    if not isinstance(flow, Flow):
        raise ConfigError(f"{where}: {entry.module} has no flow named {entry.function!r}")
    makers = {"cron": Cron, "interval": Interval, "rrule": RRule}
    schedules = [
        makers[item.kind](item.value, timezone=item.timezone, active=item.active)  # type: ignore[operator]
        for item in entry.schedules
    ]
    concurrency: int | ConcurrencyLimitConfig | None = entry.concurrency_limit
    if entry.concurrency_limit is not None and entry.collision_strategy is not None:
        concurrency = ConcurrencyLimitConfig(
            limit=entry.concurrency_limit,
            collision_strategy=ConcurrencyLimitStrategy(entry.collision_strategy),
        )
    deployment = flow.to_deployment(
        name=entry.name,
        description=entry.description,
        parameters=entry.parameters,
        schedules=schedules,
        concurrency_limit=concurrency,
        tags=list(entry.tags) or None,
        version=entry.version,
        paused=False,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    assert isinstance(deployment, RunnerDeployment)  # a coroutine only in async code
    return deployment


def serve(
    file: Path = typer.Option(
        DEFAULT_FILE, "--file", "-f", help="The Prefect deployments file to serve."
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="At most this many flow runs at once (default: no limit)."
    ),
) -> None:
    """Serve every deployment of deployments/prefect.yaml from this process (no work pool or
    worker): scheduled runs (IST) and runs started from the Prefect UI. Needs
    `prefect server start` and PREFECT_API_URL. Ctrl-C stops."""
    settings()  # Prefect's home inside the data dir, before Prefect is imported
    from prefect.settings import PREFECT_API_URL

    entries = read_entries(file, Path.cwd())
    if not PREFECT_API_URL.value():
        raise PrefectUnavailableError(
            "`tradeloop serve` needs a Prefect server that schedules runs and shows them in its "
            "UI, and PREFECT_API_URL is not set. In another shell run `prefect server start` "
            "(with PREFECT_HOME set, see docs/operations.md), then `export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api` and run `tradeloop serve` again. (The "
            "temporary server other commands start has no scheduler and no UI.)"
        )
    deployments = [to_runner_deployment(entry) for entry in entries]

    import prefect
    from prefect.settings import PREFECT_UI_URL

    from tradeloop.cli._prefect import prefect_api

    with prefect_api() as api_url:
        console.print(_served_table(entries, deployments))
        ui = PREFECT_UI_URL.value() or api_url.removesuffix("/api")
        console.print(
            f"Prefect UI: {ui} (runs, logs and artifacts; the API is {api_url}).\n"
            "Start a run from the UI or with `prefect deployment run 'FLOW/DEPLOYMENT'`. "
            "Ctrl-C stops serving (the schedules are paused until the next `tradeloop serve`).",
            highlight=False,
        )
        prefect.serve(*deployments, print_starting_message=False, limit=limit)
    console.print("stopped serving")


def _served_table(entries: list[ServedEntry], deployments: list[RunnerDeployment]) -> Table:
    table = Table(title=f"serving {len(entries)} deployment(s)", title_justify="left")
    table.add_column("deployment", no_wrap=True)
    table.add_column("flow", no_wrap=True)
    table.add_column("schedule")
    table.add_column("concurrency")
    for entry, deployment in zip(entries, deployments, strict=True):
        schedules = "\n".join(item.describe() for item in entry.schedules) or "on demand"
        concurrency = "-"
        if entry.concurrency_limit is not None:
            concurrency = f"{entry.concurrency_limit} ({entry.collision_strategy or 'ENQUEUE'})"
        table.add_row(
            escape(f"{deployment.flow_name}/{entry.name}"),
            escape(entry.entrypoint.rsplit("/", 1)[-1]),
            escape(schedules),
            concurrency,
        )
    return table
