"""What a person looks at during training: the per-epoch CSV, the loss-against-time plot (the
paper's Fig. 4) and previews of predictions on fixed validation patches."""

from __future__ import annotations

from pathlib import Path

import keras
import matplotlib
import numpy as np
import pandas as pd
from PIL import Image

from .imageio import atomic_path, write_csv

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HISTORY = "history.csv"
COLUMNS = ["epoch", "loss", "dice", "val_loss", "val_dice", "learning_rate", "wall_seconds"]


def truncate_history(folder: Path, epochs_done: int) -> None:
    """On resume, forget rows of epochs whose checkpoint was never completed."""
    path = folder / HISTORY
    if path.is_file():
        df = pd.read_csv(path)
        write_csv(df[df.epoch <= epochs_done], path)


def append_history(folder: Path, row: dict) -> pd.DataFrame:
    path = folder / HISTORY
    df = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=COLUMNS)
    df = pd.concat([df[df.epoch < row["epoch"]], pd.DataFrame([row])[COLUMNS]], ignore_index=True)
    write_csv(df, path)
    return df


def plot_loss(df: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    hours = df.wall_seconds / 3600
    ax.plot(hours, df.loss, marker="o", ms=3, label="training loss")
    if df.val_loss.notna().any():
        ax.plot(hours, df.val_loss, marker="o", ms=3, label="validation loss")
    ax.set_xlabel("training time (hours)")
    ax.set_ylabel("weighted BCE")
    ax.set_title("Loss against training time")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def pick_preview(images: list[str], masks: list[str], n: int) -> list[int]:
    """Fixed patches spread over the validation set, those with lesions first: a row of empty
    background says nothing about learning."""
    if n <= 0 or not images:
        return []
    candidates = sorted(set(np.linspace(0, len(images) - 1, min(len(images), 12 * n)).astype(int).tolist()))
    with_lesion = [i for i in candidates if np.asarray(Image.open(masks[i])).max() > 0]
    rest = [i for i in candidates if i not in with_lesion]
    keep = with_lesion[: max(n - 1, 1)]
    return sorted(keep + rest[: n - len(keep)])


def preview(model: keras.Model, images: np.ndarray, masks: np.ndarray, path: Path) -> None:
    """One row per patch: image | ground truth | predicted probability."""
    prob = 1 / (1 + np.exp(-np.asarray(model.predict(images, verbose=0), np.float32)))
    rows = []
    for img, m, p in zip(images, masks, prob, strict=True):
        grey = [np.repeat((a[..., :1] * 255).astype(np.uint8), 3, axis=2) for a in (m, p)]
        rows.append(np.concatenate([img.astype(np.uint8), *grey], axis=1))
    with atomic_path(path) as tmp:
        Image.fromarray(np.concatenate(rows, axis=0)).save(tmp, format="PNG")
