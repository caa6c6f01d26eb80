"""`nba-precompute`: the command line.

Global options select the warehouse; the Dagster instance is DAGSTER_HOME (or a project-local
one under .nba_precompute/). Subcommands: load-phase3, generate-demo, demo, backfill, coverage,
explain, check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from nba_precompute import config as configuration
from nba_precompute.registry import ASSET_NAMES


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _assets(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"no asset named in {value!r}; choose from {', '.join(ASSET_NAMES)}")
    unknown = [n for n in names if n not in ASSET_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown asset(s) {', '.join(unknown)}; choose from {', '.join(ASSET_NAMES)}")
    return [a for a in ASSET_NAMES if a in names]  # dependency order


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {n}")
    return n


def _tables(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"no table named in {value!r}")
    return names


class BadArgument(ValueError):
    """An argument the parser accepts but the project cannot (e.g. a date with no partition)."""


def _check_partition_dates(start: dt.date, end: dt.date) -> None:
    """--start/--end must be partitions of the daily partitions definition (its first date to
    today, end_offset=1): a backfill must never record a materialization of a partition that does not exist."""
    from nba_precompute.partitions import daily_partitions

    first = daily_partitions.start.date()
    last = dt.date.fromisoformat(daily_partitions.get_last_partition_key())
    for flag, day in (("--start", start), ("--end", end)):
        if not first <= day <= last:
            raise BadArgument(f"{flag} {day} is outside the partitions definition ({first}..{last}: from "
                              f"NBA_PRECOMPUTE_START_DATE to today); no partition exists for it")


def _only(value: str) -> set[str]:
    kinds = {v.strip() for v in value.split(",") if v.strip()}
    if not kinds or kinds - {"failed", "missing"}:
        raise argparse.ArgumentTypeError(f"--only takes failed, missing or both, not {value!r}")
    return kinds


def _warehouse():
    from nba_precompute.resources import warehouse_from_config

    return warehouse_from_config()


# --- commands ---------------------------------------------------------------------------------
def cmd_load_phase3(args) -> int:
    from nba_precompute.phase3.integrity import load_bounds
    from nba_precompute.phase3.loader import check_folder_files, load_phase3

    bounds = load_bounds(args.integrity_config)
    if args.report:
        _, violations = check_folder_files(args.folder, args.allow_empty, bounds)
        for v in violations:
            print(v)
        if violations:
            print(f"error: {args.folder}: {len(violations)} violation(s) of the Phase 3 contract; nothing was loaded",
                  file=sys.stderr)
            return 2
        print(f"{args.folder}: no violation of the Phase 3 contract")
    loaded = load_phase3(args.folder, _warehouse(), args.allow_empty, bounds)
    print(f"loaded {args.folder} (season {', '.join(map(str, loaded.season_years))}, {loaded.start}..{loaded.end})")
    print(loaded.summary().to_string(index=False))
    _report_load(loaded)
    return 0


def _report_load(loaded) -> None:
    """Record the loaded dates' row counts in the Dagster instance (the Phase 3 partition bars)."""
    from nba_precompute.defs.phase3 import report_phase3_load
    from nba_precompute.instance import get_instance

    with get_instance() as instance:
        count = report_phase3_load(instance, loaded.frames)
    print(f"recorded {count} Phase 3 arrival materializations in the Dagster instance")


def cmd_generate_demo(args) -> int:
    from nba_precompute_demo.season import write_season

    paths = write_season(args.out, season_year=args.season_year, seed=args.seed, scenario=args.scenario)
    for p in paths:
        print(p)
    return 0


def _preflight_writes() -> None:
    """A backfill writes the warehouse and the Dagster instance: a read-only or missing path
    fails here, with its cause on one line, instead of inside every run."""
    _warehouse().check_writable()
    home = configuration.current().dagster_home
    if home:
        import tempfile

        try:
            Path(home).mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=home):
                pass
        except OSError as exc:
            raise OSError(exc.errno, f"DAGSTER_HOME cannot be written: {exc.strerror}", home) from None


def cmd_backfill(args) -> int:
    from nba_precompute.backfill import run_backfill

    _check_partition_dates(args.start, args.end)
    if not args.dry_run:
        _preflight_writes()

    return run_backfill(args.start, args.end, args.assets, only=args.only, dry_run=args.dry_run,
                        chunk_days=args.chunk_days, allow_gaps=args.allow_gaps)


def cmd_coverage(args) -> int:
    from nba_precompute.coverage.cli import run_coverage

    return run_coverage(args, _warehouse())


def cmd_explain(args) -> int:
    from nba_precompute.coverage.cli import run_explain

    return run_explain(args.asset[0], args.date, _warehouse())


def cmd_check(args) -> int:
    from nba_precompute.checks.audit import run_check

    return run_check(args, _warehouse())


def cmd_bigquery_ddl(args) -> int:
    from nba_precompute.resources import bigquery_warehouse

    warehouse = bigquery_warehouse(project=args.project, resolve=True)
    for statement in warehouse.ddl():
        print(statement + ";\n")
    if args.apply:
        warehouse.ensure_tables()
        print(f"applied {len(warehouse.ddl())} statements to project {warehouse.project}")
    return 0


def cmd_demo(args) -> int:
    """The main job: demo season -> warehouse -> backfill -> coverage report with root causes."""
    from nba_precompute.backfill import run_backfill
    from nba_precompute.coverage.cli import run_coverage
    from nba_precompute_demo.season import write_season
    from nba_precompute.phase3.loader import load_phase3

    _check_partition_dates(args.start, args.end)
    out = Path(args.out)
    warehouse = _warehouse()
    print(f"== generating the demo season (scenario {args.scenario or 'none'}, seed {args.seed}) into {out}")
    write_season(out, season_year=2021, seed=args.seed, scenario=args.scenario)
    loaded = load_phase3(out, warehouse)
    print(f"== loaded into {configuration.current().warehouse}")
    print(loaded.summary().to_string(index=False))
    _report_load(loaded)
    print(f"== backfilling {args.start}..{args.end} through Dagster (DAGSTER_HOME={configuration.current().dagster_home or ''})")
    code = run_backfill(args.start, args.end, list(ASSET_NAMES), warehouse=warehouse, report=False,
                        allow_gaps=args.allow_gaps)
    print(f"== coverage {args.start}..{args.end}, with the root cause of every failed date")
    heatmap = Path(args.heatmap)
    heatmap.parent.mkdir(parents=True, exist_ok=True)
    report_args = argparse.Namespace(start=args.start, end=args.end, assets=list(ASSET_NAMES), format="table",
                                     dates=False, explain=True, heatmap=heatmap)
    run_coverage(report_args, warehouse)
    print(f"== heatmap: {heatmap.resolve()}")
    print(f"== coverage_report materialized through Dagster: {_materialize_coverage_report()}")
    return code


def _materialize_coverage_report() -> str:
    """The coverage_report asset over the data's range (what the UI shows on its page)."""
    import dagster as dg

    from nba_precompute.defs.coverage import COVERAGE_ASSET
    from nba_precompute.definitions import build_definitions
    from nba_precompute.instance import get_instance

    job = build_definitions().resolve_implicit_global_asset_job_def()
    with get_instance() as instance:
        # the report was just printed: the terminal gets only warnings of this run
        result = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey(COVERAGE_ASSET)],
                                        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                                        raise_on_error=False)
    return f"run {result.run_id} {'success' if result.success else 'FAILURE'}"


_ALLOW_GAPS = ("exit 0, not 3, when the range completed with genuine gaps (missing dependencies, processing "
               "errors); failing ERROR checks and crashes still exit 1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nba-precompute", description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", metavar="PATH",
                        help="DuckDB warehouse file (env NBA_PRECOMPUTE_WAREHOUSE; default .nba_precompute/warehouse.duckdb)")
    parser.add_argument("--debug", action="store_true", help="on an error, also print the traceback")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("load-phase3", help="validate and load a folder of Phase 3 Parquet files")
    p.add_argument("folder", type=Path)
    p.add_argument("--allow-empty", type=_tables, default=[], metavar="TABLE[,TABLE]",
                   help="load these tables even when their file has 0 rows (replacing the season's rows with none)")
    p.add_argument("--report", action="store_true",
                   help="list every violation of the folder, one per line, instead of the first")
    p.add_argument("--integrity-config", type=Path, metavar="FILE",
                   help="plausibility bounds merged over the defaults (env NBA_PRECOMPUTE_INTEGRITY_CONFIG)")
    p.set_defaults(func=cmd_load_phase3)

    p = sub.add_parser("generate-demo", help="write a deterministic synthetic Phase 3 season")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--season-year", type=int, default=2021)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scenario", default=None, help="e.g. nov-2021-gaps")
    p.set_defaults(func=cmd_generate_demo)

    p = sub.add_parser("demo", help="the main job: generate and load the demo season, backfill, report coverage")
    p.add_argument("--out", type=Path, default=Path(".nba_precompute") / "demo-phase3")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scenario", default="nov-2021-gaps")
    p.add_argument("--start", type=_date, default=dt.date(2021, 11, 5))
    p.add_argument("--end", type=_date, default=dt.date(2021, 11, 30))
    p.add_argument("--heatmap", type=Path, default=Path(".nba_precompute") / "coverage.png")
    p.add_argument("--allow-gaps", action="store_true", help=_ALLOW_GAPS)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("backfill", help="materialize a date range of the Phase 4 assets through Dagster")
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.add_argument("--assets", type=_assets, default=list(ASSET_NAMES))
    p.add_argument("--only", type=_only, default=None, metavar="failed,missing",
                   help="re-run only dates whose status is DATE_FAILED (retryable) and/or MISSING")
    p.add_argument("--dry-run", action="store_true", help="print the plan and foreseeable verdicts; write nothing")
    p.add_argument("--chunk-days", type=_positive_int, default=None, metavar="N", help="one run per N days (default: one run)")
    p.add_argument("--allow-gaps", action="store_true", help=_ALLOW_GAPS)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("coverage", help="per-date partition status of the Phase 4 assets over a range")
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.add_argument("--assets", type=_assets, default=list(ASSET_NAMES))
    p.add_argument("--format", choices=["table", "csv", "json", "md"], default="table")
    p.add_argument("--dates", action="store_true", help="also print the per-date grid")
    p.add_argument("--explain", action="store_true", help="print the root-cause chain of every failed date")
    p.add_argument("--heatmap", type=Path, metavar="FILE", help="write an assets x dates heatmap (.png or .html)")
    p.add_argument("--trend", type=Path, metavar="FILE",
                   help="write the rows per date with the volume check's expected band (.png)")
    p.set_defaults(func=cmd_coverage)

    p = sub.add_parser("explain", help="root-cause chain(s) of an (asset, date)")
    p.add_argument("asset", type=_assets)
    p.add_argument("date", type=_date)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("check", help="run the asset checks over stored tables (no recomputation)")
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.add_argument("--assets", type=_assets, default=list(ASSET_NAMES))
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("bigquery-ddl", help="print (or --apply) the BigQuery DDL of the Phase 4 and failure tables")
    p.add_argument("--project", help="Google Cloud project (default: NBA_PRECOMPUTE_GCP_PROJECT / GOOGLE_CLOUD_PROJECT)")
    p.add_argument("--apply", action="store_true", help="run the statements with the configured credentials")
    p.set_defaults(func=cmd_bigquery_ddl)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the configuration, read once, flags over the environment; every command runs inside it
    config = configuration.current().replace(warehouse=Path(args.warehouse) if args.warehouse else None)
    try:
        with configuration.using(config):
            return args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line naming the path or argument and the real cause
        code, message = describe_error(exc)
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        return code


def describe_error(exc: BaseException) -> tuple[int, str]:
    """(exit status, one-line message): 2 for bad input (files, arguments, configuration, the
    warehouse setting), 1 for environment failures (disk, permissions, busy files) and bugs."""
    import sqlite3

    from nba_precompute.checks.config import ChecksConfigError
    from nba_precompute.phase3.integrity import IntegrityConfigError
    from nba_precompute.phase3.loader import Phase3ValidationError
    from nba_precompute.warehouse import WarehouseError

    one_line = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (Phase3ValidationError, BadArgument, IntegrityConfigError, ChecksConfigError)):
        return 2, one_line
    if isinstance(exc, WarehouseError):
        return (2 if exc.bad_input else 1), one_line
    if isinstance(exc, sqlite3.Error):
        home = configuration.current().dagster_home or "(project-local instance)"
        return 1, f"the Dagster instance at DAGSTER_HOME={home} cannot be used: {type(exc).__name__}: {one_line}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        cause = exc.strerror or one_line
        return 1, f"{where}{cause} (errno {exc.errno})" if exc.errno else f"{where}{cause}"
    cause = _os_cause_in(exc)
    if cause is not None:
        return 1, f"{cause} ({type(exc).__name__}: {one_line})"
    return 1, f"unexpected {type(exc).__name__}: {one_line} (rerun with --debug for the traceback)"


def _os_cause_in(exc: BaseException) -> str | None:
    """An OSError or sqlite3 error somewhere in the exception's chain (Dagster wraps storage
    errors of DAGSTER_HOME), as "path: cause"."""
    import sqlite3

    seen = set()
    e = exc.__cause__ or exc.__context__
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError):
            return f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}"
        if isinstance(e, sqlite3.Error):
            return f"the Dagster instance at DAGSTER_HOME={configuration.current().dagster_home} cannot be used: {e}"
        e = e.__cause__ or e.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
