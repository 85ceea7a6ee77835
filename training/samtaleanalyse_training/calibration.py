"""Calibration: expected calibration error (ECE) and reliability diagrams.

ECE here uses ``bins`` equal-width bins over [0, 1] (10 by default; a probability of exactly 1.0 goes in
the last bin). Each bin's gap is |mean predicted probability - observed frequency|, weighted by the share
of predictions in the bin:  ECE = sum_b (n_b / n) * |conf_b - acc_b|.

- Attitude (one label per turn): the top-label ECE, confidence = the highest probability, correct = that
  label is the gold one.
- A behaviour (one yes/no per turn): the probability of the behaviour against whether the gold labels
  have it, over all agent turns; "all behaviours" pools every (turn, behaviour) pair.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Sequence

import numpy as np

DEFAULT_BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    confidence: float | None    # mean predicted probability in the bin
    frequency: float | None     # observed share correct / positive in the bin


def reliability_bins(prob: Sequence[float] | np.ndarray, outcome: Sequence[bool] | np.ndarray,
                     bins: int = DEFAULT_BINS) -> list[ReliabilityBin]:
    """Equal-width bins of ``prob`` with the mean probability and the observed rate of ``outcome``."""
    p = np.asarray(prob, dtype=float).ravel()
    y = np.asarray(outcome, dtype=float).ravel()
    if p.shape != y.shape:
        raise ValueError(f"{p.size} probabilities but {y.size} outcomes")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    index = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        out.append(ReliabilityBin(b / bins, (b + 1) / bins, n, float(p[mask].mean()) if n else None,
                                  float(y[mask].mean()) if n else None))
    return out


def expected_calibration_error(prob: Sequence[float] | np.ndarray, outcome: Sequence[bool] | np.ndarray,
                               bins: int = DEFAULT_BINS) -> float | None:
    """ECE of ``prob`` (each the predicted chance of ``outcome``), equal-width bins; None without data."""
    table = reliability_bins(prob, outcome, bins)
    n = sum(b.count for b in table)
    if not n:
        return None
    return float(sum(b.count / n * abs(b.confidence - b.frequency) for b in table if b.count))  # type: ignore[operator]


def top_label(proba: np.ndarray, gold: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) of single-label predictions: the highest probability, and whether it is gold."""
    proba = np.asarray(proba, dtype=float).reshape(len(gold), -1)
    return proba.max(axis=1), proba.argmax(axis=1) == np.asarray(gold)


def reliability_svg(curves: dict[str, list[ReliabilityBin]], title: str, width: int = 420, height: int = 420) -> str:
    """A reliability diagram as plain SVG: observed rate against mean probability per bin, one line and
    dot per curve (dot area ~ bin size), and the diagonal of perfect calibration."""
    pad = 50
    w, h = width - 2 * pad, height - 2 * pad
    colours = ["#1f5fa8", "#c2410c", "#15803d", "#7e22ce"]

    def x(v: float) -> float:
        return pad + v * w

    def y(v: float) -> float:
        return pad + (1 - v) * h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="13">{escape(title)}</text>']
    for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        parts.append(f'<line x1="{x(t)}" y1="{y(0)}" x2="{x(t)}" y2="{y(1)}" stroke="#eee"/>')
        parts.append(f'<line x1="{x(0)}" y1="{y(t)}" x2="{x(1)}" y2="{y(t)}" stroke="#eee"/>')
        parts.append(f'<text x="{x(t)}" y="{y(0) + 15}" text-anchor="middle">{t:.1f}</text>')
        parts.append(f'<text x="{x(0) - 6}" y="{y(t) + 4}" text-anchor="end">{t:.1f}</text>')
    parts.append(f'<rect x="{pad}" y="{pad}" width="{w}" height="{h}" fill="none" stroke="#999"/>')
    parts.append(f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">mean predicted probability</text>')
    parts.append(f'<text x="14" y="{height / 2}" text-anchor="middle" transform="rotate(-90 14 {height / 2})">'
                 'observed frequency</text>')
    for i, (name, table) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        total = sum(b.count for b in table) or 1
        pts = [(b.confidence, b.frequency, b.count) for b in table if b.count]
        if pts:
            path = " ".join(f"{x(c):.1f},{y(f):.1f}" for c, f, _ in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for c, f, n in pts:
            r = 2 + 10 * (n / total) ** 0.5
            parts.append(f'<circle cx="{x(c):.1f}" cy="{y(f):.1f}" r="{r:.1f}" fill="{colour}" fill-opacity="0.5">'
                         f'<title>{escape(name)}: {n} in bin, mean p {c:.3f}, observed {f:.3f}</title></circle>')
        parts.append(f'<rect x="{pad + 8}" y="{pad + 8 + 16 * i}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{pad + 22}" y="{pad + 17 + 16 * i}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
