"""The coaching rules' settings: package defaults in rules.toml, overridden per team by their own files."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Mapping

from ..errors import ConfigError
from .variants import VARIANTS

RULES_FILE = Path(__file__).parent / "rules.toml"

Kind = Literal["issue", "strength"]
Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[str, ...] = ("high", "medium", "low")
KINDS: tuple[str, ...] = ("issue", "strength")
_RULE_KEYS = {"enabled", "kind", "severity", "points", "counts_toward_score", "guidance", "min_confidence",
              "variant_guidance"}


@dataclass(frozen=True)
class RuleSettings:
    code: str
    kind: Kind
    severity: Severity
    points: float
    guidance: str
    enabled: bool = True
    counts_toward_score: bool = True
    min_confidence: float = 0.0   # a finding less certain than this is not reported
    # variant -> guidance entry, for a finding whose evidence says which case it is (coaching.variants)
    variant_guidance: Mapping[str, str] = field(default_factory=dict, hash=False)

    def guidance_for(self, variant: str | None) -> str:
        return self.variant_guidance.get(variant, self.guidance) if variant else self.guidance


@dataclass(frozen=True)
class CoachingConfig:
    rules: Mapping[str, RuleSettings]
    base_score: float = 100.0
    strength_bonus_cap: float = 10.0
    strength_recovery: float = 0.5
    origin: tuple[str, ...] = ()

    def rule(self, code: str) -> RuleSettings:
        return self.rules[code]

    def enabled(self, code: str) -> bool:
        return code in self.rules and self.rules[code].enabled


def _bad(origin: str, where: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{origin}: {where}: {problem}.", hint=fix)


def _apply(config: CoachingConfig, data: Mapping[str, Any], origin: str, known_codes: set[str] | None) -> CoachingConfig:
    unknown_top = set(data) - {"score", "findings"}
    if unknown_top:
        raise _bad(origin, "top level", f"unknown section(s) {', '.join(sorted(unknown_top))}", "use [score] and [findings.<code>].")
    score = dict(data.get("score", {}))
    base = float(score.pop("base", config.base_score))
    cap = float(score.pop("strength_bonus_cap", config.strength_bonus_cap))
    recovery = float(score.pop("strength_recovery", config.strength_recovery))
    if score:
        raise _bad(origin, "[score]", f"unknown key(s) {', '.join(sorted(score))}",
                   "known: base, strength_bonus_cap, strength_recovery.")
    if not 0.0 <= recovery <= 1.0:
        raise _bad(origin, "[score]", f"strength_recovery {recovery}", "use a share between 0 and 1.")
    rules = dict(config.rules)
    for code, values in data.get("findings", {}).items():
        where = f"[findings.{code}]"
        if known_codes is not None and code not in known_codes:
            raise _bad(origin, where, "no such finding", f"known findings: {', '.join(sorted(known_codes))}.")
        if not isinstance(values, Mapping):
            raise _bad(origin, where, "must be a table", "write e.g. `enabled = false` under the heading.")
        extra = set(values) - _RULE_KEYS
        if extra:
            raise _bad(origin, where, f"unknown key(s) {', '.join(sorted(extra))}", f"known: {', '.join(sorted(_RULE_KEYS))}.")
        if values.get("severity", "high") not in SEVERITIES:
            raise _bad(origin, where, f"severity {values['severity']!r}", f"use one of {', '.join(SEVERITIES)}.")
        if values.get("kind", "issue") not in KINDS:
            raise _bad(origin, where, f"kind {values['kind']!r}", f"use one of {', '.join(KINDS)}.")
        if not isinstance(values.get("points", 0), (int, float)) or values.get("points", 0) < 0:
            raise _bad(origin, where, f"points {values.get('points')!r}", "use a number >= 0.")
        variants = values.get("variant_guidance", {})
        if not isinstance(variants, Mapping) or not all(isinstance(k, str) and isinstance(v, str) and v
                                                        for k, v in variants.items()):
            raise _bad(origin, where, f"variant_guidance {variants!r}",
                       'write a table of variant = "guidance entry id", e.g. { customer = "blame.solve_not_judge" }.')
        unknown_variants = set(variants) - set(VARIANTS.get(code, ()))
        if unknown_variants:
            raise _bad(origin, where, f"no variant(s) {', '.join(sorted(unknown_variants))} of {code}",
                       f"known: {', '.join(VARIANTS.get(code, ())) or 'none'}.")
        base_rule = rules.get(code)
        if base_rule is None:
            missing = {"kind", "severity", "points", "guidance"} - set(values)
            if missing:
                raise _bad(origin, where, f"missing {', '.join(sorted(missing))}", "a new finding needs kind, severity, points and guidance.")
            rules[code] = RuleSettings(code=code, **values)
        else:
            rules[code] = replace(base_rule, **values)
    return CoachingConfig(rules=rules, base_score=base, strength_bonus_cap=cap, strength_recovery=recovery,
                          origin=config.origin + (origin,))


def _read(path: Path) -> Mapping[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"rules file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rules file {path} is not valid TOML: {exc}.") from None


def load_config(*team_files: str | Path, overrides: Mapping[str, Any] | None = None) -> CoachingConfig:
    """The package's rules, then each team file in turn, then ``overrides`` (a dict shaped like the files)."""
    config = _apply(CoachingConfig(rules={}), _read(RULES_FILE), str(RULES_FILE), None)
    known = set(config.rules)
    for f in team_files:
        config = _apply(config, _read(Path(f)), str(f), known)
    if overrides:
        config = _apply(config, overrides, "overrides", known)
    return config
