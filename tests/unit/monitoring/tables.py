"""Synthetic tables: twenty numeric columns and two categorical ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

ROWS = 100_000
SHIFTED = ("f03", "f10", "f17")
"""The three features the drifted table moves (a normal, a lognormal, a uniform)."""
COLORS = ("red", "green", "blue", "black")
COLOR_P = (0.4, 0.3, 0.2, 0.1)

Table = dict[str, npt.NDArray[Any]]


def numeric_table(seed: int, rows: int = ROWS, *, shifted: bool = False) -> Table:
    """Twenty numeric columns: normals, lognormals and uniforms in turn.

    ``shifted`` moves exactly the :data:`SHIFTED` columns: a normal by 0.5
    standard deviations, a lognormal's log-scale by 0.5, a uniform by 0.2.
    """
    rng = np.random.default_rng(seed)
    table: Table = {}
    for i in range(20):
        name = f"f{i:02d}"
        move = shifted and name in SHIFTED
        if i % 3 == 0:
            table[name] = rng.normal(0.5 if move else 0.0, 1.0 + i / 10, rows)
        elif i % 3 == 1:
            table[name] = rng.lognormal(0.5 if move else 0.0, 0.5, rows)
        else:
            table[name] = rng.uniform(0.2 if move else 0.0, 1.2 if move else 1.0, rows)
    return table


def categorical_table(seed: int, rows: int = ROWS, *, shifted: bool = False) -> Table:
    """Two categorical columns; ``shifted`` reverses the colour frequencies."""
    rng = np.random.default_rng(seed)
    p = COLOR_P[::-1] if shifted else COLOR_P
    return {
        "color": rng.choice(np.array(COLORS), size=rows, p=p),
        "flag": rng.random(rows) < 0.3,
    }
