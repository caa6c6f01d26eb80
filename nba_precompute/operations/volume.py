"""Volume anomalies: is the row count of (asset, D) what the slate and the recent past predict?

Pure pandas, no Dagster. The caller gives one row per (asset, date) with the observed rows, the
asset's exposure on the date and its reference group (`observations`); `evaluate` returns, per
(asset, date), the expected rows, the band, the per-exposure ratio, whether it is an anomaly and
why. Thresholds are data: the `volume` section of checks/thresholds.yaml, validated by
`checks.rules.VolumeSettings` (the settings model of the registry's `volume` check).
`evaluate_counts` is what the check, the volume sensor and the coverage trend call: stored counts
in, one result per (asset, date) out.

Why a rate against an exposure rather than rows against past rows: a slate's size follows the
number of scheduled teams (2 to 30 on real dates), so rows per scheduled team is the quantity that
is stable from one game date to the next (10.5 +- 0.55 players per team in 2022-23 UPCG). Why
the band widens on small slates: a one-game slate averages 2 teams' rosters, a fifteen-game
slate 30, so its per-team rate is about sqrt(15) times noisier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nba_precompute.season import SeasonCalendar, to_datetime
from nba_precompute.settings import SETTINGS

if TYPE_CHECKING:  # the settings model lives with the check (checks/rules.py), which imports this module
    from nba_precompute.checks.rules import VolumeSettings

MAD_TO_SIGMA = 1.4826  # MAD of a normal sample x 1.4826 = its standard deviation

OBSERVATION_COLUMNS = ["asset", "date", "observed", "exposure", "group"]
COUNT_COLUMNS = ["asset", "date", "rows", "entity_failures"]
RESULT_COLUMNS = [
    "asset", "date", "observed", "exposure", "expected", "band_low", "band_high", "ratio", "expected_ratio",
    "tolerance", "reference_dates", "evaluated", "anomaly", "severity", "reason",
]


# --- building the observations ------------------------------------------------------------------
def observations(counts: pd.DataFrame, calendar: SeasonCalendar, config: VolumeSettings) -> pd.DataFrame:
    """The input of `evaluate` from per-(asset, date) counts.

    `counts`: columns asset, date, rows, entity_failures (0 where none). The exposure is T(D) for
    `exposure: teams`, rows + entity failures (the candidates: entities with history) for
    `exposure: history`. The group is the season; with min_games also the dynamic minimum
    games of D (m_p for psza, m_t for tdza), so ramp dates only compare with their own minimum.
    """
    c = counts.copy()
    c["date"] = to_datetime(c["date"]).dt.normalize()
    cal = calendar.frame(c["date"].unique()).set_index("analysis_date")
    c = c[c["asset"].isin(list(config.assets))]
    teams = c["date"].map(cal["teams"]).fillna(0).astype(int)
    season = c["date"].map(cal["season_year"])
    days = c["date"].map(cal["days"])
    kind = c["asset"].map(lambda a: config.assets[a].exposure)
    entity_failures = c["entity_failures"].fillna(0).astype(int) if "entity_failures" in c else 0
    c["exposure"] = np.where(kind == "teams", teams, c["rows"].astype(int) + entity_failures).astype(float)

    def group(asset, s, d):
        if pd.isna(s):
            return "off-season"
        ramp = config.assets[asset].min_games
        if ramp and not pd.isna(d):
            m = getattr(SETTINGS, ramp)(int(d))
            return f"{int(s)}/min_games={m}"
        return str(int(s))

    c["group"] = [group(a, s, d) for a, s, d in zip(c["asset"], season, days)]
    return c.rename(columns={"rows": "observed"})[OBSERVATION_COLUMNS].reset_index(drop=True)


# --- the check ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ref:
    ratio: np.ndarray
    weight: np.ndarray


def _band(ref: _Ref, w_today: float, config: VolumeSettings) -> tuple[float, float]:
    """(expected ratio, relative tolerance) from the reference dates."""
    m = float(np.median(ref.ratio))
    dev = (ref.ratio / m - 1.0) * np.sqrt(ref.weight)
    sigma = max(config.min_sigma, MAD_TO_SIGMA * float(np.median(np.abs(dev - np.median(dev)))))
    tol = config.z * sigma / math.sqrt(max(w_today, 1.0))
    return m, min(config.max_tolerance, max(config.min_tolerance, tol))


def evaluate(obs: pd.DataFrame, config: VolumeSettings) -> pd.DataFrame:
    """One result row per observation (RESULT_COLUMNS), asset-major and dates ascending.

    A date is evaluated when it has rows and exposure and at least `min_reference` earlier dates
    of its group have both; its references are the `window` most recent of those. A flagged date
    is not a reference for later dates, so one thin day never lowers the band of the next.
    """
    out = []
    for asset, g in obs.sort_values(["asset", "date"]).groupby("asset", sort=False):
        spec = config.assets[asset]
        history: dict[str, list[tuple[float, float]]] = {}
        for r in g.itertuples(index=False):
            observed, exposure = int(r.observed), float(r.exposure)
            refs = history.setdefault(r.group, [])
            row = dict(asset=asset, date=r.date, observed=observed, exposure=exposure, expected=np.nan,
                       band_low=np.nan, band_high=np.nan, ratio=np.nan, expected_ratio=np.nan, tolerance=np.nan,
                       reference_dates=min(len(refs), config.window), evaluated=False, anomaly=False,
                       severity=config.severity.value, reason="")
            if observed <= 0 or exposure <= 0:
                row["reason"] = "not evaluated: no rows (the date's outcome explains it)" if observed <= 0 \
                    else "not evaluated: no exposure (no scheduled team / no entity with history)"
                out.append(row)
                continue
            ratio = observed / exposure
            row["ratio"] = ratio
            if len(refs) < config.min_reference:
                row["reason"] = (f"not evaluated: {len(refs)} reference date(s) in group {r.group}, "
                                 f"need {config.min_reference}")
                out.append(row)
                refs.append((ratio, exposure))
                continue
            recent = refs[-config.window:]
            w_today = exposure if spec.noise == "per_team" else 1.0
            ref = _Ref(np.array([x for x, _ in recent]),
                       np.array([e if spec.noise == "per_team" else 1.0 for _, e in recent]))
            m, tol = _band(ref, w_today, config)
            expected = m * exposure
            low, high = expected * (1 - tol), expected * (1 + tol)
            anomaly = observed < low or (config.flag_high and observed > high)
            unit = "per scheduled team" if spec.exposure == "teams" else "of the entities with history"
            row.update(expected=expected, band_low=low, band_high=high, expected_ratio=m, tolerance=tol,
                       evaluated=True, anomaly=bool(anomaly))
            row["reason"] = (
                f"{observed} rows, expected {expected:.0f} (band {low:.0f}..{high:.0f}): {ratio:.2f} {unit} "
                f"against a median {m:.2f} over the last {len(recent)} dates ({ratio / m - 1:+.0%})"
            )
            if not anomaly:
                refs.append((ratio, exposure))
            out.append(row)
    frame = pd.DataFrame(out, columns=RESULT_COLUMNS)
    frame["date"] = to_datetime(frame["date"])
    return frame


def anomalies(results: pd.DataFrame) -> pd.DataFrame:
    """The flagged (asset, date) rows of `evaluate`'s result."""
    return results[results["anomaly"]].reset_index(drop=True)


def evaluate_counts(counts: pd.DataFrame, calendar: SeasonCalendar, config: VolumeSettings) -> pd.DataFrame:
    """`evaluate` of per-(asset, date) counts (COUNT_COLUMNS, e.g. `counts.volume_counts`): each
    date's references are the earlier dates of `counts` in its group."""
    if not len(counts):
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return evaluate(observations(counts, calendar, config), config)
