"""Phase 3 arrival: what landed since the last look, and which Phase 4 (asset, D) it makes runnable.

Pure, plus one SQL statement per table (`snapshot_sql`): `SELECT game_date, COUNT(*),
MAX(processed_at) ... GROUP BY game_date`, for DuckDB and BigQuery. The caller (the arrival
sensor of the wiring wave, or `load-phase3`) runs it for the six tables and passes the frames in.

* `arrivals(cursor, snapshots)`: dates of each table that are NEW, CHANGED (rows or
  MAX(processed_at) differ) or REMOVED since the cursor.
* `readiness(snapshots, calendar, dates)`: per (asset, D), whether all of ITS inputs for D have
  arrived. A `date_match` input must have rows on D when D is a game date (the upcoming_* tables);
  a `history` input must have rows on every game date of D's season before D; Phase 4 inputs are
  ready when their asset is (they run first in the same run). Off-season and bootstrap dates need
  no Phase 3 data (their outcome does not depend on it), nor do no-game dates for date_match inputs.
* `plan(cursor, snapshots, calendar, dates)`: the (asset, D) to request now. Each ready pair has a
  fingerprint of exactly the input data it reads (its date_match inputs on D, its history inputs
  before D, the schedule on D, and its Phase 4 inputs' fingerprints); a pair is requested when its
  fingerprint differs from the one recorded when it was last requested. So new data requests the
  pairs it completes, a late input delays only the assets that read it, and a re-delivered date
  re-requests exactly the pairs that read it, downstream included (a changed UTGC on D re-requests
  pcf and mlfs on D; a changed PGS date re-requests the later dates of its season).

The cursor is plain JSON (Dagster sensor cursors are strings): {"version", "tables": {fqn: {date:
[rows, max_processed_at]}}, "requested": {asset: {date: fingerprint}}}.

`INPUTS` is the per-asset input declaration of PRECOMPUTE.md §1 (reads) and §5 (kinds), written
here as data until the asset registry (another helper's work) declares it once; it is meant to be
derived from that registry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Mapping

import pandas as pd

from nba_precompute.phase3.contract import PHASE3_TABLES, Table
from nba_precompute.season import SeasonCalendar, to_datetime
from nba_precompute.declaration import HISTORY as DECLARED_HISTORY
from nba_precompute.registry import ASSET_NAMES as ASSETS, ASSET_OF_TABLE, DECLARATIONS
from nba_precompute.settings import SETTINGS
from nba_precompute.warehouse.sql import identifier, qualified

DATE_MATCH, HISTORY, CALENDAR, PHASE4 = "date_match", "history", "calendar", "phase4"
NEW, CHANGED, REMOVED = "NEW", "CHANGED", "REMOVED"
CURSOR_VERSION = 1

SCHED = "nba_reference.schedule"
PGS = "nba_analytics.player_game_summary"
TOGS = "nba_analytics.team_offense_game_summary"
TDGS = "nba_analytics.team_defense_game_summary"
UPCG = "nba_analytics.upcoming_player_game_context"
UTGC = "nba_analytics.upcoming_team_game_context"


@dataclass(frozen=True)
class Input:
    name: str  # a Phase 3 table fqn or a Phase 4 asset
    kind: str  # date_match | history | calendar | phase4


def _inputs(*pairs: tuple[str, str]) -> tuple[Input, ...]:
    return (Input(SCHED, CALENDAR),) + tuple(Input(n, k) for n, k in pairs)


def _declared_inputs(declaration) -> tuple[Input, ...]:
    """The asset's reads (its declaration): Phase 4 producers as PHASE4, Phase 3 tables read on D
    as DATE_MATCH, season-to-date reads as HISTORY; every asset also needs the calendar."""
    pairs = []
    for table, how in declaration.reads.items():
        if table.fqn in ASSET_OF_TABLE:
            pairs.append((ASSET_OF_TABLE[table.fqn], PHASE4))
        else:
            pairs.append((table.fqn, HISTORY if how == DECLARED_HISTORY else DATE_MATCH))
    return _inputs(*pairs)


INPUTS: Mapping[str, tuple[Input, ...]] = {name: _declared_inputs(d) for name, d in DECLARATIONS.items()}


# --- the one query per table ----------------------------------------------------------------------
def snapshot_sql(table: Table, dialect: str, project: str | None = None) -> str:
    """Rows and MAX(processed_at) per date of one Phase 3 table (columns game_date, row_count,
    max_processed_at); the schedule has no processed_at, so its max is NULL."""
    col = identifier(table.date_column)
    ts = "MAX(processed_at)" if "processed_at" in table.column_names else (
        "CAST(NULL AS TIMESTAMP)" if dialect == "bigquery" else "CAST(NULL AS TIMESTAMPTZ)")
    return (f"SELECT {col} AS game_date, COUNT(*) AS row_count, {ts} AS max_processed_at "
            f"FROM {qualified(table, dialect, project)} GROUP BY {col} ORDER BY {col}")


def snapshot_queries(dialect: str, project: str | None = None) -> dict[str, str]:
    return {t.fqn: snapshot_sql(t, dialect, project) for t in PHASE3_TABLES}


Snapshot = dict[str, tuple[int, str | None]]  # date -> (rows, max_processed_at ISO or None)


def snapshot_from_frame(frame: pd.DataFrame) -> Snapshot:
    """The result of `snapshot_sql` as {date: (rows, max_processed_at)}, times in UTC ISO."""
    out: Snapshot = {}
    for d, n, ts in zip(to_datetime(frame["game_date"]), frame["row_count"], frame["max_processed_at"]):
        iso = None
        if not pd.isna(ts):
            ts = pd.Timestamp(ts)
            iso = (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).isoformat()
        out[d.strftime("%Y-%m-%d")] = (int(n), iso)
    return out


# --- cursor -----------------------------------------------------------------------------------------
@dataclass
class Cursor:
    tables: dict[str, Snapshot] = field(default_factory=dict)
    requested: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"version": CURSOR_VERSION,
                           "tables": {t: {d: list(v) for d, v in s.items()} for t, s in self.tables.items()},
                           "requested": self.requested}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> "Cursor":
        """An empty cursor for None/""; a cursor of another version is an error, never guessed."""
        if not raw:
            return cls()
        doc = json.loads(raw)
        if doc.get("version") != CURSOR_VERSION:
            raise ValueError(f"arrival cursor version {doc.get('version')!r}, expected {CURSOR_VERSION}")
        return cls({t: {d: (int(v[0]), v[1]) for d, v in s.items()} for t, s in doc["tables"].items()},
                   {a: dict(m) for a, m in doc["requested"].items()})


def arrivals(previous: Mapping[str, Snapshot], snapshots: Mapping[str, Snapshot]) -> pd.DataFrame:
    """Per table and date: NEW, CHANGED or REMOVED since `previous` (unchanged dates omitted)."""
    rows = []
    for table, snap in snapshots.items():
        before = previous.get(table, {})
        for d in sorted(set(snap) | set(before)):
            now, was = snap.get(d), before.get(d)
            if now == was:
                continue
            change = NEW if was is None else REMOVED if now is None else CHANGED
            n, ts = now if now is not None else (0, None)
            rows.append(dict(table=table, date=d, change=change, rows=n, max_processed_at=ts,
                             previous_rows=None if was is None else was[0]))
    return pd.DataFrame(rows, columns=["table", "date", "change", "rows", "max_processed_at", "previous_rows"])


# --- readiness ----------------------------------------------------------------------------------------
def _hash(parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def readiness(snapshots: Mapping[str, Snapshot], calendar: SeasonCalendar, dates,
              inputs: Mapping[str, tuple[Input, ...]] = INPUTS) -> pd.DataFrame:
    """One row per (asset, D): ready, waiting_for (inputs not arrived, with the dates), fingerprint
    (None unless ready). Assets in dependency order, dates ascending."""
    cal = calendar.frame(sorted({pd.Timestamp(d).normalize() for d in dates})).set_index("analysis_date")
    game_days = {s.season_year: [d for d in calendar.teams_by_date["game_date"].drop_duplicates()
                                 if s.opener <= d <= s.last_day] for s in calendar.seasons}
    out = []
    done: dict[tuple[str, str], dict] = {}  # (asset, date) -> its row, for the Phase 4 inputs
    for asset in [a for a in ASSETS if a in inputs]:
        for d, c in cal.iterrows():
            day = d.strftime("%Y-%m-%d")
            waiting, parts = [], []
            needs_data = bool(c["in_season"]) and int(c["days"]) >= SETTINGS.bootstrap_days
            for inp in inputs[asset]:
                snap = snapshots.get(inp.name, {})
                if inp.kind == CALENDAR:
                    parts.append((inp.name, snap.get(day)))
                elif inp.kind == PHASE4:
                    up = done[(inp.name, day)]
                    if not up["ready"]:
                        waiting.append(f"{inp.name} {day} (waiting for {', '.join(up['waiting_for'])})")
                    parts.append((inp.name, up["fingerprint"]))
                elif not needs_data:
                    continue
                elif inp.kind == DATE_MATCH:
                    if c["is_game_date"]:
                        if day not in snap:
                            waiting.append(f"{inp.name} {day}")
                        parts.append((inp.name, snap.get(day)))
                else:  # HISTORY: every game date of the season before D
                    before = [g.strftime("%Y-%m-%d") for g in game_days[int(c["season_year"])] if g < d]
                    missing = [g for g in before if g not in snap]
                    if missing:
                        waiting.append(f"{inp.name} {missing[0]}" + (f" (+{len(missing) - 1} more dates)"
                                                                     if len(missing) > 1 else ""))
                    parts.append((inp.name, [snap.get(g) for g in before]))
            ready = not waiting
            out.append(dict(asset=asset, date=day, ready=ready, waiting_for=waiting,
                            fingerprint=_hash(parts) if ready else None))
            done[(asset, day)] = out[-1]
    return pd.DataFrame(out, columns=["asset", "date", "ready", "waiting_for", "fingerprint"])


@dataclass
class Plan:
    arrivals: pd.DataFrame
    readiness: pd.DataFrame
    requests: pd.DataFrame  # asset, date, why (NEW: first request; CHANGED: its inputs changed)
    cursor: Cursor

    def by_date(self) -> dict[str, list[str]]:
        """{date: assets to request for it, in dependency order}: one run request per date."""
        out: dict[str, list[str]] = {}
        for r in self.requests.itertuples(index=False):
            out.setdefault(r.date, []).append(r.asset)
        return {d: sorted(a, key=ASSETS.index) for d, a in sorted(out.items())}


def plan(cursor: Cursor, snapshots: Mapping[str, Snapshot], calendar: SeasonCalendar, dates,
         inputs: Mapping[str, tuple[Input, ...]] = INPUTS) -> Plan:
    """What to request now, and the cursor to store once the requests are made."""
    ready = readiness(snapshots, calendar, dates, inputs)
    requested = {a: dict(m) for a, m in cursor.requested.items()}
    rows = []
    for r in ready[ready["ready"]].itertuples(index=False):
        before = requested.get(r.asset, {}).get(r.date)
        if before != r.fingerprint:
            rows.append(dict(asset=r.asset, date=r.date, why=NEW if before is None else CHANGED))
            requested.setdefault(r.asset, {})[r.date] = r.fingerprint
    requests = pd.DataFrame(rows, columns=["asset", "date", "why"])
    tables = {**cursor.tables, **{t: dict(s) for t, s in snapshots.items()}}
    return Plan(arrivals(cursor.tables, snapshots), ready, requests, Cursor(tables, requested))
