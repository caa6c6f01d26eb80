"""The asset-check configuration (PRECOMPUTE.md §8): pydantic models loaded from YAML.

`thresholds.yaml` (shipped in this package) holds the defaults; a deployment file named in the
environment variable NBA_PRECOMPUTE_CHECKS_CONFIG is merged over it (mappings key by key, any
other value replaces). Each check's section is validated by the settings model its registry
entry names (registry.CHECKS); a check's default severity is its registry entry's, a section may
override it with `severity:`. Unknown keys, unknown assets or columns, bad severities and
malformed ranges raise `ChecksConfigError`, one line naming the files and the key path.

A value written `settings.<name>` is SETTINGS.<name> (nba_precompute.settings): thresholds that
the dependency rules already define (ROW_MIN from the §5 requirements, the constant-feature
minimum, window sizes) are referred to, never copied.

This module holds the shared value types (Number, ValueRange, RowMinimum, Severity) and the
loader; the settings model of each check lives with the check (rules.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Iterable, Mapping

import numpy as np
import pydantic
import yaml
from pydantic_core import PydanticCustomError

from nba_precompute import config as configuration
from nba_precompute.config import CHECKS_CONFIG_ENV, Config
from nba_precompute.settings import SETTINGS, Settings
from nba_precompute.registry import ASSET_TABLES

ENV_VAR = CHECKS_CONFIG_ENV
DEFAULTS_RESOURCE = "thresholds.yaml"
TOP_KEYS = ("detail_max_items", "checks")


class ChecksConfigError(ValueError):
    """The checks configuration is invalid; the message names the key and the file(s)."""


class Severity(str, Enum):
    ERROR = "ERROR"
    WARN = "WARN"


# --- value types ------------------------------------------------------------------------------
def problem(message: str, *path: str | int) -> PydanticCustomError:
    """A validation error whose one-line message is `message`, located `path` below the field."""
    return PydanticCustomError("checks_config", "{message}", {"message": message, "path": path})


_SETTING = re.compile(r"^settings\.([A-Za-z_][A-Za-z0-9_]*)$")


def number(value: Any, info: pydantic.ValidationInfo, *path: str | int) -> float:
    """A finite number, or 'settings.<name>' (a number of the Settings in the validation context)."""
    if isinstance(value, str):
        m = _SETTING.match(value.strip())
        if not m:
            raise problem(f"expected a number or 'settings.<name>', got {value!r}", *path)
        settings = (info.context or {}).get("settings", SETTINGS)
        if not hasattr(settings, m.group(1)):
            raise problem(f"unknown setting {m.group(1)!r} (see nba_precompute.settings.Settings)", *path)
        value = getattr(settings, m.group(1))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise problem(f"expected a finite number, got {value!r}", *path)
    return float(value)


def _integer(minimum: int):
    def validate(value: Any, info: pydantic.ValidationInfo) -> int:
        x = number(value, info)
        if not float(x).is_integer() or x < minimum:
            raise problem(f"expected an integer >= {minimum}, got {value!r}")
        return int(x)
    return validate


def _severity(value: Any) -> Severity:
    try:
        return Severity(str(value).upper())
    except ValueError:
        raise problem(f"severity must be ERROR or WARN, got {value!r}") from None


Number = Annotated[float, pydantic.PlainValidator(number)]
Count = Annotated[int, pydantic.PlainValidator(_integer(0))]
PositiveCount = Annotated[int, pydantic.PlainValidator(_integer(1))]
SeverityField = Annotated[Severity, pydantic.PlainValidator(_severity)]


def mapping(value: Any, allowed: Iterable[str] | None = None, required: Iterable[str] = (),
            what: str = "key") -> dict:
    """`value` as a dict, its keys among `allowed` (when given) and `required` present."""
    if not isinstance(value, dict):
        raise problem(f"expected a mapping, got {value!r}")
    if allowed is not None:
        allowed = tuple(allowed)
        unknown = [k for k in value if k not in allowed]
        if unknown:
            s = "s" if len(unknown) > 1 else ""
            raise problem(f"unknown {what}{s} {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise problem(f"missing key(s) {', '.join(missing)}")
    return value


def numeric_column(asset: str, column: Any, *path, types: tuple[str, ...] = ("INT64", "FLOAT64")) -> str:
    table = ASSET_TABLES[asset]
    if column not in table.types:
        raise problem(f"{table.fqn} has no column {column!r}", *path)
    if table.types[column] not in types:
        raise problem(f"column {column} of {table.fqn} is {table.types[column]}, not numeric", *path)
    return column


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

    def as_data(self) -> dict:
        """The range as JSON-safe data (check metadata)."""
        return {"values": list(self.values)} if self.values is not None else {"low": self.low, "high": self.high}

    def __str__(self) -> str:
        from nba_precompute.checks.text import num

        if self.values is not None:
            return "{" + ", ".join(num(v) for v in self.values) + "}"
        low = "(-inf" if self.low is None else f"[{num(self.low)}"
        high = "inf)" if self.high is None else f"{num(self.high)}]"
        return f"{low}, {high}"

    @classmethod
    def validate(cls, value: Any, info: pydantic.ValidationInfo) -> "ValueRange":
        from nba_precompute.checks.text import num

        if isinstance(value, ValueRange):
            return value
        if isinstance(value, dict):
            mapping(value, ("values",), ("values",))
            values = value["values"]
            if not isinstance(values, list) or not values:
                raise problem(f"expected a non-empty list, got {values!r}", "values")
            return cls(values=tuple(number(v, info, "values") for v in values))
        if not isinstance(value, list) or len(value) != 2:
            raise problem(f"expected [low, high] (null = unbounded) or {{values: [...]}}, got {value!r}")
        low, high = (None if v is None else number(v, info, i) for i, v in enumerate(value))
        if low is not None and high is not None and low > high:
            raise problem(f"low {num(low)} > high {num(high)}")
        return cls(low, high)


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
        from nba_precompute.checks.text import num

        if self.slate_ratio is None:
            return str(self.rows)
        n = "N" if slate_size is None else str(int(slate_size))
        return f"max(1, ceil({num(self.slate_ratio)} x {n}))"

    @classmethod
    def validate(cls, value: Any, info: pydantic.ValidationInfo) -> "RowMinimum":
        from nba_precompute.checks.text import num

        if isinstance(value, RowMinimum):
            return value
        if isinstance(value, dict):
            mapping(value, ("slate_ratio",), ("slate_ratio",))
            ratio = number(value["slate_ratio"], info, "slate_ratio")
            if not 0 < ratio <= 1:
                raise problem(f"expected a ratio in (0, 1], got {num(ratio)}", "slate_ratio")
            return cls(slate_ratio=ratio)
        return cls(rows=_integer(0)(value, info))


Range = Annotated[ValueRange, pydantic.PlainValidator(ValueRange.validate)]
RowMin = Annotated[RowMinimum, pydantic.PlainValidator(RowMinimum.validate)]


class Section(pydantic.BaseModel):
    """A frozen mapping of the YAML whose keys are its fields (unknown keys name the allowed ones)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        return mapping(value, cls.model_fields)


class CheckSettings(Section):
    """The section of one check: its severity (the registry's default unless overridden)."""

    severity: SeverityField


# --- the configuration ------------------------------------------------------------------------
@dataclass(frozen=True)
class ChecksConfig:
    """Every threshold and severity of the asset checks: `checks[name]` is the settings model
    instance of that check (also readable as an attribute: `config.row_minimum`)."""

    checks: Mapping[str, CheckSettings]
    detail_max_items: int = 5
    sources: tuple[str, ...] = field(default=())  # the files it was loaded from, defaults first

    def check(self, name: str) -> CheckSettings:
        if name not in self.checks:
            raise KeyError(f"unknown check {name!r}; checks are {', '.join(self.checks)}")
        return self.checks[name]

    def severity(self, name: str) -> Severity:
        return self.check(name).severity

    def __getattr__(self, name: str):
        checks = self.__dict__.get("checks", {})
        if name in checks:
            return checks[name]
        raise AttributeError(name)


def defaults_text() -> str:
    return resources.files("nba_precompute.checks").joinpath(DEFAULTS_RESOURCE).read_text(encoding="utf-8")


def load_config(path: str | Path | None = None, *, settings: Settings = SETTINGS,
                use_env: bool = True, config: Config | None = None) -> ChecksConfig:
    """The shipped defaults, merged with the deployment file `path` (or, when None and use_env,
    the configuration's checks file: NBA_PRECOMPUTE_CHECKS_CONFIG, if set)."""
    sources = [f"nba_precompute/checks/{DEFAULTS_RESOURCE}"]
    document = _parse_yaml(defaults_text(), sources[0])
    origin = ""
    if path is None and use_env:
        path = (config or configuration.current()).checks_config
        origin = f" (from ${ENV_VAR})"
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ChecksConfigError(f"checks config file {p}{origin} does not exist")
        override = _parse_yaml(p.read_text(encoding="utf-8"), str(p))
        sources.append(str(p))
        document = _merge(document, override or {})
    return build_config(document, settings, tuple(sources))


def config_from_dict(document: Mapping[str, Any], *, settings: Settings = SETTINGS) -> ChecksConfig:
    """A config from an override mapping merged over the shipped defaults (tests, notebooks)."""
    base = _parse_yaml(defaults_text(), DEFAULTS_RESOURCE)
    return build_config(_merge(base, dict(document)), settings, (DEFAULTS_RESOURCE, "<dict>"))


def build_config(document: Any, settings: Settings, sources: tuple[str, ...]) -> ChecksConfig:
    """Validate the merged document: the top-level keys here, each check's section with the
    settings model of its registry entry (in the context: the Settings and the entry)."""
    from nba_precompute.checks.registry import CHECKS

    where = " + ".join(sources)
    context = {"settings": settings}
    doc = _validated(lambda: mapping(document, TOP_KEYS, ("checks",)), "<top>", where)
    checks_doc = _validated(lambda: mapping(doc["checks"], CHECKS), "checks", where)
    sections = {}
    for name, definition in CHECKS.items():
        section = checks_doc.get(name)
        section = {"severity": definition.severity.value, **section} if isinstance(section, dict) else (
            {"severity": definition.severity.value} if section is None else section)
        sections[name] = _validated(
            lambda: definition.settings.model_validate(section, context={**context, "check": definition}),
            f"checks.{name}", where)
    max_items = _validated(
        lambda: pydantic.TypeAdapter(PositiveCount).validate_python(doc.get("detail_max_items", 5), context=context),
        "detail_max_items", where)
    return ChecksConfig(MappingProxyType(sections), max_items, sources)


def _validated(validate, prefix: str, where: str):
    try:
        return validate()
    except PydanticCustomError as exc:  # raised outside a model (the top-level mappings)
        raise ChecksConfigError(f"checks config ({where}): {_path(prefix, (exc.context or {}).get('path', ()))}: "
                                f"{exc.message()}") from None
    except pydantic.ValidationError as exc:
        raise ChecksConfigError(f"checks config ({where}): {_first_error(exc, prefix)}") from None


def _path(prefix: str, loc: Iterable[str | int]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _first_error(exc: pydantic.ValidationError, prefix: str) -> str:
    """One line for the first error: `<key path>: <message>` (missing keys of one mapping together)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    if first["type"] == "missing":
        parent = first["loc"][:-1]
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == parent]
        return f"{_path(prefix, parent)}: missing key(s) {', '.join(missing)}"
    ctx = first.get("ctx") or {}
    if first["type"] == "checks_config":
        return f"{_path(prefix, (*first['loc'], *ctx.get('path', ())))}: {ctx['message']}"
    return f"{_path(prefix, first['loc'])}: {first['msg']}, got {first.get('input')!r}"


def _parse_yaml(text: str, name: str) -> dict:
    try:
        # libyaml's loader when PyYAML has it: a run parses the defaults once per asset
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ChecksConfigError(f"checks config {name} is not valid YAML: {' '.join(str(exc).split())}") from exc
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
