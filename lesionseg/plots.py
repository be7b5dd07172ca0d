"""PNG plots of the evaluation curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

from .imageio import atomic_path

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def plot_froc(fp_area: np.ndarray, sens: np.ndarray, point: tuple[float, float], threshold: float, path: Path,
              title: str) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ok = fp_area > 0
    ax.plot(fp_area[ok], sens[ok], lw=1.5)
    ax.plot(*point, "o", color="crimson", label=f"operating point (threshold {threshold:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel("average false-positive area per image (pixels)")
    ax.set_ylabel("sensitivity")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right")
    _save(fig, path)


def plot_pr(recall: np.ndarray, precision: np.ndarray, aupr: float, point: tuple[float, float], path: Path,
            title: str) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot(recall, precision, lw=1.5, label=f"AUPR {aupr:.4f}")
    ax.plot(*point, "o", color="crimson", label="operating point")
    ax.set_xlabel("recall (sensitivity)")
    ax.set_ylabel("precision (PPV)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    _save(fig, path)


def plot_lesion_froc(curve: dict, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(curve["fp_per_image"], curve["sensitivity"], marker="o", ms=3)
    ax.set_xlabel("false-positive lesions per image")
    ax.set_ylabel("lesion sensitivity")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _save(fig, path)
