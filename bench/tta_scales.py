"""Whether test-time scales (evaluate.py --tta-scales) help a model, asked of its validation
photographs only: each set of scales predicts every photograph (with the four flips unless --no-tta),
the threshold is chosen under it by evaluate.py's max_dice rule, and the table gives, per lesion,
the AUPR, AUPR-33 and the Dice at that threshold, over the whole frame and inside the field of view
(DRIVE's F1), with the seconds per photograph and their ratio to
the first set's, all measured in this run.

    .venv/bin/python bench/tta_scales.py --data runs/zoo/ex/data --checkpoints models/idrid-ex-unet8-half \
        --scales 1 1,1.25 0.8,1,1.25

The test photographs are not read, so the choice can be made before the one scoring on them.
Writes tta_scales.csv (one row per set of scales and lesion) to --out.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a workspace with val_images.csv")
    ap.add_argument("--checkpoints", type=Path, required=True, help="the model folder")
    ap.add_argument("--scales", nargs="+", default=["1", "1,1.25"], help="sets of scales; the first is the baseline")
    ap.add_argument("--tta", action=argparse.BooleanOptionalAction, default=True, help="the four flips too")
    ap.add_argument("--transpose-too", action="store_true",
                    help="each set also with the transposed image's views (evaluate.py --tta-transpose)")
    ap.add_argument("--out", type=Path, default=Path("runs/tta-scales"), help="where the CSV goes")
    ap.add_argument("--engine", default="auto", help="tensorflow | onnxruntime | openvino | auto (lesionseg.engines)")
    args = ap.parse_args(argv)
    from lesionseg.predict import parse_scales
    from lesionseg.quiet import quiet_tensorflow

    try:
        sets = [parse_scales(text) for text in args.scales]
    except argparse.ArgumentTypeError as e:
        ap.error(f"--scales: {e}")
    quiet_tensorflow()
    import pandas as pd

    from lesionseg.evaluation import count_all, evaluated
    from lesionseg.imageio import read_csv, write_csv
    from lesionseg.metrics import choose_threshold, summary
    from lesionseg.multi import mask_column
    from lesionseg.predictor import Predictor

    loaded = Predictor.load(args.checkpoints, {"tta": args.tta}, engine=args.engine)  # the network, once
    lesions = loaded.prep.lesions
    masks = [mask_column(c) for c in lesions] or ["mask"]
    val = read_csv(args.data / "val_images.csv", ["stem", "image", *masks], "run traintest_split.py first")
    rows = []
    for scales, transpose in [(s, t) for s in sets for t in ((False, True) if args.transpose_too else (False,))]:
        predictor = replace(loaded, inference=replace(loaded.inference, tta_scales=scales, tta_transpose=transpose))
        name = ",".join(f"{s:g}" for s in scales) + (" +T" if transpose else "")
        start = time.perf_counter()
        counts = count_all(evaluated(val, args.data, predictor.predict, f"scales {name}", lesions),
                           len(predictor.lesions))
        seconds = (time.perf_counter() - start) / len(val)
        for lesion, c in zip(predictor.lesions, counts, strict=True):
            threshold = choose_threshold(c.frame, "max_dice")
            frame, fov = summary(c.frame, threshold), summary(c.fov, threshold)
            rows.append({"scales": name, "lesion": lesion, "threshold": threshold, "aupr": frame["aupr"],
                         "aupr_33": frame["aupr_33"], "dice": frame["dice"], "fov_aupr": fov["aupr"],
                         "fov_dice": fov["dice"], "seconds_per_photograph": seconds})
    table = pd.DataFrame(rows)
    table["time_ratio"] = table.seconds_per_photograph / table.seconds_per_photograph.iloc[0]
    print(f"\n{len(val)} validation photographs of {args.data}; model {args.checkpoints}; flips {args.tta}; "
          f"engine {loaded.engine}")
    print(table.to_string(index=False, float_format="%.4f"))
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(table, args.out / "tta_scales.csv")
    print(f"table: {args.out / 'tta_scales.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
