"""Small generated datasets for training tests (no download, no file in git)."""

from __future__ import annotations

import numpy as np

__all__ = ["classification_csv"]


def classification_csv(rows: int = 300, seed: int = 0) -> bytes:
    """A learnable binary target over two numeric and one categorical feature."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    lines = ["a,b,segment,churned"]
    for i, (a, b) in enumerate(x):
        segment = "pq"[i % 2]
        label = int(a + b + (0.5 if segment == "p" else -0.5) > 0)
        lines.append(f"{a:.4f},{b:.4f},{segment},{label}")
    return ("\n".join(lines) + "\n").encode()
