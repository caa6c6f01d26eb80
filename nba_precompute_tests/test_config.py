"""The configuration: read once, from one mapping, never at import, never written back."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from nba_precompute import config as configuration
from nba_precompute.config import Config, ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_from_env_reads_every_documented_variable_into_one_object():
    config = Config.from_env({
        "NBA_PRECOMPUTE_TARGET": "BigQuery",
        "NBA_PRECOMPUTE_WAREHOUSE": "/data/w.duckdb",
        "NBA_PRECOMPUTE_START_DATE": "2022-10-18",
        "NBA_PRECOMPUTE_HEAL_INTERVAL_SECONDS": "120",
        "NBA_PRECOMPUTE_CHECKS_CONFIG": "/etc/thresholds.yaml",
        "NBA_PRECOMPUTE_DUCKDB_LOCK_TIMEOUT": "2.5",
        "GOOGLE_CLOUD_PROJECT": "proj-b",
        "NBA_PRECOMPUTE_GCP_LOCATION": "EU",
        "NBA_PRECOMPUTE_GCP_CREDENTIALS": "c2VjcmV0",
        "DAGSTER_HOME": "/var/dagster",
        "NBA_PRECOMPUTE_ALERT_WEBHOOK_URL": "https://hooks.example.com/T0K3N",
        "NBA_PRECOMPUTE_ALERT_SLACK_TOKEN": "xoxb-s3cret",
        "NBA_PRECOMPUTE_ALERT_SLACK_CHANNEL": "#nba",
        "NBA_PRECOMPUTE_ALERT_TIMEOUT_SECONDS": "2",
    })
    assert config == Config(
        target="bigquery", warehouse=Path("/data/w.duckdb"), start_date="2022-10-18", heal_interval_seconds=120,
        checks_config=Path("/etc/thresholds.yaml"), duckdb_lock_timeout_seconds=2.5,
        gcp_project_env="GOOGLE_CLOUD_PROJECT", gcp_project="proj-b", gcp_location="EU",
        gcp_credentials="c2VjcmV0", dagster_home=Path("/var/dagster"),
        alert_webhook_url="https://hooks.example.com/T0K3N", alert_slack_token="xoxb-s3cret",
        alert_slack_channel="#nba", alert_timeout_seconds=2.0,
    )
    for secret in ("c2VjcmV0", "T0K3N", "xoxb-s3cret"):  # the key, the webhook URL and the Slack token
        assert secret not in repr(config)


def test_an_empty_environment_gives_the_documented_defaults():
    config = Config.from_env({"NBA_PRECOMPUTE_WAREHOUSE": ""})
    assert (config.target, config.warehouse, config.start_date, config.heal_interval_seconds) == (
        "duckdb", Path(".nba_precompute") / "warehouse.duckdb", "2021-10-19", 30)
    assert config.checks_config is config.dagster_home is config.gcp_project_env is None


def test_the_nba_precompute_project_variable_wins_over_google_cloud_project():
    config = Config.from_env({"NBA_PRECOMPUTE_GCP_PROJECT": "a", "GOOGLE_CLOUD_PROJECT": "b"})
    assert (config.gcp_project_env, config.gcp_project) == ("NBA_PRECOMPUTE_GCP_PROJECT", "a")


@pytest.mark.parametrize("environ, message", [
    ({"NBA_PRECOMPUTE_TARGET": "sqlite"}, "NBA_PRECOMPUTE_TARGET must be duckdb or bigquery, not 'sqlite'"),
    ({"NBA_PRECOMPUTE_HEAL_INTERVAL_SECONDS": "soon"}, "NBA_PRECOMPUTE_HEAL_INTERVAL_SECONDS must be a number"),
])
def test_a_bad_value_is_one_error_naming_the_variable(environ, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(environ)


def test_flags_override_fields_and_none_leaves_them():
    config = Config.from_env({"NBA_PRECOMPUTE_WAREHOUSE": "env.duckdb"})
    assert config.replace(warehouse=None).warehouse == Path("env.duckdb")
    assert config.replace(warehouse=Path("flag.duckdb")).warehouse == Path("flag.duckdb")


def test_the_definitions_take_every_setting_from_the_config_they_are_built_with(tmp_path):
    from nba_precompute.definitions import build_definitions

    config = Config(warehouse=tmp_path / "given.duckdb", heal_interval_seconds=77)
    defs = build_definitions(config)
    assert defs.resources["warehouse"].database == str(tmp_path / "given.duckdb")
    assert defs.get_sensor_def("phase4_heal_sensor").minimum_interval_seconds == 77


def test_bigquery_definitions_name_the_secret_variables_and_never_hold_their_values():
    from nba_precompute.resources import bigquery_warehouse

    config = Config.from_env({"NBA_PRECOMPUTE_TARGET": "bigquery", "NBA_PRECOMPUTE_GCP_PROJECT": "p-123",
                              "NBA_PRECOMPUTE_GCP_CREDENTIALS": "a2V5"})
    deferred = bigquery_warehouse(config=config)
    assert deferred.project == dg.EnvVar("NBA_PRECOMPUTE_GCP_PROJECT")
    assert deferred.gcp_credentials == dg.EnvVar("NBA_PRECOMPUTE_GCP_CREDENTIALS")
    resolved = bigquery_warehouse(config=config, resolve=True)
    assert (resolved.project, resolved.gcp_credentials) == ("p-123", "a2V5")


# Runs in a fresh interpreter: os.environ replaced by a mapping that records who touches it.
_IMPORT_PROBE = textwrap.dedent('''
    import json, os, pkgutil, sys, importlib

    SKIP = {"os", "_collections_abc", "collections.abc", "__main__"}
    touches = []

    def caller():
        frame = sys._getframe(2)
        while frame.f_globals.get("__name__") in SKIP:
            frame = frame.f_back
        return frame.f_globals.get("__name__")

    class Recording(os._Environ):
        def __getitem__(self, key):
            touches.append(("read", key, caller())); return super().__getitem__(key)
        def __contains__(self, key):
            touches.append(("read", key, caller())); return super().__contains__(key)
        def __iter__(self):
            touches.append(("read", "*", caller())); return super().__iter__()
        def __setitem__(self, key, value):
            touches.append(("write", key, caller())); super().__setitem__(key, value)
        def __delitem__(self, key):
            touches.append(("write", key, caller())); super().__delitem__(key)

    e = os.environ
    os.environ = Recording(e._data, e.encodekey, e.decodekey, e.encodevalue, e.decodevalue)

    def ours(phase):
        return [t for t in touches if (t[2] or "").startswith("nba_precompute")]

    import nba_precompute
    names = [m.name for m in pkgutil.walk_packages(nba_precompute.__path__, "nba_precompute.")
             if m.name != "nba_precompute.definitions" and not m.name.startswith("nba_precompute.defs")]
    for name in names:
        importlib.import_module(name)
    package = ours("package")
    del touches[:]

    from nba_precompute import config
    reads = []
    original = config.Config.from_env.__func__
    config.Config.from_env = classmethod(lambda cls, environ: reads.append(1) or original(cls, environ))
    import nba_precompute.definitions
    print(json.dumps({"modules": len(names), "package": package, "definitions": ours("definitions"),
                      "from_env_calls": len(reads)}))
''')


def test_importing_the_package_reads_no_environment_and_the_definitions_read_it_once():
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_PRECOMPUTE_")}
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["modules"] > 50
    assert probe["package"] == []  # no module of the package touches the environment when imported
    assert probe["from_env_calls"] == 1
    # the definitions' only reader is the configuration module, and nothing writes the environment
    others = [t for t in probe["definitions"] if t[2] != "nba_precompute.config"]
    assert others == []
    assert [t for t in probe["definitions"] if t[0] == "write"] == []
