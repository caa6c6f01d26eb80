"""Alerts: what fires, once per (asset, date, cause), delivered to real local HTTP servers
(a webhook and a Slack API stand-in on 127.0.0.1), never leaking a secret, never raising."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from nba_precompute.checks.config import Severity, load_config
from nba_precompute.coverage import status as st
from nba_precompute.failures import Category
from nba_precompute.operations import alerts as al

TOKEN = "xoxb-123-456-SECRETTOKEN"
HOOK_TOKEN = "T000/B000/hooksecret42"


class Server:
    """A real HTTP server in a thread: records each request, answers with `status` after `delay`."""

    def __init__(self, status=200, delay=0.0, body=b'{"ok": true}'):
        self.requests: list[dict] = []
        self.status, self.delay, self.body = status, delay, body
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": raw})
                time.sleep(outer.delay)
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def coverage_frame() -> pd.DataFrame:
    rows = [
        ("mlfs", "2022-11-09", st.DATE_FAILED, Category.MISSING_DEPENDENCY.value,
         "Missing nba_precompute.player_composite_factors for 2022-11-09 (0 rows, need 210)"),
        ("pcf", "2022-11-10", st.DATE_FAILED, Category.PROCESSING_ERROR.value, "ValueError: boom"),
        ("pcf", "2022-10-20", st.DATE_FAILED, Category.BOOTSTRAP_PERIOD.value, "Bootstrap period: day 2 of 14"),
        ("pdc", "2022-11-24", st.NO_GAMES, None, None),
        ("psza", "2022-07-01", st.OFF_SEASON, None, None),
        ("tdza", "2022-11-09", st.OK, None, None),
        ("pdc", "2022-11-09", st.MISSING, None, None),
    ]
    return pd.DataFrame(rows, columns=["asset", "date", "status", "category", "reason"])


CHAIN = ("mlfs 2022-11-09 <- pcf 2022-11-09 (DATE_FAILED: MISSING_DEPENDENCY) <- "
         "nba_analytics.upcoming_team_game_context 2022-11-09 (0 rows, need 16)")


def gap_list() -> list[al.Alert]:
    return al.gap_alerts(coverage_frame(), {("mlfs", "2022-11-09"): [CHAIN]})


# --- building -----------------------------------------------------------------------------------
def test_only_genuine_gaps_alert_never_bootstrap_no_games_or_off_season():
    assert [(a.asset, a.date, a.category) for a in gap_list()] == [
        ("mlfs", "2022-11-09", "MISSING_DEPENDENCY"), ("pcf", "2022-11-10", "PROCESSING_ERROR")]
    assert al.is_genuine_gap(Category.MISSING_DEPENDENCY) and not al.is_genuine_gap(Category.BOOTSTRAP_PERIOD)
    assert not al.is_genuine_gap(Category.INSUFFICIENT_DATA)  # entity level: the date has rows


def test_message_names_asset_date_category_reason_root_cause_and_repair():
    text = gap_list()[0].text()
    assert text.splitlines()[0] == "[nba-precompute] GENUINE_GAP: mlfs 2022-11-09 (MISSING_DEPENDENCY)"
    assert "reason: Missing nba_precompute.player_composite_factors for 2022-11-09 (0 rows, need 210)" in text
    assert f"root cause: {CHAIN}" in text
    assert text.endswith("repair: nba-precompute backfill --start 2022-11-09 --end 2022-11-09 --assets mlfs "
                         "--only failed")


def test_warn_checks_do_not_alert_error_checks_do():
    assert al.check_alert("pcf", "2022-11-10", "row_minimum", Severity.WARN, "12 rows, need 168") is None
    a = al.check_alert("pcf", "2022-11-10", "value_ranges", "ERROR", "fatigue_score 140 outside [0, 100]")
    assert (a.cause, a.category, a.repair) == (al.Cause.ERROR_CHECK_FAILED, "value_ranges (ERROR)",
                                               "nba-precompute backfill --start 2022-11-10 --end 2022-11-10 --assets pcf")


def test_freshness_volume_blocked_and_run_failure_alerts():
    from nba_precompute.operations import freshness, volume

    cfg = freshness.load_freshness_config()
    misses = freshness.misses(freshness.evaluate(["2023-01-10"], {}, pd.Timestamp("2023-01-10 22:00", tz="UTC"), cfg))
    fa = al.freshness_alerts(misses)
    assert [(a.asset, a.cause) for a in fa] == [("mlfs", al.Cause.FRESHNESS_MISSED), ("pcf", al.Cause.FRESHNESS_MISSED)]
    assert fa[0].repair.endswith("--only failed,missing")
    obs = pd.DataFrame({"asset": "pcf", "date": pd.date_range("2023-01-01", periods=7), "observed": [210] * 6 + [150],
                        "exposure": 20.0, "group": "2022"})
    va = al.volume_alerts(volume.evaluate(obs, load_config(use_env=False).volume))
    assert [(a.asset, a.date, a.category) for a in va] == [("pcf", "2023-01-07", "VOLUME_ANOMALY (WARN)")]
    b = al.blocked_alert("mlfs", "2023-01-07", "pcf 2023-01-07 failed ERROR check(s) value_ranges")
    assert b.key == ("mlfs", "2023-01-07", "BLOCKED")
    r = al.run_failure_alert("run-1", ["pcf", "mlfs"], "2023-01-01", "2023-01-07", "2 genuine gaps\nmlfs 2023-01-07 ...")
    assert r.repair == "nba-precompute backfill --start 2023-01-01 --end 2023-01-07 --assets pcf,mlfs --only failed"
    assert r.key == ("pcf,mlfs", "2023-01-01..2023-01-07", "RUN_FAILED")


def test_unsent_keeps_each_key_once():
    a, b = gap_list()
    assert al.unsent([a, b, a], set()) == [a, b]
    assert al.unsent([a, b], {a.key}) == [b]


# --- delivery -----------------------------------------------------------------------------------
def test_webhook_receives_the_json_once_per_asset_date_cause():
    with Server() as hook:
        n = al.Notifier(al.AlertSettings(webhook_url=f"{hook.url}/hooks/{HOOK_TOKEN}"))
        first = n.notify(gap_list())
        again = n.notify(gap_list())
    assert len(first.sent) == 2 and again.sent == [] and len(again.duplicates) == 2
    assert len(hook.requests) == 2
    body = json.loads(hook.requests[0]["body"])
    assert hook.requests[0]["path"] == f"/hooks/{HOOK_TOKEN}"
    assert {k: body[k] for k in ("source", "cause", "asset", "date", "category")} == {
        "source": "nba-precompute", "cause": "GENUINE_GAP", "asset": "mlfs", "date": "2022-11-09",
        "category": "MISSING_DEPENDENCY"}
    assert body["root_cause"] == [CHAIN]
    assert body["repair"].startswith("nba-precompute backfill --start 2022-11-09")


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("case", ["refused", "timeout", "http500", "no_scheme"])
def test_dead_webhook_never_raises_logs_one_redacted_line_and_retries_later(case, caplog):
    caplog.set_level(logging.DEBUG)
    server = Server(status=500, body=b"oops") if case == "http500" else Server(delay=2.0)
    with server:
        base = {"refused": f"http://127.0.0.1:{_closed_port()}", "no_scheme": "hooks.example.com"}.get(case, server.url)
        settings = al.AlertSettings(webhook_url=f"{base}/hooks/{HOOK_TOKEN}", timeout_seconds=0.5)
        n = al.Notifier(settings)
        res = n.notify(gap_list()[:1])
    assert res.sent == [] and len(res.undelivered) == 1
    d = res.deliveries[0]
    assert not d.ok and (d.status == 500) == (case == "http500")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == al.__name__]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    assert "not delivered to webhook" in warnings[0].getMessage()
    for secret in settings.secrets():
        assert secret not in caplog.text and secret not in (d.error or "")
    assert n.store.sent({gap_list()[0].key}) == set()  # not recorded: the next evaluation retries
    if case == "no_scheme":  # urllib's own message names the URL: redacted
        assert "unknown url type: '***'" in d.error


def test_slack_through_dagster_slack_to_a_local_api(caplog):
    caplog.set_level(logging.DEBUG)
    with Server(body=b'{"ok": true, "channel": "C1", "ts": "1.0"}') as slack:
        settings = al.AlertSettings(slack_token=TOKEN, slack_channel="#nba-alerts", slack_base_url=slack.url + "/api/")
        res = al.Notifier(settings).notify(gap_list()[:1])
    assert [d.channel for d in res.deliveries] == ["slack"] and res.deliveries[0].ok
    req = slack.requests[0]
    assert req["path"] == "/api/chat.postMessage"
    assert req["headers"]["Authorization"] == f"Bearer {TOKEN}"
    sent = json.loads(req["body"]) if req["body"].startswith(b"{") else dict(
        x.split("=", 1) for x in req["body"].decode().split("&"))
    assert "GENUINE_GAP" in str(sent) and "mlfs" in str(sent)
    assert TOKEN not in caplog.text


def test_slack_api_error_is_a_result_with_the_token_redacted(caplog):
    with Server(body=json.dumps({"ok": False, "error": f"invalid_auth {TOKEN}"}).encode()) as slack:
        settings = al.AlertSettings(slack_token=TOKEN, slack_channel="#c", slack_base_url=slack.url + "/api/")
        res = al.Notifier(settings).notify(gap_list()[:1])
    d = res.deliveries[0]
    assert not d.ok and "invalid_auth" in d.error and TOKEN not in d.error and TOKEN not in caplog.text


def test_log_lines_of_the_notifier_and_slack_sdk_are_redacted(caplog):
    caplog.set_level(logging.DEBUG)
    al.Notifier(al.AlertSettings(slack_token=TOKEN, slack_channel="#c"))
    logging.getLogger("slack_sdk.web.base_client").debug("headers: Bearer %s", TOKEN)
    logging.getLogger(al.__name__).warning(f"token {TOKEN}")
    assert TOKEN not in caplog.text and caplog.text.count(al.REDACTED) == 2


def test_settings_come_from_the_config_and_no_repr_shows_a_secret():
    from nba_precompute.config import Config

    env = {"NBA_PRECOMPUTE_ALERT_WEBHOOK_URL": f"https://hooks.example.com/{HOOK_TOKEN}?k=abc",
           "NBA_PRECOMPUTE_ALERT_SLACK_TOKEN": TOKEN, "NBA_PRECOMPUTE_ALERT_SLACK_CHANNEL": "#c",
           "NBA_PRECOMPUTE_ALERT_TIMEOUT_SECONDS": "2"}
    config = Config.from_env(env)
    s = al.AlertSettings.from_config(config)
    assert (s.webhook_url, s.slack_token) == (env["NBA_PRECOMPUTE_ALERT_WEBHOOK_URL"], TOKEN)
    assert (s.slack_channel, s.timeout_seconds, s.slack_base_url) == ("#c", 2.0, None)
    for text in (repr(s), repr(config)):
        assert TOKEN not in text and HOOK_TOKEN not in text
    assert al.redact(f"POST https://hooks.example.com/{HOOK_TOKEN}?k=abc failed", s.secrets()) == "POST *** failed"
    assert al.redact(f"path /{HOOK_TOKEN} and k=abc", s.secrets()) == "path *** and ***"
    assert al.AlertSettings.from_config(Config.from_env({})) == al.AlertSettings()


# --- dedup state across processes ------------------------------------------------------------------
def test_sent_keys_persist_in_the_dagster_instance_across_processes(tmp_path):
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import dagster as dg\n"
        "from nba_precompute_tests.operations.test_alerts import gap_list\n"
        "from nba_precompute.operations import alerts as al\n"
        "n = al.Notifier(al.AlertSettings(), al.InstanceAlertStore(dg.DagsterInstance.get()))\n"
        "print(len(n.notify(gap_list()).sent))\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=str(al.__file__).rsplit("/nba_precompute/", 1)[0])
    assert out.stdout.strip() == "2"
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    store = al.InstanceAlertStore(instance)
    a, b = gap_list()
    assert store.sent({a.key, b.key, ("pdc", "2022-11-09", "GENUINE_GAP")}) == {a.key, b.key}
    with Server() as hook:
        res = al.Notifier(al.AlertSettings(webhook_url=hook.url), store).notify(gap_list())
    assert res.sent == [] and hook.requests == []
