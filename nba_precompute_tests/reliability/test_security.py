"""Security: servers bind to 127.0.0.1 by default; SQL identifiers come from code and every one
that configuration can reach is validated; credentials come from the environment (or default
credentials) and never reach logs, run records, materialization metadata, the code location's
snapshot or any file the project writes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from nba_precompute.failures import empty_failures
from nba_precompute.phase3.contract import Table
from nba_precompute.registry import ASSET_NAMES as ASSETS, output_columns
from nba_precompute.warehouse import sql
from nba_precompute.warehouse.base import WarehouseError
from nba_precompute.warehouse.bigquery import BigQueryWarehouse

from .conftest import RANGE
from .helpers import cli_backfill, copy_warehouse

REPO = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()


# --- servers bind to 127.0.0.1 ------------------------------------------------------------------
SERVER_COMMAND = re.compile(r"\b(dagster|dg)\s+dev\b|dagster-webserver|dagster\s+api\s+grpc|dagster\s+code-server|"
                            r"\buvicorn\b|http\.server|\bpg_ctl\b.*\bstart\b")
LOOPBACK = re.compile(r"127\.0\.0\.1|localhost|\[::1\]")


def project_files() -> list[Path]:
    """What the project runs or tells people to run: the Makefile, CI, the README and docs, the
    workspace, the package and its tests (deploy/ configures a cluster explicitly: not a default)."""
    files = [REPO / "Makefile", REPO / "README.md", REPO / "workspace.yaml"]
    files += sorted((REPO / ".ci").glob("*")) + sorted((REPO / "docs").glob("*.md"))
    for folder, patterns in (("nba_precompute", ("*.py", "*.yaml")), ("nba_precompute_tests", ("*.py",)),
                             ("benchmarks", ("*.py", "*.sh"))):
        for pattern in patterns:
            files += sorted((REPO / folder).rglob(pattern))
    return [f for f in files if f.is_file() and f.resolve() != THIS]


def test_make_dev_binds_the_webserver_to_loopback():
    makefile = (REPO / "Makefile").read_text()
    dev = re.search(r"^dev:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert dev, "no dev target"
    assert re.search(r"\b(dagster|dg) dev -h 127\.0\.0\.1\b", dev.group(1)), dev.group(1)


def test_dagster_webserver_defaults_to_loopback():
    from dagster_webserver.cli import dagster_webserver

    (host,) = [p for p in dagster_webserver.params if p.name == "host"]
    assert host.default == "127.0.0.1"


def test_every_server_the_project_starts_binds_loopback_and_nothing_binds_all_interfaces():
    """Commands in the Makefile, CI, scripts, the workspace and Python (argv lists) that start a
    server name a loopback host whenever they name one, and the Makefile / CI / shell ones always
    name one; no code or configuration binds 0.0.0.0 or ''. Prose (Markdown) is not scanned."""
    offenders = []
    for path in project_files():
        if path.suffix == ".md":
            continue
        lines = path.read_text(errors="replace").splitlines()
        for n, line in enumerate(lines):
            where = f"{path.relative_to(REPO)}:{n + 1}: {line.strip()}"
            if "0.0.0.0" in line or re.search(r"""\.bind\(\(\s*(["'])\1""", line):
                offenders.append("all interfaces: " + where)
            if not SERVER_COMMAND.search(line) or line.lstrip().startswith("#"):
                continue
            window = " ".join(lines[n:n + 3])  # an argv list may continue on the next lines
            host_given = re.search(r"""(^|[\s'"])(-h|--host)([\s'"=]|$)""", window)
            if host_given and not LOOPBACK.search(window):
                offenders.append("non-loopback host: " + where)
            if not host_given and path.suffix in ("", ".sh") and re.search(r"dagster-webserver\b|\b(dagster|dg)\s+dev\b", line):
                offenders.append("webserver without an explicit host: " + where)
    assert offenders == []


# --- identifiers ------------------------------------------------------------------------------------
BAD_IDENTIFIERS = ["", "1abc", "a.b", "a b", "nba_processing; DROP TABLE x", "a`b", 'a"b', "a--", "a/*", "naïve",
                   "nba_processing`; DROP SCHEMA `p.nba_predictions` CASCADE; --", "x\nDELETE FROM y"]


@pytest.mark.parametrize("name", BAD_IDENTIFIERS)
def test_sql_identifier_rejects_anything_but_a_plain_name(name):
    with pytest.raises(ValueError, match="invalid SQL identifier"):
        sql.identifier(name)


def test_sql_identifier_and_project_accept_plain_names_and_reject_bad_projects():
    assert sql.identifier("nba_precompute") == "nba_precompute"
    assert sql.identifier("_stage_1") == "_stage_1"
    assert sql.project_id("nba-props-prod") == "nba-props-prod"
    for bad in ["", "Nba-Props", "nba props", "nba-props`; DROP", "p", "nba.props", "-nba-props"]:
        with pytest.raises(ValueError, match="invalid Google Cloud project id"):
            sql.project_id(bad)


def test_a_table_defined_with_a_bad_name_never_becomes_sql():
    evil = Table("nba_precompute", "x; DROP TABLE nba_precompute.player_daily_cache", "", (("a", "STRING"),),
                 key=("a",), date_column="a")
    for build in (lambda: sql.create_table(evil, "duckdb"), lambda: sql.select_range(evil, "duckdb"),
                  lambda: sql.delete_range(evil, "bigquery", "nba-props-prod"), lambda: sql.insert_from(evil, "s", "duckdb")):
        with pytest.raises(ValueError, match="invalid SQL identifier"):
            build()


def test_a_bad_project_from_the_environment_never_becomes_sql(monkeypatch):
    from nba_precompute.resources import bigquery_warehouse

    monkeypatch.setenv("NBA_PRECOMPUTE_GCP_PROJECT", "nba-props`; DROP SCHEMA nba_predictions; --")
    warehouse = bigquery_warehouse(resolve=True)
    with pytest.raises(ValueError, match="invalid Google Cloud project id"):
        warehouse.ddl()


@pytest.mark.parametrize("command", [["backfill", "--start", "2021-11-01", "--end", "2021-11-02"],
                                     ["coverage", "--start", "2021-11-01", "--end", "2021-11-02"],
                                     ["check", "--start", "2021-11-01", "--end", "2021-11-02"]])
def test_asset_names_from_the_command_line_are_checked_against_the_code(tmp_path, capsys, command):
    """The only names a user types are asset names; they select among the code's five assets
    (whose tables come from tables.py) and anything else stops the command before it starts."""
    from nba_precompute.cli import main

    db = tmp_path / "w.duckdb"
    with pytest.raises(SystemExit) as stop:
        main(["--warehouse", str(db), *command, "--assets", "psza,pcf; DROP TABLE nba_precompute.player_daily_cache"])
    assert stop.value.code == 2
    assert "unknown asset(s) pcf; DROP TABLE nba_precompute.player_daily_cache" in capsys.readouterr().err
    assert not db.exists()


class RecordingClient:
    def __init__(self):
        self.calls: list[tuple] = []

    def load_table_from_dataframe(self, frame, destination, job_config=None, **kwargs):
        self.calls.append(("load", destination))
        return self

    def query(self, query, job_config=None, **kwargs):
        self.calls.append(("query", query))
        return self

    def delete_table(self, table, not_found_ok=False, **kwargs):
        self.calls.append(("delete_table", table))

    def result(self):
        return self


@pytest.fixture
def recording_client(monkeypatch) -> RecordingClient:
    fake = RecordingClient()

    @contextmanager
    def _client(self):
        yield fake

    monkeypatch.setattr(BigQueryWarehouse, "_client", _client)
    return fake


def _write(warehouse: BigQueryWarehouse) -> None:
    warehouse.write_partitions("psza", [dt.date(2021, 11, 8)], pd.DataFrame(columns=output_columns("psza")),
                               empty_failures(), run_id="run-1")


def test_the_configured_staging_dataset_is_validated_before_any_bigquery_call(recording_client):
    """`staging_dataset` is resource configuration (the launchpad can set it per run): a value
    that is not a plain name must never reach the transaction script, nor even a load job."""
    evil = "nba_processing`; DROP SCHEMA `nba-props-prod.nba_predictions` CASCADE; --"
    with pytest.raises((ValueError, WarehouseError), match="invalid SQL identifier"):
        _write(BigQueryWarehouse(project="nba-props-prod", staging_dataset=evil))
    assert recording_client.calls == []

    _write(BigQueryWarehouse(project="nba-props-prod"))  # the default works, through the same fake
    scripts = [c[1] for c in recording_client.calls if c[0] == "query"]
    assert len(scripts) == 1 and "`nba-props-prod.nba_processing._stage_psza_" in scripts[0]


# --- credentials ------------------------------------------------------------------------------------
PROJECT_SECRET = "nba-secret-proj-7f3a9c"
KEY_SECRET = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-FAKE-KEY-8d1e2f"
PG_SECRET = "pg-pass-4b9e1d7c"


@pytest.fixture
def credentials(tmp_path) -> dict[str, str]:
    """Fake credentials as a deployment passes them: project, key file, base64 key, passwords."""
    key = {"type": "service_account", "project_id": PROJECT_SECRET, "private_key_id": "k-0c1d2e",
           "private_key": f"-----BEGIN PRIVATE KEY-----\n{KEY_SECRET}\n-----END PRIVATE KEY-----\n",
           "client_email": "precompute@nba-secret-proj-7f3a9c.iam.gserviceaccount.com"}
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(key))
    encoded = base64.b64encode(path.read_bytes()).decode()
    return {
        "NBA_PRECOMPUTE_GCP_PROJECT": PROJECT_SECRET,
        "GOOGLE_CLOUD_PROJECT": PROJECT_SECRET,
        "GOOGLE_APPLICATION_CREDENTIALS": str(path),
        "NBA_PRECOMPUTE_GCP_CREDENTIALS": encoded,
        "DAGSTER_PG_PASSWORD": PG_SECRET,
    }


def secrets_in(text: str, credentials: dict[str, str]) -> list[str]:
    values = [PROJECT_SECRET, KEY_SECRET, PG_SECRET, credentials["NBA_PRECOMPUTE_GCP_CREDENTIALS"],
              credentials["NBA_PRECOMPUTE_GCP_CREDENTIALS"][:40]]
    return [v[:12] + "..." for v in values if v in text]


def test_credentials_never_reach_logs_run_records_metadata_or_files(tmp_path, capfd, monkeypatch, old_db, credentials):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    home = tmp_path / "home"

    assert cli_backfill(db, home, *RANGE, extra_env=credentials) == 0

    out, err = capfd.readouterr()
    assert re.search(r"phase4 - psza: \d+ rows over", err), err[-2000:]  # the run's console log was captured
    assert secrets_in(out + err, credentials) == []

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()
    records = instance.get_run_records()
    assert len(records) == 1
    run = records[0].dagster_run
    assert secrets_in(serialize_value(run), credentials) == []  # run config and tags
    events = instance.all_logs(run.run_id)
    assert len(events) > 100
    assert secrets_in("\n".join(serialize_value(e) for e in events), credentials) == []
    metadata = []
    for asset in ASSETS:
        for record in instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records:
            metadata.append(serialize_value(record.asset_materialization.metadata))
    # every (asset, D) of the range, bootstrap dates included (PRECOMPUTE.md §4), but the one
    # genuine gap: mlfs misses one dependency
    days = len(pd.date_range(*RANGE, freq="D"))
    assert len(metadata) == days * len(ASSETS) - 1
    assert secrets_in("\n".join(metadata), credentials) == []
    instance.dispose()

    written = [p for p in [*home.rglob("*"), *tmp_path.glob("w.duckdb*")] if p.is_file()]
    assert any(p.suffix == ".db" for p in written)
    for path in written:
        assert secrets_in(path.read_bytes().decode("latin-1"), credentials) == [], path


def test_the_bigquery_code_location_snapshot_names_env_vars_never_their_values(monkeypatch, credentials):
    """What the webserver shows and stores about the resources: the project is an EnvVar, the
    key is read from the environment when a client is made, so neither value is in the snapshot."""
    from nba_precompute.definitions import build_definitions

    for key, value in credentials.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NBA_PRECOMPUTE_TARGET", "bigquery")
    snap = serialize_value(RepositorySnap.from_def(build_definitions().get_repository_def()))
    assert '\\"project\\": {\\"env\\": \\"NBA_PRECOMPUTE_GCP_PROJECT\\"}' in snap
    assert secrets_in(snap, credentials) == []
