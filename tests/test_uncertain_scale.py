"""The ``uncertain`` flag of multi-label heads: a margin in probability (models before 0.7) or in log-odds."""
from __future__ import annotations

import numpy as np
import pytest

from samtaleanalyse.classify.artefact import TurnModel
from samtaleanalyse.classify.predict import near_threshold

THRESHOLDS = np.array([0.5, 0.9])


@pytest.mark.parametrize("p,probability,logit", [
    ([0.45, 0.0], True, True),      # at a 0.5 threshold both scales flag 0.4..0.6
    ([0.62, 0.0], False, False),
    ([0.1, 0.97], True, False),     # surest solution: inside 0.8..1.0, outside 0.86..0.93
    ([0.1, 0.82], True, False),
    ([0.1, 0.88], True, True),      # close to 0.9 on both
    ([0.1, 0.5], False, False),
])
def test_margin_per_scale(p: list[float], probability: bool, logit: bool) -> None:
    p_arr = np.array(p)
    assert near_threshold(THRESHOLDS, 0.1, "probability")(p_arr) is probability
    assert near_threshold(THRESHOLDS, 0.1, "logit")(p_arr) is logit


def test_the_logit_band_is_the_probability_band_at_one_half() -> None:
    near = near_threshold(np.array([0.5]), 0.1, "logit")
    assert near(np.array([0.5001 + 0.0999 - 1e-6])) and not near(np.array([0.6 + 1e-6]))
    assert near(np.array([0.4 + 1e-6])) and not near(np.array([0.4 - 1e-6]))
    # probabilities of exactly 0 or 1 do not overflow
    assert near_threshold(np.array([0.9]), 0.1, "logit")(np.array([1.0])) is False


def test_models_without_the_setting_keep_the_probability_margin() -> None:
    def model(spec: dict[str, object]) -> TurnModel:
        return TurnModel(heads={}, vectorizer=None, metadata={"tasks": {"behaviours": spec}})  # type: ignore[arg-type]

    assert model({}).uncertainty_scale("behaviours") == "probability"
    assert model({"uncertain_scale": "logit"}).uncertainty_scale("behaviours") == "logit"


def test_the_default_model_flags_in_log_odds() -> None:
    from samtaleanalyse.classify.artefact import load_model
    from samtaleanalyse.classify.loading import default_model_path

    assert load_model(default_model_path()).uncertainty_scale("behaviours") == "logit"


def test_an_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="uncertain_scale"):
        near_threshold(THRESHOLDS, 0.1, "lgit")
