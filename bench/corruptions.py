"""How a model holds up to other cameras' light, colour, focus, compression and resolution: its AUPR
on whole photographs, clean and under each corruption of lesionseg.corruptions at two strengths,
and the drop. Photographs: the validation and held-out images of a workspace (the development
split's 9 + 11 for IDRiD; never the official test set).

    .venv/bin/python bench/corruptions.py --data runs/dev/data --checkpoints models/idrid-ex-unet8-half \\
        --out docs/results/corruptions-shipped

Targets (issue "Other cameras' light and colour"): no corruption costs more than 0.05 AUPR and the
mean drop is at most 0.02. Writes corruptions.csv (one row per condition) beside the printed table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a workspace with val_images.csv and test.csv")
    ap.add_argument("--checkpoints", type=Path, required=True, help="the model folder")
    ap.add_argument("--out", type=Path, required=True, help="where corruptions.csv goes")
    ap.add_argument("--tables", nargs="+", default=["val_images.csv", "test.csv"])
    ap.add_argument("--tta", action=argparse.BooleanOptionalAction, default=False,
                    help="average the four flips (4x the time); off: the same network pass for every condition")
    ap.add_argument("--engine", default="auto", help="tensorflow | onnxruntime | openvino | auto (lesionseg.engines)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="only the first N photographs (a quick look)")
    ap.add_argument("--only", nargs="*", default=[], metavar="NAME",
                    help="only these corruptions (beside clean), e.g. jpeg; the means are then over them")
    ap.add_argument("--prep", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="change the model's stored preparation for this measurement, e.g. level=116")
    args = ap.parse_args(argv)
    from lesionseg.quiet import quiet_tensorflow

    quiet_tensorflow()
    from dataclasses import replace

    import pandas as pd
    from tqdm import tqdm

    from lesionseg.corruptions import CORRUPTIONS, corrupt
    from lesionseg.deblock import gated
    from lesionseg.evaluation import read_truths
    from lesionseg.imageio import read_csv, read_rgb, resolve, write_csv
    from lesionseg.metrics import ThresholdCounts, average_precision
    from lesionseg.predictor import Predictor
    from lesionseg.prep import Prep

    predictor = Predictor.load(args.checkpoints, {"tta": args.tta}, engine=args.engine)
    if args.prep:
        changed = Prep.from_dict(predictor.prep.as_dict(full=True) | dict(kv.split("=", 1) for kv in args.prep))
        predictor = replace(predictor, bundle=replace(predictor.bundle, prep=changed))
        print(f"preparation changed for this measurement: {changed}")
    table = pd.concat([read_csv(args.data / t, ["stem", "image", "mask"], "run traintest_split.py first")
                       for t in args.tables]).sort_values("stem").reset_index(drop=True)
    if args.limit:
        table = table.head(args.limit)
    unknown = sorted(set(args.only) - set(CORRUPTIONS))
    if unknown:
        raise SystemExit(f"error: --only {' '.join(unknown)}: not a corruption; use some of {', '.join(CORRUPTIONS)}")
    conditions = [("clean", 0.0)] + [(name, s) for name, (_, strengths) in CORRUPTIONS.items() for s in strengths
                                     if not args.only or name in args.only]
    counts = {c: ThresholdCounts() for c in conditions}
    seconds = dict.fromkeys(conditions, 0.0)
    smoothed = dict.fromkeys(conditions, 0)  # photographs the deblocking gate smoothed (Prep.deblock)
    gate = predictor.prep.deblock
    for i, row in enumerate(tqdm(list(table.itertuples()), desc="photographs", unit="img")):
        rgb = read_rgb(resolve(row.image, args.data))
        truth = read_truths(row, args.data, predictor.prep.lesions)[..., 0]
        for name, strength in conditions:
            t = time.perf_counter()
            photo = rgb if name == "clean" else corrupt(rgb, name, strength, args.seed + i)
            smoothed[(name, strength)] += gated(photo, gate)
            counts[(name, strength)].add(predictor.predict(photo, f"{row.stem} ({name} {strength:g})")[..., 0], truth)
            seconds[(name, strength)] += time.perf_counter() - t
    clean = average_precision(counts[("clean", 0.0)])
    rows = [{"corruption": name, "strength": strength, "aupr": (a := average_precision(counts[(name, strength)])),
             "drop": clean - a, "seconds_per_image": seconds[(name, strength)] / len(table),
             "deblocked": smoothed[(name, strength)]}
            for name, strength in conditions]
    write_csv(pd.DataFrame(rows), args.out / "corruptions.csv")
    print(f"{len(table)} photographs of {', '.join(args.tables)} in {args.data}; model {args.checkpoints} "
          f"({predictor.engine}); tta {args.tta}")
    print(f"{'corruption':16s}{'strength':>9s}{'AUPR':>8s}{'drop':>8s}{'deblocked':>10s}")
    for r in rows:
        print(f"{r['corruption']:16s}{r['strength']:9g}{r['aupr']:8.4f}{r['drop']:+8.4f}{r['deblocked']:10d}")
    drops = [r["drop"] for r in rows[1:]]
    mean_drop, worst = sum(drops) / len(drops), max(rows[1:], key=lambda r: r["drop"])
    print(f"clean AUPR {clean:.4f}; mean AUPR under corruption {clean - mean_drop:.4f} (mean drop {mean_drop:+.4f}, "
          f"target <= 0.02); worst drop {worst['drop']:+.4f} ({worst['corruption']} {worst['strength']:g}, "
          "target <= 0.05)")
    print(f"wrote {args.out / 'corruptions.csv'}")
    return 0


if __name__ == "__main__":
    main()
