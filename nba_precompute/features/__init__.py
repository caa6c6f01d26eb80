"""Pure feature computations: pandas in, pandas out, no Dagster import.

Each asset module exposes one `compute_<asset>(...) -> FeatureResult` that computes many
analysis dates at once (a single date is a range of one).
"""

from nba_precompute.features.result import FeatureResult

__all__ = ["FeatureResult"]
