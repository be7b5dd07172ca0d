"""What a person looks at during training: the per-epoch CSV, the loss-against-time plot (the
paper's Fig. 4) and previews of predictions on fixed validation patches."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import matplotlib
import numpy as np
import pandas as pd
from PIL import Image

from .engines import sigmoid
from .imageio import atomic_path, write_csv
from .multi import unpack

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HISTORY = "history.csv"
COLUMNS = ["epoch", "loss", "dice", "val_loss", "val_dice", "val_aupr", "learning_rate", "wall_seconds",
           "val_seconds", "aupr_seconds"]


class EpochTimer(keras.callbacks.Callback):
    """Where an epoch's time goes: seconds of the validation-patch pass (`val_seconds`) in the logs;
    the whole-image scoring adds its own (`aupr_seconds`)."""

    def on_test_begin(self, logs=None):
        self.t = time.perf_counter()

    def on_test_end(self, logs=None):
        self.val = time.perf_counter() - self.t

    def on_epoch_begin(self, epoch, logs=None):
        self.val = 0.0

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_seconds"] = round(self.val, 2)


def truncate_history(folder: Path, epochs_done: int) -> None:
    """On resume, forget rows of epochs whose checkpoint was never completed."""
    path = folder / HISTORY
    if path.is_file():
        df = pd.read_csv(path)
        write_csv(df[df.epoch <= epochs_done], path)


def append_history(folder: Path, row: dict) -> pd.DataFrame:
    """The history with this epoch's row; several lesions add one `val_aupr_<CODE>` column each, and
    selection by the disc's figure a `val_jaccard` column."""
    path = folder / HISTORY
    df = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=COLUMNS)
    columns = COLUMNS + sorted({k for k in [*row, *df.columns] if k.startswith("val_aupr_") or k == "val_jaccard"})
    df = df.reindex(columns=columns)
    row = {c: row.get(c) for c in columns}
    df = pd.concat([df[df.epoch < row["epoch"]], pd.DataFrame([row])], ignore_index=True)[columns]
    write_csv(df, path)
    return df


def aupr_curves(df: pd.DataFrame) -> dict[str, pd.Series]:
    """The validation AUPR lines to draw: the one AUPR, or for a model of several lesions their mean
    (what picks the best epoch) and each lesion's own, since the mean hides a lesion that lags; and the
    mean Jaccard where the run logged it (--select-by val_jaccard)."""
    lesions = [c for c in df.columns if c.startswith("val_aupr_")]  # val_aupr_<CODE>, in output order
    if "val_jaccard" in df:
        return {"AUPR": df.val_aupr, "mean Jaccard, one region kept": df.val_jaccard}
    if not lesions:
        return {"AUPR": df.val_aupr}
    return {"mean of the lesions": df.val_aupr, **{c.removeprefix("val_aupr_"): df[c] for c in lesions}}


def plot_loss(df: pd.DataFrame, path: Path) -> None:
    """Loss against training time (the paper's Fig. 4); beside it the whole-image validation AUPR
    when the run scores it."""
    aupr = df.val_aupr.notna().any() if "val_aupr" in df else False
    fig, axes = plt.subplots(1, 2 if aupr else 1, figsize=(12 if aupr else 7, 4), squeeze=False)
    ax = axes[0, 0]
    hours = df.wall_seconds / 3600
    ax.plot(hours, df.loss, marker="o", ms=3, label="training loss")
    if df.val_loss.notna().any():
        ax.plot(hours, df.val_loss, marker="o", ms=3, label="validation loss")
    ax.set_yscale("log")  # one early validation spike must not flatten the rest of the curve
    ax.set_xlabel("training time (hours)")
    ax.set_ylabel("loss (log scale)")
    ax.set_title("Loss against training time")
    ax.grid(alpha=0.3)
    ax.legend()
    if aupr:
        ok = df.val_aupr.notna()
        (first, values), *lesions = aupr_curves(df).items()
        axes[0, 1].plot(hours[ok], values[ok], marker="o", ms=3, lw=2, label=first,
                        color="black" if lesions else "crimson")
        for label, values in lesions:
            axes[0, 1].plot(hours[ok], values[ok], marker="o", ms=3, lw=1, label=label)
        if lesions:
            axes[0, 1].legend()
        axes[0, 1].set_xlabel("training time (hours)")
        axes[0, 1].set_ylabel("AUPR")
        axes[0, 1].set_ylim(0, 1)
        axes[0, 1].set_title("Whole validation images: AUPR")
        axes[0, 1].grid(alpha=0.3)
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


class EpochLog:
    """After each epoch: a history.csv row, loss.png, and the preview of fixed validation patches.
    EpochCheckpoint calls it before it writes state.json, so a resumed run's history matches."""

    def __init__(self, folder: Path, val_images: list[str], val_masks: list[str], n_preview: int,
                 channels: int = 1):
        self.folder = folder
        picked = pick_preview(val_images, val_masks, n_preview)
        self.images = np.stack([np.asarray(Image.open(val_images[i]).convert("RGB"), np.float32)
                                for i in picked]) if picked else None
        self.masks = np.stack([unpack(np.asarray(Image.open(val_masks[i])), channels)
                               for i in picked]) if picked else None

    def __call__(self, model: keras.Model, epoch: int, logs: dict, wall: float) -> None:
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        df = append_history(self.folder, logs | {"epoch": epoch, "learning_rate": lr, "wall_seconds": round(wall, 2)})
        plot_loss(df, self.folder / "loss.png")
        if self.images is not None:
            preview(model, self.images, self.masks, self.folder / "previews" / f"epoch_{epoch:03d}.png")


def preview(model: keras.Model, images: np.ndarray, masks: np.ndarray, path: Path) -> None:
    """One row per patch: image | ground truth | predicted probability, the last two once per lesion."""
    prob = sigmoid(model.predict(images, verbose=0))
    rows = []
    for img, m, p in zip(images, masks, prob, strict=True):
        grey = [np.repeat((a[..., k : k + 1] * 255).astype(np.uint8), 3, axis=2)
                for k in range(p.shape[-1]) for a in (m, p)]
        rows.append(np.concatenate([img.astype(np.uint8), *grey], axis=1))
    with atomic_path(path) as tmp:
        Image.fromarray(np.concatenate(rows, axis=0)).save(tmp, format="PNG")
