"""Alerts of the daily cycle: what deserves a message, once, and delivering it safely.

Three layers, each testable alone:

* **Building** (pure): `gap_alerts`, `blocked_alert`, `check_alert`, `freshness_alerts`,
  `volume_alerts`, `run_failure_alert` turn the outcomes of the other modules into `Alert`s.
  Expected outcomes (rows, OFF_SEASON, NO_GAMES, BOOTSTRAP_PERIOD) never become alerts: a gap is
  a date-level failure whose `failures.Category` is retryable (MISSING_DEPENDENCY,
  PROCESSING_ERROR); the coverage statuses come from `coverage.status`.
* **Dedup** (pure + a store): `unsent(alerts, already_sent)` keeps each (asset, date, cause) once;
  `InstanceAlertStore` remembers the sent keys in the Dagster instance's key-value store (the
  daemon-cursor table of its run storage), which the daemon, the webserver and the CLI share and
  which outlives any process. Why not a warehouse table: the warehouse may be BigQuery (a DML job
  per alert) or a DuckDB file that a running backfill holds locked, while every alert source (a
  sensor, a run-failure hook, `nba-precompute check`) already has the instance.
* **Delivery**: `Notifier`, configured by `AlertSettings.from_config(config.current())` (the
  environment is read by config.Config only), posts to Slack through dagster-slack's `SlackResource` and to a generic
  webhook (JSON POST, urllib). A dead endpoint (refused, timeout, HTTP error) never raises: it
  logs one warning line and the result says so. Secrets (the Slack token, the webhook URL, which
  usually embeds a token) are redacted from every log line and error text, slack_sdk's own
  debug log of request headers included.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Iterable, Mapping, Protocol, Sequence
from urllib.parse import urlsplit

import pandas as pd

from nba_precompute.checks.config import Severity
from nba_precompute.coverage import status as st
from nba_precompute.failures import Category

log = logging.getLogger(__name__)
SOURCE = "nba-precompute"
REDACTED = "***"
KV_PREFIX = "nba_precompute/alert_sent/"


class Cause(str, Enum):
    RUN_FAILED = "RUN_FAILED"
    GENUINE_GAP = "GENUINE_GAP"  # MISSING_DEPENDENCY / PROCESSING_ERROR on (asset, D)
    BLOCKED = "BLOCKED"  # downstream of a failing ERROR check
    ERROR_CHECK_FAILED = "ERROR_CHECK_FAILED"
    FRESHNESS_MISSED = "FRESHNESS_MISSED"
    VOLUME_ANOMALY = "VOLUME_ANOMALY"


def is_genuine_gap(category) -> bool:
    """A date-level outcome that someone must repair (retryable): never bootstrap."""
    if category is None or (not isinstance(category, str) and pd.isna(category)):
        return False
    c = Category(category)
    return c.date_level and c.can_retry


def repair_command(asset: str, start: str, end: str | None = None, only: str | None = "failed") -> str:
    cmd = f"nba-precompute backfill --start {start} --end {end or start} --assets {asset}"
    return cmd + (f" --only {only}" if only else "")


@dataclass(frozen=True)
class Alert:
    cause: Cause
    asset: str
    date: str  # YYYY-MM-DD, or a range "start..end" for a run
    category: str
    reason: str
    root_cause: tuple[str, ...] = ()
    repair: str = ""
    run_id: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.asset, self.date, self.cause.value)

    def text(self) -> str:
        lines = [f"[{SOURCE}] {self.cause.value}: {self.asset} {self.date} ({self.category})",
                 f"reason: {self.reason}"]
        lines += [f"root cause: {c}" for c in self.root_cause] or [
            f"root cause: see `nba-precompute explain {self.asset} {self.date}`"]
        if self.run_id:
            lines.append(f"run: {self.run_id}")
        lines.append(f"repair: {self.repair}")
        return "\n".join(lines)

    def payload(self) -> dict:
        body = asdict(self)
        body.update(source=SOURCE, cause=self.cause.value, root_cause=list(self.root_cause), text=self.text())
        return body


def _day(d) -> str:
    return pd.Timestamp(d).strftime("%Y-%m-%d")


# --- building ---------------------------------------------------------------------------------
def gap_alerts(frame: pd.DataFrame, chains: Mapping[tuple[str, str], Sequence[str]] | None = None) -> list[Alert]:
    """Alerts for the genuine gaps of a coverage frame (columns asset, date, status, category,
    reason); `chains` maps (asset, 'YYYY-MM-DD') to its root-cause lines (coverage.explain)."""
    out = []
    for r in frame.itertuples(index=False):
        if r.status != st.DATE_FAILED or not is_genuine_gap(r.category):
            continue
        day = _day(r.date)
        out.append(Alert(Cause.GENUINE_GAP, r.asset, day, Category(r.category).value, str(r.reason),
                         tuple((chains or {}).get((r.asset, day), ())), repair_command(r.asset, day)))
    return out


def blocked_alert(asset: str, date, blocked_by: str) -> Alert:
    day = _day(date)
    return Alert(Cause.BLOCKED, asset, day, "BLOCKED", f"not computed: {blocked_by}", (blocked_by,),
                 repair_command(asset, day))


def check_alert(asset: str, date, check: str, severity: Severity | str, detail: str) -> Alert | None:
    """A failed asset check: an alert only when its severity is ERROR (WARN checks are shown in
    the UI and by `nba-precompute check`, they page nobody; the volume check has its own cause)."""
    if Severity(severity) is not Severity.ERROR:
        return None
    day = _day(date)
    return Alert(Cause.ERROR_CHECK_FAILED, asset, day, f"{check} (ERROR)", detail, (),
                 repair_command(asset, day, only=None))


def freshness_alerts(misses: pd.DataFrame) -> list[Alert]:
    """From `freshness.misses(...)`: one alert per (asset, date) past its deadline."""
    return [Alert(Cause.FRESHNESS_MISSED, r.asset, r.date, "FRESHNESS_MISSED", r.reason,
                  (f"deadline {pd.Timestamp(r.deadline).isoformat()}",),
                  repair_command(r.asset, r.date, only="failed,missing")) for r in misses.itertuples(index=False)]


def volume_alerts(results: pd.DataFrame, root_causes: Mapping[tuple[str, str], Sequence[str]] | None = None
                  ) -> list[Alert]:
    """From `volume.evaluate(...)`: one alert per anomaly (WARN by default: it is still sent,
    since a thin slate passes every other check)."""
    out = []
    for r in results[results["anomaly"]].itertuples(index=False):
        day = _day(r.date)
        out.append(Alert(Cause.VOLUME_ANOMALY, r.asset, day, f"VOLUME_ANOMALY ({r.severity})", r.reason,
                         tuple((root_causes or {}).get((r.asset, day), ())),
                         repair_command(r.asset, day, only=None) + "  # after Phase 3 is re-delivered"))
    return out


def run_failure_alert(run_id: str, assets: Sequence[str], start, end, message: str) -> Alert:
    a = ",".join(assets)
    return Alert(Cause.RUN_FAILED, a, f"{_day(start)}..{_day(end)}", "RUN_FAILED", message.splitlines()[0]
                 if message else "run failed", tuple(message.splitlines()[1:]),
                 repair_command(a, _day(start), _day(end)), run_id)


# --- dedup --------------------------------------------------------------------------------------
def unsent(alerts: Iterable[Alert], already_sent: set[tuple[str, str, str]]) -> list[Alert]:
    """The alerts whose key was never sent, each key once, in order."""
    seen = set(already_sent)
    out = []
    for a in alerts:
        if a.key not in seen:
            seen.add(a.key)
            out.append(a)
    return out


class AlertStore(Protocol):
    def sent(self, keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]: ...

    def record(self, alerts: Sequence[Alert], at: float) -> None: ...


class MemoryAlertStore:
    """For tests and dry runs."""

    def __init__(self):
        self.keys: dict[tuple[str, str, str], float] = {}

    def sent(self, keys):
        return {k for k in keys if k in self.keys}

    def record(self, alerts, at):
        self.keys.update({a.key: at for a in alerts})


class InstanceAlertStore:
    """Sent keys in the Dagster instance's key-value store (`run_storage.get/set_cursor_values`,
    the table sensors' and daemons' cursors live in; pinned by a test across processes)."""

    def __init__(self, instance):
        self.storage = instance.run_storage

    @staticmethod
    def kv_key(key: tuple[str, str, str]) -> str:
        asset, date, cause = key
        return f"{KV_PREFIX}{cause}/{asset}/{date}"

    def sent(self, keys):
        by_kv = {self.kv_key(k): k for k in keys}
        found = self.storage.get_cursor_values(set(by_kv)) if by_kv else {}
        return {by_kv[k] for k in found}

    def record(self, alerts, at):
        if alerts:
            self.storage.set_cursor_values({self.kv_key(a.key): json.dumps({"sent_at": at}) for a in alerts})


# --- delivery -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go; nothing configured = alerts are built and deduplicated but not sent."""

    webhook_url: str | None = None
    slack_token: str | None = None
    slack_channel: str | None = None
    slack_base_url: str | None = None  # default: slack_sdk's https://slack.com/api/
    timeout_seconds: float = 5.0

    @classmethod
    def from_config(cls, config) -> "AlertSettings":
        """The alert fields of a config.Config (NBA_PRECOMPUTE_ALERT_WEBHOOK_URL, _SLACK_TOKEN,
        _SLACK_CHANNEL, _SLACK_BASE_URL, _TIMEOUT_SECONDS, read by Config.from_env)."""
        return cls(config.alert_webhook_url, config.alert_slack_token, config.alert_slack_channel,
                   config.alert_slack_base_url, config.alert_timeout_seconds)

    def secrets(self) -> list[str]:
        """Every string that must never appear in a log: the token, the webhook URL and the
        parts of it that carry credentials (path, query, user info)."""
        out = [s for s in (self.slack_token, self.webhook_url) if s]
        if self.webhook_url:
            u = urlsplit(self.webhook_url)
            out += [p for p in (u.path if len(u.path) > 1 else "", u.query, u.password or "", u.username or "") if p]
        return sorted(set(out), key=len, reverse=True)

    def __repr__(self) -> str:  # a settings object printed in a traceback shows no secret
        return (f"AlertSettings(webhook={'set' if self.webhook_url else None}, slack_token="
                f"{'set' if self.slack_token else None}, slack_channel={self.slack_channel!r})")


def redact(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        text = text.replace(s, REDACTED)
    return text


class _RedactingFilter(logging.Filter):
    def __init__(self, secrets: Sequence[str]):
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = redact(record.getMessage(), self.secrets)
            record.args = ()
        return True


@dataclass(frozen=True)
class Delivery:
    channel: str  # "webhook" | "slack"
    ok: bool
    status: int | None = None
    error: str | None = None


@dataclass
class NotifyResult:
    sent: list[Alert] = field(default_factory=list)  # delivered on at least one channel
    duplicates: list[Alert] = field(default_factory=list)
    undelivered: list[Alert] = field(default_factory=list)  # every channel failed: retried next time
    deliveries: list[Delivery] = field(default_factory=list)


class Notifier:
    def __init__(self, settings: AlertSettings, store: AlertStore | None = None):
        self.settings = settings
        self.store = store if store is not None else MemoryAlertStore()
        self._secrets = settings.secrets()
        self._filter = _RedactingFilter(self._secrets)
        for name in (__name__, "slack_sdk.web.base_client", "slack_sdk.web.client", "urllib3.connectionpool"):
            lg = logging.getLogger(name)
            if not any(isinstance(f, _RedactingFilter) and f.secrets == self._secrets for f in lg.filters):
                lg.addFilter(self._filter)

    @property
    def channels(self) -> list[str]:
        return (["webhook"] if self.settings.webhook_url else []) + (
            ["slack"] if self.settings.slack_token and self.settings.slack_channel else [])

    def notify(self, alerts: Iterable[Alert], now: float | None = None) -> NotifyResult:
        """Deliver each new (asset, date, cause) once; never raises for a dead endpoint."""
        alerts = list(alerts)
        result = NotifyResult()
        fresh = unsent(alerts, self.store.sent({a.key for a in alerts}))
        fresh_keys = {a.key for a in fresh}
        result.duplicates = [a for a in alerts if a.key not in fresh_keys]
        for alert in fresh:
            if not self.channels:
                log.info("alert (no channel configured): %s", alert.text().replace("\n", " | "))
            ds = [self._webhook(alert)] if "webhook" in self.channels else []
            ds += [self._slack(alert)] if "slack" in self.channels else []
            result.deliveries += ds
            (result.sent if any(d.ok for d in ds) or not ds else result.undelivered).append(alert)
        self.store.record(result.sent, time.time() if now is None else now)
        return result

    def _failed(self, channel: str, alert: Alert, exc: BaseException | str, status: int | None = None) -> Delivery:
        error = redact(f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else exc, self._secrets)
        error = " ".join(error.split())[:300]
        log.warning("alert %s %s %s not delivered to %s: %s", alert.cause.value, alert.asset, alert.date, channel,
                    error)
        return Delivery(channel, False, status, error)

    def _webhook(self, alert: Alert) -> Delivery:
        body = json.dumps(alert.payload()).encode("utf-8")
        try:  # building the request validates the URL: its error would name it
            req = urllib.request.Request(self.settings.webhook_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": SOURCE})
            with urllib.request.urlopen(req, timeout=self.settings.timeout_seconds) as resp:
                return Delivery("webhook", True, resp.status)
        except urllib.error.HTTPError as exc:
            return self._failed("webhook", alert, f"HTTP {exc.code} {exc.reason}", exc.code)
        except Exception as exc:  # refused, timeout, DNS, TLS: a dead webhook never fails the caller
            return self._failed("webhook", alert, exc)

    def _slack(self, alert: Alert) -> Delivery:
        from dagster_slack import SlackResource

        try:
            client = SlackResource(token=self.settings.slack_token).get_client()
            client.timeout = int(max(1, self.settings.timeout_seconds))
            if self.settings.slack_base_url:
                client.base_url = self.settings.slack_base_url
            resp = client.chat_postMessage(channel=self.settings.slack_channel, text=alert.text())
            return Delivery("slack", True, resp.status_code)
        except Exception as exc:  # SlackApiError, URLError, timeout: never raises to the caller
            return self._failed("slack", alert, exc, getattr(getattr(exc, "response", None), "status_code", None))
