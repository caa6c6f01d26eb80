"""The project's configuration: every environment variable read in one place, into one object.

`Config.from_env(environ)` is the only reader of the environment in the package. It is called
once per load: by `definitions.build_definitions` for the code location (which hands the object to
every `defs/` module through `using`), and by `cli.main` for the command line (flags override its
fields). Nothing writes os.environ. Outside those two scopes, library calls (tests, notebooks)
read the environment when they are called, never at import.

The variables and their meaning are the README's configuration table. BigQuery's project is
handed to Dagster as a `dg.EnvVar` (its name, not its value): Dagster resolves it in the run
worker, so the value never lands in run config or metadata; that is Dagster reading a secret at
run time, not the package reading configuration.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

TARGET_ENV = "NBA_PRECOMPUTE_TARGET"
WAREHOUSE_ENV = "NBA_PRECOMPUTE_WAREHOUSE"
START_DATE_ENV = "NBA_PRECOMPUTE_START_DATE"
END_DATE_ENV = "NBA_PRECOMPUTE_END_DATE"
OPERATIONS_SENSORS_ENV = "NBA_PRECOMPUTE_OPERATIONS_SENSORS"
ARRIVAL_LOOKBACK_ENV = "NBA_PRECOMPUTE_ARRIVAL_LOOKBACK_DAYS"
HEAL_INTERVAL_ENV = "NBA_PRECOMPUTE_HEAL_INTERVAL_SECONDS"
CHECKS_CONFIG_ENV = "NBA_PRECOMPUTE_CHECKS_CONFIG"
INTEGRITY_CONFIG_ENV = "NBA_PRECOMPUTE_INTEGRITY_CONFIG"
LOCK_TIMEOUT_ENV = "NBA_PRECOMPUTE_DUCKDB_LOCK_TIMEOUT"
GCP_PROJECT_ENVS = ("NBA_PRECOMPUTE_GCP_PROJECT", "GOOGLE_CLOUD_PROJECT")  # first set wins
GCP_LOCATION_ENV = "NBA_PRECOMPUTE_GCP_LOCATION"
GCP_CREDENTIALS_ENV = "NBA_PRECOMPUTE_GCP_CREDENTIALS"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
ALERT_WEBHOOK_URL_ENV = "NBA_PRECOMPUTE_ALERT_WEBHOOK_URL"
ALERT_SLACK_TOKEN_ENV = "NBA_PRECOMPUTE_ALERT_SLACK_TOKEN"
ALERT_SLACK_CHANNEL_ENV = "NBA_PRECOMPUTE_ALERT_SLACK_CHANNEL"
ALERT_SLACK_BASE_URL_ENV = "NBA_PRECOMPUTE_ALERT_SLACK_BASE_URL"
ALERT_TIMEOUT_ENV = "NBA_PRECOMPUTE_ALERT_TIMEOUT_SECONDS"

TARGETS = ("duckdb", "bigquery")
DEFAULT_WAREHOUSE = Path(".nba_precompute") / "warehouse.duckdb"
FIRST_SUPPORTED_OPENER = "2021-10-19"  # the 2021-22 opener: the default partitions start


class ConfigError(ValueError):
    """A configuration value that cannot be used (the message names the variable)."""


@dataclasses.dataclass(frozen=True)
class Config:
    target: str = "duckdb"
    warehouse: Path = DEFAULT_WAREHOUSE  # the DuckDB file
    start_date: str = FIRST_SUPPORTED_OPENER
    end_date: str | None = None  # the last daily partition (inclusive); None: tomorrow
    heal_interval_seconds: int = 30
    operations_sensors: str = "STOPPED"  # default status of the daily-operation sensors
    arrival_lookback_days: int = 30  # how far back the arrival sensor looks for new Phase 3 dates
    checks_config: Path | None = None  # a deployment's thresholds file over the shipped defaults
    integrity_config: Path | None = None  # a deployment's Phase 3 plausibility bounds over the shipped ones
    duckdb_lock_timeout_seconds: float | None = None  # None: the warehouse's default
    gcp_project_env: str | None = None  # which variable holds the project (for dg.EnvVar)
    gcp_project: str | None = None
    gcp_location: str = "US"
    gcp_credentials: str | None = dataclasses.field(default=None, repr=False)  # a secret
    dagster_home: Path | None = None  # None: the project-local home (instance.DEFAULT_HOME)
    # where the daily cycle's alerts go (operations/alerts.py); none set: built, deduplicated, not sent
    alert_webhook_url: str | None = dataclasses.field(default=None, repr=False)  # a secret (a token in its path)
    alert_slack_token: str | None = dataclasses.field(default=None, repr=False)  # a secret
    alert_slack_channel: str | None = None
    alert_slack_base_url: str | None = None  # None: slack_sdk's https://slack.com/api/
    alert_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ConfigError(f"{TARGET_ENV} must be duckdb or bigquery, not {self.target!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        """The configuration in `environ` (unset or empty variables take the defaults)."""
        def get(name: str) -> str | None:
            return environ.get(name) or None

        def number(name: str, kind):
            value = get(name)
            try:
                return None if value is None else kind(value)
            except ValueError:
                raise ConfigError(f"{name} must be a number, not {value!r}") from None

        project_env = next((name for name in GCP_PROJECT_ENVS if get(name)), None)
        heal = number(HEAL_INTERVAL_ENV, int)
        lookback = number(ARRIVAL_LOOKBACK_ENV, int)
        alert_timeout = number(ALERT_TIMEOUT_ENV, float)
        return cls(
            target=(get(TARGET_ENV) or "duckdb").lower(),
            warehouse=Path(get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE),
            start_date=get(START_DATE_ENV) or FIRST_SUPPORTED_OPENER,
            end_date=get(END_DATE_ENV),
            heal_interval_seconds=30 if heal is None else heal,
            operations_sensors=(get(OPERATIONS_SENSORS_ENV) or "STOPPED").upper(),
            arrival_lookback_days=30 if lookback is None else lookback,
            checks_config=Path(get(CHECKS_CONFIG_ENV)) if get(CHECKS_CONFIG_ENV) else None,
            integrity_config=Path(get(INTEGRITY_CONFIG_ENV)) if get(INTEGRITY_CONFIG_ENV) else None,
            duckdb_lock_timeout_seconds=number(LOCK_TIMEOUT_ENV, float),
            gcp_project_env=project_env,
            gcp_project=get(project_env) if project_env else None,
            gcp_location=get(GCP_LOCATION_ENV) or "US",
            gcp_credentials=get(GCP_CREDENTIALS_ENV),
            dagster_home=Path(get(DAGSTER_HOME_ENV)) if get(DAGSTER_HOME_ENV) else None,
            alert_webhook_url=get(ALERT_WEBHOOK_URL_ENV),
            alert_slack_token=get(ALERT_SLACK_TOKEN_ENV),
            alert_slack_channel=get(ALERT_SLACK_CHANNEL_ENV),
            alert_slack_base_url=get(ALERT_SLACK_BASE_URL_ENV),
            alert_timeout_seconds=5.0 if alert_timeout is None else alert_timeout,
        )

    def replace(self, **changes) -> Config:
        """A copy with some fields overridden (CLI flags); None values leave a field as it is."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_SCOPED: contextvars.ContextVar[Config | None] = contextvars.ContextVar("nba_precompute_config", default=None)


@contextlib.contextmanager
def using(config: Config) -> Iterator[Config]:
    """Make `config` the one `current()` returns while the block runs (definitions load, a CLI
    command), so every module of the load sees the same object, read once."""
    token = _SCOPED.set(config)
    try:
        yield config
    finally:
        _SCOPED.reset(token)


def current() -> Config:
    """The configuration of the enclosing `using` block, else the environment's, read now."""
    import os

    scoped = _SCOPED.get()
    return scoped if scoped is not None else Config.from_env(os.environ)
