"""The asset-check configuration (PRECOMPUTE.md §8): a typed, frozen object loaded from YAML.

`thresholds.yaml` (shipped in this package) holds the defaults; a deployment file named in the
environment variable NBA_PRECOMPUTE_CHECKS_CONFIG is merged over it (mappings key by key, any
other value replaces). Unknown keys, unknown assets or columns, bad severities and malformed
ranges raise `ChecksConfigError` naming the key path and the files involved.

A value written `settings.<name>` is SETTINGS.<name> (nba_precompute.settings): thresholds that
the dependency rules already define (ROW_MIN from the §5 requirements, the constant-feature
minimum, window sizes) are referred to, never copied.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import yaml

from nba_precompute.settings import SETTINGS, Settings
from nba_precompute.registry import ASSET_NAMES, ASSET_TABLES, DECLARATIONS, SLATE_ASSETS  # noqa: F401 (SLATE_ASSETS re-exported)

ENV_VAR = "NBA_PRECOMPUTE_CHECKS_CONFIG"
DEFAULTS_RESOURCE = "thresholds.yaml"

PRIMARY_KEY_UNIQUE = "primary_key_unique"
KEYS_NOT_NULL = "keys_not_null"
OUTCOME_CONSISTENT = "outcome_consistent"
ENTITY_ACCOUNTING = "entity_accounting"
ROW_MINIMUM = "row_minimum"
VALUE_RANGES = "value_ranges"
ZONE_RATES_SUM = "zone_rates_sum"
NON_CONSTANT_FEATURES = "non_constant_features"

_BASE = (PRIMARY_KEY_UNIQUE, KEYS_NOT_NULL, OUTCOME_CONSISTENT, ENTITY_ACCOUNTING, ROW_MINIMUM, VALUE_RANGES)
ALL_CHECKS: tuple[str, ...] = _BASE + (ZONE_RATES_SUM, NON_CONSTANT_FEATURES)

CHECK_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {a: _BASE + tuple(c for c in ALL_CHECKS if c in DECLARATIONS[a].checks) for a in ASSET_NAMES}
)
"""The checks of each asset, in evaluation order: the common ones and those its declaration adds."""
_unknown = {c for d in DECLARATIONS.values() for c in d.checks} - set(ALL_CHECKS)
if _unknown:
    raise ValueError(f"asset declarations name unknown check(s) {', '.join(sorted(_unknown))}")


class ChecksConfigError(ValueError):
    """The checks configuration is invalid; the message names the key and the file(s)."""


class Severity(str, Enum):
    ERROR = "ERROR"
    WARN = "WARN"


# --- typed pieces -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueRange:
    """[low, high] (None = unbounded), or a set of allowed values."""

    low: float | None = None
    high: float | None = None
    values: tuple[float, ...] | None = None

    def violations(self, x: np.ndarray) -> np.ndarray:
        """Mask of values outside the range: NaN (NULL) passes, +-Inf always fails."""
        x = np.asarray(x, dtype="float64")
        present = ~np.isnan(x)
        bad = np.isinf(x)
        if self.values is not None:
            bad |= ~np.isin(x, np.asarray(self.values, dtype="float64"))
        else:
            if self.low is not None:
                bad |= x < self.low
            if self.high is not None:
                bad |= x > self.high
        return present & bad

    def __str__(self) -> str:
        if self.values is not None:
            return "{" + ", ".join(_num(v) for v in self.values) + "}"
        low = "(-inf" if self.low is None else f"[{_num(self.low)}"
        high = "inf)" if self.high is None else f"{_num(self.high)}]"
        return f"{low}, {high}"


@dataclass(frozen=True)
class RowMinimum:
    """ROW_MIN of one asset: an absolute row count, or max(1, ceil(slate_ratio * N))."""

    rows: int | None = None
    slate_ratio: float | None = None

    @property
    def needs_slate(self) -> bool:
        return self.slate_ratio is not None

    def required(self, slate_size: float | None) -> int | None:
        """The minimum for a date with slate size N (None when it needs N and N is unknown)."""
        if self.slate_ratio is None:
            return self.rows
        if slate_size is None or (isinstance(slate_size, float) and math.isnan(slate_size)):
            return None
        return max(1, math.ceil(self.slate_ratio * float(slate_size)))  # as dependencies._slate_ratio

    def describe(self, slate_size: float | None = None) -> str:
        if self.slate_ratio is None:
            return str(self.rows)
        n = "N" if slate_size is None else str(int(slate_size))
        return f"max(1, ceil({_num(self.slate_ratio)} x {n}))"


@dataclass(frozen=True)
class CheckConfig:
    severity: Severity


@dataclass(frozen=True)
class RowMinimumConfig(CheckConfig):
    row_min: Mapping[str, RowMinimum]


@dataclass(frozen=True)
class ValueRangesConfig(CheckConfig):
    by_name_word: tuple[tuple[str, ValueRange], ...]
    counts: ValueRange | None
    columns: Mapping[str, Mapping[str, ValueRange]]

    def ranges_for(self, asset: str) -> dict[str, ValueRange]:
        """Every ranged column of the asset's table, with its range (precedence: explicit
        column, then the first matching name word, then the INT64 count rule)."""
        table = ASSET_TABLES[asset]
        explicit = self.columns.get(asset, {})
        out: dict[str, ValueRange] = {}
        for column, typ in table.columns:
            if typ not in ("INT64", "FLOAT64"):
                continue
            if column in explicit:
                out[column] = explicit[column]
                continue
            words = set(column.split("_"))
            word_range = next((r for w, r in self.by_name_word if w in words), None)
            if word_range is not None:
                out[column] = word_range
            elif typ == "INT64" and self.counts is not None:
                out[column] = self.counts
        return out


@dataclass(frozen=True)
class ZoneRatesSumConfig(CheckConfig):
    columns: tuple[str, ...]
    total: float
    tolerance: float


@dataclass(frozen=True)
class NonConstantConfig(CheckConfig):
    min_rows: int
    columns: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class ChecksConfig:
    """Every threshold and severity of the asset checks."""

    primary_key_unique: CheckConfig
    keys_not_null: CheckConfig
    outcome_consistent: CheckConfig
    entity_accounting: CheckConfig
    row_minimum: RowMinimumConfig
    value_ranges: ValueRangesConfig
    zone_rates_sum: ZoneRatesSumConfig
    non_constant_features: NonConstantConfig
    detail_max_items: int = 5
    sources: tuple[str, ...] = ()  # the files it was loaded from, defaults first

    def check(self, name: str) -> CheckConfig:
        if name not in ALL_CHECKS:
            raise KeyError(f"unknown check {name!r}; checks are {', '.join(ALL_CHECKS)}")
        return getattr(self, name)

    def severity(self, name: str) -> Severity:
        return self.check(name).severity


# --- loading ----------------------------------------------------------------------------------
def defaults_text() -> str:
    return resources.files("nba_precompute.checks").joinpath(DEFAULTS_RESOURCE).read_text(encoding="utf-8")


def load_config(path: str | Path | None = None, *, settings: Settings = SETTINGS,
                use_env: bool = True) -> ChecksConfig:
    """The shipped defaults, merged with the deployment file `path` (or, when None and use_env,
    the file named in NBA_PRECOMPUTE_CHECKS_CONFIG, if set)."""
    sources = [f"nba_precompute/checks/{DEFAULTS_RESOURCE}"]
    document = _parse_yaml(defaults_text(), sources[0])
    if path is None and use_env:
        path = os.environ.get(ENV_VAR) or None
    if path is not None:
        p = Path(path)
        if not p.is_file():
            origin = f" (from ${ENV_VAR})" if os.environ.get(ENV_VAR) == str(path) else ""
            raise ChecksConfigError(f"checks config file {p}{origin} does not exist")
        override = _parse_yaml(p.read_text(encoding="utf-8"), str(p))
        sources.append(str(p))
        document = _merge(document, override or {})
    return _Parser(settings, tuple(sources)).config(document)


def config_from_dict(document: Mapping[str, Any], *, settings: Settings = SETTINGS) -> ChecksConfig:
    """A config from an override mapping merged over the shipped defaults (tests, notebooks)."""
    base = _parse_yaml(defaults_text(), DEFAULTS_RESOURCE)
    return _Parser(settings, (DEFAULTS_RESOURCE, "<dict>")).config(_merge(base, dict(document)))


def _parse_yaml(text: str, name: str) -> dict:
    try:
        # libyaml's loader when PyYAML has it: a run parses the defaults once per asset
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ChecksConfigError(f"checks config {name} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ChecksConfigError(f"checks config {name} must be a mapping at the top level, not {type(data).__name__}")
    return data


def _merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; any other override value replaces the base value."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return override


_SETTING = re.compile(r"^settings\.([A-Za-z_][A-Za-z0-9_]*)$")


class _Parser:
    """Turns the merged document into ChecksConfig, with errors that name the key path."""

    def __init__(self, settings: Settings, sources: tuple[str, ...]):
        self.settings = settings
        self.sources = sources

    # --- errors -------------------------------------------------------------------------------
    def error(self, path: str, message: str) -> ChecksConfigError:
        where = " + ".join(self.sources)
        return ChecksConfigError(f"checks config ({where}): {path}: {message}")

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...] | None = None,
                required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, got {value!r}")
        if allowed is not None:
            unknown = [k for k in value if k not in allowed]
            if unknown:
                raise self.error(
                    path, f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                    f"allowed: {', '.join(allowed)}"
                )
        missing = [k for k in required if k not in value]
        if missing:
            raise self.error(path, f"missing key(s) {', '.join(missing)}")
        return value

    # --- scalars ------------------------------------------------------------------------------
    def number(self, value: Any, path: str, *, allow_none: bool = False) -> float | None:
        if value is None and allow_none:
            return None
        if isinstance(value, str):
            m = _SETTING.match(value.strip())
            if not m:
                raise self.error(path, f"expected a number or 'settings.<name>', got {value!r}")
            name = m.group(1)
            if not hasattr(self.settings, name):
                raise self.error(path, f"unknown setting {name!r} (see nba_precompute.settings.Settings)")
            value = getattr(self.settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(path, f"expected a finite number, got {value!r}")
        return float(value)

    def integer(self, value: Any, path: str, minimum: int = 0) -> int:
        x = self.number(value, path)
        if not float(x).is_integer() or x < minimum:
            raise self.error(path, f"expected an integer >= {minimum}, got {value!r}")
        return int(x)

    def severity(self, value: Any, path: str) -> Severity:
        try:
            return Severity(str(value).upper())
        except ValueError:
            raise self.error(path, f"severity must be ERROR or WARN, got {value!r}") from None

    def asset(self, name: Any, path: str, allowed: tuple[str, ...] = ASSET_NAMES) -> str:
        if name not in allowed:
            raise self.error(f"{path}.{name}", f"unknown asset {name!r}; allowed: {', '.join(allowed)}")
        return name

    def column(self, asset: str, column: Any, path: str, types: tuple[str, ...] = ("INT64", "FLOAT64")) -> str:
        table = ASSET_TABLES[asset]
        if column not in table.types:
            raise self.error(f"{path}", f"{table.fqn} has no column {column!r}")
        if table.types[column] not in types:
            raise self.error(path, f"column {column} of {table.fqn} is {table.types[column]}, not numeric")
        return column

    def value_range(self, value: Any, path: str) -> ValueRange:
        if isinstance(value, dict):
            self.mapping(value, path, ("values",), ("values",))
            values = value["values"]
            if not isinstance(values, list) or not values:
                raise self.error(f"{path}.values", f"expected a non-empty list, got {values!r}")
            return ValueRange(values=tuple(self.number(v, f"{path}.values") for v in values))
        if not isinstance(value, list) or len(value) != 2:
            raise self.error(path, f"expected [low, high] (null = unbounded) or {{values: [...]}}, got {value!r}")
        low = self.number(value[0], f"{path}[0]", allow_none=True)
        high = self.number(value[1], f"{path}[1]", allow_none=True)
        if low is not None and high is not None and low > high:
            raise self.error(path, f"low {_num(low)} > high {_num(high)}")
        return ValueRange(low, high)

    # --- the document -------------------------------------------------------------------------
    def config(self, doc: Any) -> ChecksConfig:
        doc = self.mapping(doc, "<top>", ("detail_max_items", "checks"), ("checks",))
        checks = self.mapping(doc["checks"], "checks", ALL_CHECKS, ALL_CHECKS)
        simple = {}
        for name in (PRIMARY_KEY_UNIQUE, KEYS_NOT_NULL, OUTCOME_CONSISTENT, ENTITY_ACCOUNTING):
            c = self.mapping(checks[name], f"checks.{name}", ("severity",), ("severity",))
            simple[name] = CheckConfig(self.severity(c["severity"], f"checks.{name}.severity"))
        return ChecksConfig(
            **simple,
            row_minimum=self.row_minimum(checks[ROW_MINIMUM]),
            value_ranges=self.value_ranges(checks[VALUE_RANGES]),
            zone_rates_sum=self.zone_rates_sum(checks[ZONE_RATES_SUM]),
            non_constant_features=self.non_constant(checks[NON_CONSTANT_FEATURES]),
            detail_max_items=self.integer(doc.get("detail_max_items", 5), "detail_max_items", minimum=1),
            sources=self.sources,
        )

    def row_minimum(self, c: Any) -> RowMinimumConfig:
        p = f"checks.{ROW_MINIMUM}"
        c = self.mapping(c, p, ("severity", "row_min"), ("severity", "row_min"))
        per_asset = self.mapping(c["row_min"], f"{p}.row_min", ASSET_NAMES, ASSET_NAMES)
        row_min = {}
        for asset, v in per_asset.items():
            q = f"{p}.row_min.{asset}"
            if isinstance(v, dict):
                self.mapping(v, q, ("slate_ratio",), ("slate_ratio",))
                ratio = self.number(v["slate_ratio"], f"{q}.slate_ratio")
                if not 0 < ratio <= 1:
                    raise self.error(f"{q}.slate_ratio", f"expected a ratio in (0, 1], got {_num(ratio)}")
                row_min[asset] = RowMinimum(slate_ratio=ratio)
            else:
                row_min[asset] = RowMinimum(rows=self.integer(v, q))
        return RowMinimumConfig(self.severity(c["severity"], f"{p}.severity"), MappingProxyType(row_min))

    def value_ranges(self, c: Any) -> ValueRangesConfig:
        p = f"checks.{VALUE_RANGES}"
        c = self.mapping(c, p, ("severity", "by_name_word", "counts", "columns"), ("severity",))
        words = self.mapping(c.get("by_name_word") or {}, f"{p}.by_name_word")
        by_word = tuple((str(w), self.value_range(r, f"{p}.by_name_word.{w}")) for w, r in words.items())
        counts = None if c.get("counts") is None else self.value_range(c["counts"], f"{p}.counts")
        columns = {}
        for asset, cols in self.mapping(c.get("columns") or {}, f"{p}.columns").items():
            self.asset(asset, f"{p}.columns")
            cols = self.mapping(cols or {}, f"{p}.columns.{asset}")
            columns[asset] = MappingProxyType({
                self.column(asset, col, f"{p}.columns.{asset}.{col}"): self.value_range(r, f"{p}.columns.{asset}.{col}")
                for col, r in cols.items()
            })
        return ValueRangesConfig(self.severity(c["severity"], f"{p}.severity"), by_word, counts,
                                 MappingProxyType(columns))

    def zone_rates_sum(self, c: Any) -> ZoneRatesSumConfig:
        p = f"checks.{ZONE_RATES_SUM}"
        c = self.mapping(c, p, ("severity", "columns", "total", "tolerance"),
                         ("severity", "columns", "total", "tolerance"))
        cols = c["columns"]
        if not isinstance(cols, list) or not cols:
            raise self.error(f"{p}.columns", f"expected a non-empty list of psza columns, got {cols!r}")
        cols = tuple(self.column("psza", col, f"{p}.columns", ("FLOAT64",)) for col in cols)
        tolerance = self.number(c["tolerance"], f"{p}.tolerance")
        if tolerance < 0:
            raise self.error(f"{p}.tolerance", f"expected >= 0, got {_num(tolerance)}")
        return ZoneRatesSumConfig(self.severity(c["severity"], f"{p}.severity"), cols,
                                  self.number(c["total"], f"{p}.total"), tolerance)

    def non_constant(self, c: Any) -> NonConstantConfig:
        p = f"checks.{NON_CONSTANT_FEATURES}"
        c = self.mapping(c, p, ("severity", "min_rows", "columns"), ("severity", "min_rows", "columns"))
        having = tuple(a for a in ASSET_NAMES if NON_CONSTANT_FEATURES in CHECK_NAMES[a])
        columns = {}
        for asset, cols in self.mapping(c["columns"], f"{p}.columns").items():
            self.asset(asset, f"{p}.columns", having)
            if not isinstance(cols, list):
                raise self.error(f"{p}.columns.{asset}", f"expected a list of columns, got {cols!r}")
            columns[asset] = tuple(self.column(asset, col, f"{p}.columns.{asset}") for col in cols)
        return NonConstantConfig(self.severity(c["severity"], f"{p}.severity"),
                                 self.integer(c["min_rows"], f"{p}.min_rows", minimum=1),
                                 MappingProxyType(columns))


def _num(x: float | None) -> str:
    if x is None:
        return "null"
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"
