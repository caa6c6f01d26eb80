"""Dependency rules (§5): counts, requirements, reasons, on small frames built here."""

import datetime as dt

import pandas as pd

from nba_precompute.dependencies import evaluate, failure_reasons
from nba_precompute.registry import RULES, rules_for
from nba_precompute.season import SeasonCalendar

OPENER = dt.date(2021, 10, 19)
TEAMS = [f"T{i:02d}" for i in range(30)]


def schedule(dates_games: dict[dt.date, int]) -> pd.DataFrame:
    rows = []
    gid = 0
    for d, n in dates_games.items():
        for g in range(n):
            gid += 1
            rows.append(dict(game_id=f"00221{gid:05d}", game_date=d, season_year=2021,
                             home_team_abbr=TEAMS[2 * g], away_team_abbr=TEAMS[2 * g + 1],
                             game_status=3, is_regular_season=True, is_playoffs=False))
    return pd.DataFrame(rows)


def upcg(date: dt.date, players: int, teams: int = 4) -> pd.DataFrame:
    return pd.DataFrame({
        "player_lookup": [f"p{i}" for i in range(players)],
        "game_id": "x", "game_date": date,
        "team_abbr": [TEAMS[i % teams] for i in range(players)],
        "processed_at": pd.Timestamp("2022-01-01", tz="UTC"),
    })


def test_every_rule_of_the_spec_table_is_declared_once_in_order():
    assert [r.number for r in RULES] == list(range(1, 16))
    assert [r.number for r in rules_for("mlfs")] == [11, 12, 13, 14, 15]
    assert {r.upstream.fqn for r in rules_for("pcf")} == {
        "nba_analytics.upcoming_player_game_context", "nba_analytics.upcoming_team_game_context",
        "nba_precompute.player_shot_zone_analysis", "nba_precompute.team_defense_zone_analysis",
    }


def test_missing_upcoming_team_context_fails_pcf_with_the_spec_reason():
    d = dt.date(2021, 11, 9)
    cal = SeasonCalendar(schedule({OPENER: 2, d: 8}))  # T = 16
    inputs = {
        "nba_analytics.upcoming_player_game_context": upcg(d, 200, teams=16),
        "nba_analytics.upcoming_team_game_context": pd.DataFrame({"team_abbr": [], "game_date": []}),
        "nba_precompute.player_shot_zone_analysis": pd.DataFrame({"analysis_date": [pd.Timestamp(d)] * 40}),
        "nba_precompute.team_defense_zone_analysis": pd.DataFrame({"analysis_date": [pd.Timestamp(d)] * 30}),
    }
    verdicts = evaluate(rules_for("pcf"), cal.frame([d]), inputs, cal)
    assert verdicts.set_index("rule")[["found", "required", "ok"]].to_dict("index") == {
        7: {"found": 200, "required": 128, "ok": True},
        8: {"found": 0, "required": 13, "ok": False},  # ceil(0.8 * 16)
        9: {"found": 40, "required": 30, "ok": True},
        10: {"found": 30, "required": 25, "ok": True},
    }
    assert failure_reasons(verdicts).tolist() == [
        "Missing nba_analytics.upcoming_team_game_context for 2021-11-09 (0 rows, need 13)"
    ]


def test_reasons_of_several_failing_rules_are_joined_in_table_order():
    d = dt.date(2021, 11, 9)
    cal = SeasonCalendar(schedule({OPENER: 2, d: 1}))  # T = 2
    inputs = {
        "nba_analytics.upcoming_player_game_context": upcg(d, 10, teams=2),
        "nba_precompute.player_daily_cache": pd.DataFrame({"analysis_date": [pd.Timestamp(d)] * 6}),
        "nba_precompute.player_composite_factors": pd.DataFrame({"analysis_date": [pd.Timestamp(d)] * 7}),
        "nba_precompute.player_shot_zone_analysis": pd.DataFrame({"analysis_date": []}),
        "nba_precompute.team_defense_zone_analysis": pd.DataFrame({"analysis_date": [pd.Timestamp(d)] * 25}),
    }
    verdicts = evaluate(rules_for("mlfs"), cal.frame([d]), inputs, cal)
    # N = 10: pdc needs ceil(0.7*10)=7 (has 6), pcf ceil(0.8*10)=8 (has 7), psza 100, UPCG 8*2=16
    assert failure_reasons(verdicts).iloc[0] == "; ".join([
        "Missing nba_analytics.upcoming_player_game_context for 2021-11-09 (10 rows, need 16)",
        "Missing nba_precompute.player_daily_cache for 2021-11-09 (6 rows, need 7)",
        "Missing nba_precompute.player_composite_factors for 2021-11-09 (7 rows, need 8)",
        "Missing nba_precompute.player_shot_zone_analysis for 2021-11-09 (0 rows, need 100)",
    ])


def _pgs(player: str, dates: list[dt.date], played: bool = True) -> pd.DataFrame:
    return pd.DataFrame({
        "player_lookup": player, "game_id": [f"g{i}" for i in range(len(dates))], "game_date": dates,
        "season_year": 2021, "is_active": played, "is_dnp": not played,
        "points": 10 if played else None, "minutes_played": 20.0 if played else None,
        "fg_attempts": 5 if played else None, "ft_attempts": 0 if played else None,
    })


def test_psza_history_rule_counts_players_with_the_dynamic_minimum_before_d_only():
    d = dt.date(2021, 11, 4)  # day 16: m_p = min(3 + 16 // 3, 9) = 8
    cal = SeasonCalendar(schedule({OPENER: 1, d: 1}))
    days = [OPENER + dt.timedelta(days=i) for i in range(0, 16, 2)]  # 8 games before d
    frames = [_pgs(f"full{i}", days) for i in range(31)]
    frames.append(_pgs("seven", days[:7]))  # one short
    frames.append(_pgs("dnp", days, played=False))  # DNP rows never count
    frames.append(_pgs("today", days[:7] + [d]))  # the game on D itself does not count
    verdicts = evaluate(rules_for("psza"), cal.frame([d]), {"nba_analytics.player_game_summary": pd.concat(frames)}, cal)
    assert verdicts[["found", "required", "ok"]].iloc[0].tolist() == [31, 30, True]


def test_pdc_team_rule_counts_only_teams_playing_on_d_with_a_previous_game():
    d = dt.date(2021, 11, 9)
    cal = SeasonCalendar(schedule({OPENER: 1, d: 2}))  # T on d = 4: T00..T03
    togs = pd.DataFrame({"team_abbr": ["T00", "T01", "T05"], "game_id": "g", "season_year": 2021,
                         "game_date": [OPENER, OPENER, OPENER]})
    inputs = {
        "nba_analytics.player_game_summary": _pgs("p0", [OPENER, OPENER + dt.timedelta(1), OPENER + dt.timedelta(2)]),
        "nba_analytics.team_offense_game_summary": togs,
        "nba_analytics.upcoming_player_game_context": upcg(d, 40),
        "nba_precompute.player_shot_zone_analysis": pd.DataFrame({"analysis_date": [pd.Timestamp(d)] * 30}),
    }
    v = evaluate(rules_for("pdc"), cal.frame([d]), inputs, cal).set_index("rule")
    assert v.loc[4, ["found", "required"]].tolist() == [2, 4]  # T00, T01 have a game; ceil(0.8*4)=4
    assert v.loc[3, ["found", "required"]].tolist() == [1, 28]  # 1 slate player with >= 3 games; ceil(0.7*40)
    assert v.loc[5, ["found", "required"]].tolist() == [40, 32]


def test_the_rules_read_the_settings_they_are_evaluated_with():
    """An override of the ramp (m_p) and of the requirement applies: nothing is bound at import."""
    import dataclasses

    from nba_precompute.settings import SETTINGS

    d = dt.date(2021, 11, 4)  # day 16: m_p = 8 by default
    cal = SeasonCalendar(schedule({OPENER: 1, d: 1}))
    days = [OPENER + dt.timedelta(days=i) for i in range(0, 16, 2)]
    pgs = pd.concat([_pgs(f"seven{i}", days[:7]) for i in range(5)])  # 7 played games each
    inputs = {"nba_analytics.player_game_summary": pgs}
    default = evaluate(rules_for("psza"), cal.frame([d]), inputs, cal)
    lenient = dataclasses.replace(SETTINGS, early_ramp_days=0, psza_sample_window=7, dep_psza_history_players=5)
    overridden = evaluate(rules_for("psza"), cal.frame([d]), inputs, cal, lenient)

    assert default[["found", "required", "ok"]].iloc[0].tolist() == [0, 30, False]
    assert overridden[["found", "required", "ok"]].iloc[0].tolist() == [5, 5, True]
