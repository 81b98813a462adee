"""When a column has drifted: a rule per column kind and sample size, with overrides.

The defaults follow Evidently's ``DataDriftPreset`` in spirit: a statistical
test while samples are small, a distance once they are large enough for any
test to flag differences too small to matter.

==================  ====================================  ========================
column kind         ``min(reference, current) <= 1000``   larger
==================  ====================================  ========================
numeric             KS p-value ``< 0.05``                 Jensen-Shannon ``>= 0.1``
categorical         chi-squared p-value ``< 0.05``        Jensen-Shannon ``>= 0.1``
dataset             share of drifted features ``>= 0.5``
==================  ====================================  ========================

Where this departs from Evidently, and why:

* The size that picks the rule is the *smaller* of the two samples, not the
  reference's alone: a window of 50 rows against a 100k reference gives a
  Jensen-Shannon distance of about 0.18 from sampling noise alone (ten bins),
  so a distance threshold would flag every small window; the KS test does not.
* For large numeric samples Evidently uses the Wasserstein distance over the
  reference's standard deviation (``>= 0.1``). Jensen-Shannon over the ten
  reference deciles, at 0.1, flags a mean shift of about a quarter of a
  standard deviation of a normal column (Evidently's flags a tenth); PSI
  ``>= 0.2`` (the credit-scoring convention, also reported) only about half of
  one. JS is bounded in ``[0, 1]``, symmetric, needs no smoothing, and is the
  statistic Evidently uses for large categorical samples, so one threshold
  serves both kinds.
* Chi-squared is the homogeneity test on the ``2 x C`` table of counts (see
  :mod:`.statistics`), which copes with categories the reference never saw.

``p < 0.05`` on each of 20 undrifted features flags one of them per report on
average; the dataset verdict (half of the features) is the robust signal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias, cast

from phantom.monitoring.domain.columns import Kind
from phantom.monitoring.domain.errors import InvalidPolicy

__all__ = ["DEFAULT_POLICY", "DriftPolicy", "DriftRule", "Statistic"]

Statistic: TypeAlias = Literal["ks", "chi2", "psi", "js"]
"""``ks``/``chi2``: a test, drift when its p-value is *below* the threshold;
``psi``/``js``: a distance, drift when it is *at or above* the threshold."""

_KEYS: Final[Mapping[str, str]] = {
    "ks": "ks_pvalue",
    "chi2": "chi2_pvalue",
    "psi": "psi",
    "js": "js",
}
_KINDS: Final[Mapping[str, frozenset[str]]] = {
    "ks": frozenset({"numeric"}),
    "chi2": frozenset({"categorical"}),
    "psi": frozenset({"numeric", "categorical"}),
    "js": frozenset({"numeric", "categorical"}),
}


@dataclass(frozen=True, slots=True)
class DriftRule:
    """Which statistic decides, and where its threshold lies.

    Attributes:
        statistic: see :data:`Statistic`.
        threshold: a p-value in ``(0, 1)`` for tests, a distance ``> 0`` otherwise.

    Raises:
        InvalidPolicy: unknown statistic or threshold out of range.
    """

    statistic: Statistic
    threshold: float

    def __post_init__(self) -> None:
        if self.statistic not in _KEYS:
            known = ", ".join(_KEYS)
            msg = f"unknown statistic {self.statistic!r}: use {known}"
            raise InvalidPolicy(msg)
        if self.is_test and not 0.0 < self.threshold < 1.0:
            msg = f"a {self.statistic} p-value threshold is in (0, 1)"
            raise InvalidPolicy(msg)
        if not self.is_test and not 0.0 < self.threshold < float("inf"):
            msg = f"a {self.statistic} threshold is positive"
            raise InvalidPolicy(msg)

    @property
    def is_test(self) -> bool:
        """Whether the statistic is a p-value (drift when below the threshold)."""
        return self.statistic in ("ks", "chi2")

    @property
    def key(self) -> str:
        """The key of the deciding value in a feature's stats."""
        return _KEYS[self.statistic]

    def applies_to(self, kind: Kind) -> bool:
        """Whether the statistic is computed for columns of ``kind``."""
        return kind in _KINDS[self.statistic]

    def crossed(self, value: float) -> bool:
        """Whether ``value`` of the statistic means drift (NaN never does)."""
        if self.is_test:
            return value < self.threshold
        return value >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """``{"statistic", "threshold"}``."""
        return {"statistic": self.statistic, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftRule:
        """Read back :meth:`to_dict`'s output (raises :class:`InvalidPolicy`)."""
        try:
            return cls(cast("Statistic", data["statistic"]), float(data["threshold"]))
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"malformed drift rule: {exc}"
            raise InvalidPolicy(msg) from exc


@dataclass(frozen=True, slots=True)
class DriftPolicy:
    """A model's drift thresholds (defaults in the module docstring).

    Attributes:
        numeric: the rule for numeric columns with large samples.
        numeric_small: the rule for numeric columns with small samples.
        categorical: the rule for categorical columns with large samples.
        categorical_small: the rule for categorical columns with small samples.
        small_sample: a sample is small when the smaller side has at most this
            many values.
        drift_share: the dataset drifts when at least this share of the
            features with enough data drifted, in ``(0, 1]``.
        min_rows: a column with fewer current values has insufficient data.
        overrides: per-column rules that apply whatever the sample size.

    Raises:
        InvalidPolicy: a rule does not fit its kind, or a number is out of range.
    """

    numeric: DriftRule = DriftRule("js", 0.1)
    numeric_small: DriftRule = DriftRule("ks", 0.05)
    categorical: DriftRule = DriftRule("js", 0.1)
    categorical_small: DriftRule = DriftRule("chi2", 0.05)
    small_sample: int = 1000
    drift_share: float = 0.5
    min_rows: int = 1
    overrides: Mapping[str, DriftRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        for kind, rules in (
            ("numeric", (self.numeric, self.numeric_small)),
            ("categorical", (self.categorical, self.categorical_small)),
        ):
            for rule in rules:
                if not rule.applies_to(cast("Kind", kind)):
                    msg = f"{rule.statistic} does not apply to {kind}"
                    raise InvalidPolicy(msg)
        if not 0.0 < self.drift_share <= 1.0:
            raise InvalidPolicy("drift_share is in (0, 1]")
        if self.small_sample < 0 or self.min_rows < 1:
            raise InvalidPolicy("small_sample >= 0 and min_rows >= 1")

    def rule_for(
        self, name: str, kind: Kind, reference_size: int, current_size: int
    ) -> DriftRule:
        """The rule that decides column ``name`` for these sample sizes.

        Raises:
            InvalidPolicy: the column's override does not apply to its kind.
        """
        override = self.overrides.get(name)
        if override is not None:
            if not override.applies_to(kind):
                msg = f"{override.statistic} does not apply to {kind} column {name!r}"
                raise InvalidPolicy(msg)
            return override
        small = min(reference_size, current_size) <= self.small_sample
        if kind == "numeric":
            return self.numeric_small if small else self.numeric
        return self.categorical_small if small else self.categorical

    def to_dict(self) -> dict[str, Any]:
        """The policy as a JSON-able dict."""
        return {
            "numeric": self.numeric.to_dict(),
            "numeric_small": self.numeric_small.to_dict(),
            "categorical": self.categorical.to_dict(),
            "categorical_small": self.categorical_small.to_dict(),
            "small_sample": self.small_sample,
            "drift_share": self.drift_share,
            "min_rows": self.min_rows,
            "overrides": {k: v.to_dict() for k, v in self.overrides.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftPolicy:
        """Read back :meth:`to_dict`'s output; absent keys take their defaults.

        Raises:
            InvalidPolicy: malformed.
        """
        rules = ("numeric", "numeric_small", "categorical", "categorical_small")
        try:
            kwargs: dict[str, Any] = {
                key: DriftRule.from_dict(data[key]) for key in rules if key in data
            }
            for key, kind in (("small_sample", int), ("drift_share", float)):
                if key in data:
                    kwargs[key] = kind(data[key])
            if "min_rows" in data:
                kwargs["min_rows"] = int(data["min_rows"])
            overrides = data.get("overrides", {})
            kwargs["overrides"] = {
                str(k): DriftRule.from_dict(v) for k, v in overrides.items()
            }
        except (AttributeError, TypeError, ValueError) as exc:
            msg = f"malformed drift policy: {exc}"
            raise InvalidPolicy(msg) from exc
        return cls(**kwargs)


DEFAULT_POLICY: Final = DriftPolicy()
"""The defaults of the module docstring."""
