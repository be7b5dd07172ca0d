"""Stage 4: train the paper's U-Net with weighted BCE on the training patches.

Resumes by default when checkpoints/ holds a run (weights, optimizer, epoch and data order go on
where they stopped); --fresh moves the earlier run to checkpoints/previous-<time>/ and starts over.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from lesionseg.cli import constants_parser, script_constants
from lesionseg.devices import Runtime, input_kind, setup
from lesionseg.errors import PipelineError, run_cli, warn
from lesionseg.multi import parse_weights, per_lesion_weights
from lesionseg.quiet import quiet_tensorflow

DATA = Path("data")  # the workspace: train.csv, val.csv, val_images.csv
CHECKPOINTS = Path("checkpoints")  # the run folder: resumed when it holds a run
BASE_FILTERS = 16  # the paper: 16, 32, ..., 1024
DEPTH = 7  # levels, bottom included
ARCHITECTURE = "unet"  # unet (the paper) | cffa_cbam: coarse-fine encoder blocks and a CBAM bridge
# | deformable: deformable encoder convs below the first level (stored in the model file)
L2_REG = 1e-5  # L2 kernel regularisation (Keras convention: l2 * sum(w^2))
POS_WEIGHT = 3.0  # lesion:background loss weight; the paper says 3:1 (its code used 9:1); several: 3,5 per lesion
LEARNING_RATE = 1e-4  # Adam (the paper); with cosine, the peak after the warm-up
BETA_1 = 0.9  # Adam
BETA_2 = 0.999  # Adam
LOSS = "wbce"  # wbce (the paper) | wbce_dice: plus a batch soft-Dice loss | wbce_cldice: plus Dice and clDice
LR_SCHEDULE = "constant"  # constant (the paper) | cosine: linear warm-up, then cosine decay to 0
WARMUP_STEPS = 200  # cosine: steps of linear warm-up from 0 to LEARNING_RATE
BATCH_SIZE = 8  # patches per step (the paper)
EPOCHS = 100  # the paper's
STEPS_PER_EPOCH = 0  # 0: one pass over the training patches
SAMPLING = "grid"  # grid (the paper): the extracted patches | crops: fresh crops each epoch from whole images
LESION_CROP_SHARE = 0.5  # crops: share centred on a lesion pixel; the rest uniform in the field of view
LESION_CROP_CENTRE = "pixel"  # crops: pixel (uniform over lesion pixels) | lesion (each lesion equally often) |
#   sqrt-area (each lesion in proportion to the square root of its area)
VAL_PATCHES = 0  # validation patches scored each epoch: 0 all, N an evenly spaced N, -1 none
VAL_AUPR_EVERY = 0  # N > 0: every N epochs score the whole validation images and keep the best by AUPR
SELECT_BY = "val_aupr"  # with VAL_AUPR_EVERY: val_aupr | val_jaccard (the optic disc: mean Jaccard, one region kept)
WORKERS = 2  # processes that decode the whole training images (crops)
INPUT = "auto"  # auto: tfdata under TensorFlow, numpy under another Keras backend | tfdata | numpy (in memory)
INPUT_THREADS = 8  # numpy input: threads that build the batches ahead of the network
AUGMENT = True  # flips, brightness and hue (below), seeded per patch

# The paper's effective augmentation: its code added brightness 0.7 to 0..255 values (0.7 / 255 on
# [0, 1] pixels, almost nothing) and rotated hue by up to 0.3, which does not depend on the scale.
BRIGHTNESS_DELTA = 0.7 / 255  # on [0, 1] pixels; --brightness-delta 0.7 is the paper's stated value
HUE_DELTA = 0.3  # hue turned by up to this share of the circle (the paper's code, in effect)
ROTATIONS = False  # also transpose half the patches: with the flips, every 90-degree rotation and mirror
CONTRAST_DELTA = 0.0  # the paper has none; d scales each patch's contrast by a factor drawn in [1 - d, 1 + d]
PHOTOMETRIC = 0  # crops: N other-camera versions of each training photograph (lesionseg.photometric); 0 none
PHOTOMETRIC_CHANCE = ""  # STEP=CHANCE,...: a step of the versions' chain taken more or less often (e.g. jpeg=0.7)
INIT = ""  # a model folder whose weights the run starts from (fine-tuning); empty: random weights
SEED = 42  # initialisation, data order, crops and augmentation
KEEP_LAST = 3  # per-epoch checkpoints kept
PREVIEW_PATCHES = 4  # validation patches drawn in previews/ after each epoch
MIXED_PRECISION = "off"  # off | auto (float16 on GPU, bfloat16 on CPU) | mixed_float16 | mixed_bfloat16
LOGICAL_CPUS = 0  # split the CPU into this many devices (tests of multi-device training)
THREADS = 0  # CPU threads for the network (0: all cores); 1 lets two runs share a 2-core machine
MAX_MINUTES = 0.0  # > 0: stop after the epoch that passes this much training time (run again to resume)
FRESH = False  # start over: the earlier run is moved to checkpoints/previous-<time>/
TENSORBOARD = True  # TensorBoard logs in checkpoints/tensorboard/

CONSTANTS = script_constants(globals())


def started_as(started_from: dict | None, outputs: tuple[str, ...]) -> str:
    """The name of a one-output model's structure: a fine-tune of a named model (a shipped OD model)
    keeps its name, since a one-lesion workspace does not record which lesion it holds. Read from the
    lineage recorded at the run's first start, so a resume names it the same."""
    from lesionseg.bundle import SINGLE

    lesions = (started_from or {}).get("lesions", [])
    return lesions[0] if len(lesions) == 1 and not outputs else SINGLE


def learning_rate(args, steps_per_epoch: int):
    """A float (constant, the paper) or a warm-up + cosine schedule over the whole run."""
    import keras

    if args.lr_schedule == "constant":
        return args.learning_rate
    total = args.epochs * steps_per_epoch
    warmup = min(args.warmup_steps, total - 1)
    return keras.optimizers.schedules.CosineDecay(0.0, max(1, total - warmup), alpha=0.0,
                                                  warmup_target=args.learning_rate, warmup_steps=warmup)


def resume_or_build(args, state: dict | None, config, steps: int, outputs: int, split: dict[str, list[str]]):
    """The checkpoint's model when resuming (same configuration, or a clear refusal), else a new one
    (from --init's weights, which `split`, this run's photographs, must not have scored)."""
    import keras

    from lesionseg import checkpoints as ck
    from lesionseg import trainlog
    from lesionseg.losses import dice_metric, make_loss
    from lesionseg.model import build_unet

    folder = args.checkpoints
    if state:
        ck.check_config(state, config, folder)
        model = ck.load_trained(folder / state["checkpoint"])
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        if args.lr_schedule == "constant" and not math.isclose(lr, args.learning_rate, rel_tol=1e-6):
            warn(f"resuming with the checkpoint's learning rate {lr:g}, not --learning-rate "
                 f"{args.learning_rate:g} (use --fresh to start over with it)")
        trainlog.truncate_history(folder, state["epoch"])
        print(f"resuming from {folder / state['checkpoint']} (epoch {state['epoch']} done)")
        return model
    model = build_unet(args.base_filters, args.depth, args.l2_reg, outputs, args.architecture)
    if args.init:
        ck.start_from(model, Path(args.init), split)
        print(f"starting from the weights of {args.init}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(args, steps), args.beta_1, args.beta_2),
                  loss=make_loss(args.loss, config.as_dict()["pos_weight"]), metrics=[dice_metric()])
    return model


def training_data(args, train_imgs: list[str], train_masks: list[str], prep, patch: int, per_epoch: int,
                  steps: int, start: int, multi: bool):
    """The training stream: the fixed patch grid (the paper) or fresh crops of whole images, from tf.data
    or, with the numpy input, from patches held in memory (the same batches: lesionseg.arrays)."""
    from lesionseg import arrays
    from lesionseg.draws import Augment

    aug = Augment(True, args.brightness_delta, args.hue_delta, args.rotations, args.contrast_delta) \
        if args.augment else None
    numpy_input = input_kind(args.input) == "numpy"
    if args.sampling == "grid" and numpy_input:
        images, masks = arrays.decode_patches(train_imgs, train_masks, prep.channels, args.input_threads)
        print(f"input: numpy, {len(images)} training patches in memory ({(images.nbytes + masks.nbytes) / 2**30:.2f} "
              "GiB)")
        return arrays.training_batches(images, masks, args.batch_size, args.seed, start, args.epochs, aug,
                                       per_epoch=per_epoch, drop_remainder=multi, workers=args.input_threads)
    if args.sampling == "grid":
        from lesionseg.pipeline import training_dataset

        return training_dataset(train_imgs, train_masks, args.batch_size, args.seed, start, args.epochs, aug,
                                per_epoch=per_epoch, drop_remainder=multi, channels=prep.channels)
    from lesionseg.crops import crop_dataset, crop_table, describe_draw, load_bank

    bank = load_bank(args.data / "train.csv", args.data, prep, args.workers, photometric_versions(args))
    crops = steps * args.batch_size  # whole batches of fresh crops
    versions = f" and {args.photometric} photometric versions of each" if args.photometric else ""
    centred = describe_draw(bank, prep.lesions, args.lesion_crop_centre)
    print(f"crops: {len(bank.images)} whole training images{versions} in memory, {crops} fresh {patch} px crops "
          f"per epoch ({args.lesion_crop_share:.0%} centred on {centred})")
    if numpy_input:
        table = crop_table(bank, patch, args.seed, start, args.epochs, crops, args.lesion_crop_share,
                           args.lesion_crop_centre)
        return arrays.crop_batches(bank, patch, args.batch_size, args.seed, table, crops, aug, args.input_threads)
    return crop_dataset(bank, patch, args.batch_size, args.seed, start, args.epochs, crops,
                        args.lesion_crop_share, aug, args.lesion_crop_centre)


def photometric_versions(args):
    """The run's photometric versions (lesionseg.photometric.Versions), read from its flags in one place."""
    from lesionseg.photometric import Versions, parse_chances

    return Versions(args.photometric, args.seed, parse_chances(args.photometric_chance))


def validation_data(args, images: list[str], masks: list[str], channels: int, multi: bool):
    """The validation patches in order: tf.data, or held in memory for the numpy input."""
    if input_kind(args.input) == "numpy":
        from lesionseg.arrays import EvalBatches, decode_patches

        return EvalBatches(*decode_patches(images, masks, channels, args.input_threads), args.batch_size, multi)
    from lesionseg.pipeline import eval_dataset

    return eval_dataset(images, masks, args.batch_size, multi, channels)


def build_parser() -> argparse.ArgumentParser:
    quiet_tensorflow()  # first: the choices below come from modules that load Keras, and its start-up noise
    from lesionseg.crops import CENTRES
    from lesionseg.devices import INPUTS, PRECISIONS
    from lesionseg.model import ARCHITECTURES

    choices = {"ARCHITECTURE": list(ARCHITECTURES),
               "MIXED_PRECISION": list(PRECISIONS),
               "LOSS": ["wbce", "wbce_dice", "wbce_cldice"], "LR_SCHEDULE": ["constant", "cosine"],
               "SAMPLING": ["grid", "crops"], "INPUT": list(INPUTS),
               "LESION_CROP_CENTRE": list(CENTRES), "SELECT_BY": ["val_aupr", "val_jaccard"]}
    return constants_parser(__doc__, CONSTANTS, choices, types={"POS_WEIGHT": parse_weights})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.batch_size < 1 or args.epochs < 1:
        raise PipelineError("--batch-size and --epochs must be at least 1")
    if args.photometric and args.sampling != "crops":
        raise PipelineError("--photometric needs --sampling crops (the versions are of whole photographs)")
    if args.photometric_chance and not args.photometric:
        raise PipelineError("--photometric-chance changes the photometric versions: give --photometric N too")
    strategy, devices = setup(Runtime(seed=args.seed, threads=args.threads, logical_cpus=args.logical_cpus,
                                      mixed_precision=args.mixed_precision, input=args.input))

    import keras
    from PIL import Image

    from lesionseg import checkpoints as ck
    from lesionseg import photometric, trainlog
    from lesionseg.arrays import evenly_spaced, load_patch_table
    from lesionseg.bundle import Bundle
    from lesionseg.imageio import has_rows
    from lesionseg.model import size_multiple
    from lesionseg.prep import PREP_FILE, Prep
    from lesionseg.selection import epoch_scorers
    from lesionseg.split import split_record
    from lesionseg.trainconfig import TrainConfig

    train_imgs, train_masks = load_patch_table(args.data / "train.csv", args.data)
    val_csv = args.data / "val.csv"
    val_imgs, val_masks = load_patch_table(val_csv, args.data) if has_rows(val_csv) else ([], [])
    val_imgs, val_masks = evenly_spaced(val_imgs, args.val_patches), evenly_spaced(val_masks, args.val_patches)
    prep = Prep.read(args.data / "patches" / PREP_FILE)
    weights = per_lesion_weights(args.pos_weight, prep.lesions)
    pos_weight = list(weights) if isinstance(weights, tuple) else weights  # as state.json stores it
    patch = Image.open(train_imgs[0]).size[0]
    if patch % size_multiple(args.depth):
        raise PipelineError(f"patches are {patch} px but a depth-{args.depth} U-Net needs a multiple of "
                            f"{size_multiple(args.depth)}; change --depth or extract other patches")
    config = TrainConfig.of({name.lower(): getattr(args, name.lower()) for name in CONSTANTS}
                            | {"pos_weight": pos_weight, "patch_size": patch, "lesions": list(prep.lesions),
                               "schedule_epochs": args.epochs if args.lr_schedule == "cosine" else None,
                               "photometric_chain": photometric.describe() if args.photometric else None}
                            | {k: v for k, v in prep.as_dict(full=True).items() if k != "lesions"})
    folder = args.checkpoints
    folder.mkdir(parents=True, exist_ok=True)
    if args.fresh and (moved := ck.set_aside(folder)):
        print(f"--fresh: earlier run moved to {moved}")
    state = ck.read_state(folder)
    per_epoch = args.steps_per_epoch * args.batch_size or len(train_imgs)
    multi = strategy.num_replicas_in_sync > 1
    steps = (per_epoch // args.batch_size) if multi else math.ceil(per_epoch / args.batch_size)
    if steps < 1:
        raise PipelineError(f"fewer training patches ({per_epoch}) than one batch ({args.batch_size})")
    split = split_record(args.data)
    with strategy.scope():
        model = resume_or_build(args, state, config, steps, prep.channels, split)
    # the model's lesions and preparation, for evaluate.py / infer.py; thresholds of an earlier model are dropped
    provenance = {"command": shlex.join(["train.py", *(sys.argv[1:] if argv is None else argv)]),
                  "data": str(args.data), "split": split, "config": config.as_dict()}
    if args.init:  # kept from the run's first start: by a resume the starting folder may hold another model
        earlier = Bundle.read(folder).provenance.get("started_from") if state else None
        provenance["started_from"] = earlier or ck.lineage(Path(args.init))
    Bundle.for_prep(prep, started_as(provenance.get("started_from"), prep.lesions), provenance=provenance).write(folder)
    start = state["epoch"] if state else 0
    outputs = f"; outputs {', '.join(prep.lesions)}" if prep.lesions else ""
    kind = "U-Net" if args.architecture == "unet" else f"{args.architecture} U-Net"
    print(f"{kind} {args.base_filters} filters x {args.depth} levels: {model.count_params():,} parameters{outputs}; "
          f"{len(train_imgs)} training / {len(val_imgs)} validation patches of {patch} px; devices {devices}")
    if start >= args.epochs:
        print(f"already trained for {start} epochs (--epochs {args.epochs}); the model is {folder / ck.EXPORT}")
        return 0

    train_ds = training_data(args, train_imgs, train_masks, prep, patch, per_epoch, steps, start, multi)
    val_ds = validation_data(args, val_imgs, val_masks, prep.channels, multi) if val_imgs else None
    scorers, monitor = epoch_scorers(args.data, prep, select_by=args.select_by, every=args.val_aupr_every,
                                     epochs=args.epochs, val_patches=bool(val_imgs))
    log = trainlog.EpochLog(folder, val_imgs, val_masks, args.preview_patches, prep.channels)
    saver = ck.EpochCheckpoint(folder, config.as_dict(), args.keep_last, state, log, monitor, args.max_minutes * 60)
    callbacks = [trainlog.EpochTimer(), *scorers, saver]
    if args.tensorboard and keras.backend.backend() == "tensorflow":  # its summaries are TensorFlow's
        callbacks.append(keras.callbacks.TensorBoard(folder / "tensorboard", write_graph=False))
    t0 = time.perf_counter()
    model.fit(train_ds, epochs=args.epochs, initial_epoch=start, steps_per_epoch=steps, validation_data=val_ds,
              callbacks=callbacks, shuffle=False, verbose=1 if sys.stdout.isatty() else 2)
    if saver.bad_loss:
        last = saver.state.get("checkpoint")
        raise PipelineError(f"training stopped: {saver.bad_loss}; the last good checkpoint "
                            f"({folder / last if last else 'none yet'}) is kept. Lower --learning-rate or check "
                            "the patches, then run again to resume")
    bundle = Bundle.read(folder)
    replace(bundle, provenance=bundle.provenance | {
        "training_minutes": round(saver.state["wall_seconds"] / 60, 1), "epochs": saver.state.get("epoch", args.epochs),
        "best_epoch": saver.state["best_epoch"], "monitor": monitor}).write(folder)
    if saver.timed_out:
        print(f"stopped after epoch {saver.state['epoch']} of {args.epochs}: --max-minutes {args.max_minutes:g} "
              "reached; the same command resumes")
    done = saver.state.get("epoch", args.epochs)
    print(f"trained epochs {start + 1}..{done} in {time.perf_counter() - t0:.1f} s; best {monitor} "
          f"{saver.state[f'best_{monitor}']:.4f} at epoch {saver.state['best_epoch']}; model: {folder / ck.EXPORT}")
    return 0


if __name__ == "__main__":
    run_cli(main)
