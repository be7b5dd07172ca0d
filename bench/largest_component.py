"""Whether keeping one region per photograph (evaluate.py --largest-component), and filling it to its
convex hull (--convex-hull) or filling its holes (--fill-holes), help a model, asked of its validation
photographs only: each photograph is predicted with every region, with only the region of most probability
kept, with that region's convex hull and with its holes filled; the threshold is chosen under each
(evaluate.py's max_dice rule; the two fillings are also scored at the threshold chosen without them), and the
table gives
the mean Jaccard over photographs (how the IDRiD challenge ranks the optic disc), the pooled Dice
and the AUPR of each.

    .venv/bin/python bench/largest_component.py --data runs/zoo/od/data --checkpoints runs/zoo/od/checkpoints

To compare models at one view (as a candidate against the shipped one), `--tta-scales` sets the scales for
every model alike (a fine-tune's bundle starts from the defaults, not its parent's view) and `--settings`
leaves out the ones not asked.

The test photographs are not read, so the choice can be made before the one scoring on them.
Writes largest_component.csv (one row per photograph and setting) to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# key for --settings, name in the table, one region kept, filled to its convex hull, its holes filled
SETTINGS = (("all", "every region", False, False, False), ("largest", "largest component", True, False, False),
            ("hull", "convex hull", True, True, False), ("holes", "holes filled", True, False, True))


def main(argv: list[str] | None = None) -> int:
    from lesionseg.predict import parse_scales

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a workspace with val_images.csv")
    ap.add_argument("--checkpoints", type=Path, required=True, help="the model folder")
    ap.add_argument("--out", type=Path, default=Path("runs/largest-component"), help="where the CSV goes")
    ap.add_argument("--engine", default="auto", help="tensorflow | onnxruntime | openvino | auto (lesionseg.engines)")
    ap.add_argument("--tta-scales", type=parse_scales, default=None,
                    help="the scales to predict at, e.g. 1,0.75 (default: the bundle's)")
    ap.add_argument("--tta", action=argparse.BooleanOptionalAction, default=True,
                    help="the four flips too, whatever the bundle says: a run's bundle has them off until evaluate.py "
                         "--tta stores them, and two models are compared alike")
    ap.add_argument("--settings", nargs="+", choices=[key for key, *_ in SETTINGS],
                    default=[key for key, *_ in SETTINGS], help="which settings to score")
    args = ap.parse_args(argv)
    from lesionseg.quiet import quiet_tensorflow

    view = {"tta": args.tta} | ({} if args.tta_scales is None else {"tta_scales": args.tta_scales})
    quiet_tensorflow()
    import numpy as np
    import pandas as pd

    from lesionseg.evaluation import SetCounts, evaluated
    from lesionseg.imageio import read_csv, write_csv
    from lesionseg.metrics import choose_threshold, confusion, per_image_means, summary
    from lesionseg.predictor import Predictor

    val = read_csv(args.data / "val_images.csv", ["stem", "image", "mask"], "run traintest_split.py first")
    rows, table, chosen = [], [], {}
    for key, setting, kept, hull, holes in SETTINGS:
        if key not in args.settings:
            continue
        predictor = Predictor.load(args.checkpoints, {"largest_component": kept, "convex_hull": hull,
                                                      "fill_holes": holes} | view, engine=args.engine)
        if len(predictor.lesions) != 1:
            raise SystemExit(f"error: {args.checkpoints} segments {len(predictor.lesions)} structures; "
                             "this benchmark takes a model of one")
        counts, maps = SetCounts(), []
        for e in evaluated(val, args.data, predictor.predict, setting):
            e = e.lesion(0)
            counts.add(e)
            maps.append((e.stem, e.prob.astype(np.float16), e.truth))
        chosen[key] = choose_threshold(counts.frame, "max_dice")
        scored = [(setting, chosen[key])]
        if (hull or holes) and "largest" in chosen:  # also at the threshold chosen without the filling
            scored.append((f"{setting} at that threshold", chosen["largest"]))
        for name, threshold in scored:
            images = [{"stem": s, "setting": name, "lesion_pixels": int(t.sum())} | confusion(p >= threshold, t)
                      for s, p, t in maps]
            rows += images
            frame, per = summary(counts.frame, threshold), per_image_means(images)
            table.append({"setting": name, "threshold": threshold, "mean_jaccard": per["iou"],
                          "mean_dice": per["dice"], "pooled_dice": frame["dice"], "aupr": frame["aupr"]})
    print(f"\n{len(val)} validation photographs of {args.data}; model {args.checkpoints}; flips {args.tta}; "
          f"scales {','.join(f'{x:g}' for x in predictor.inference.tta_scales)}; engine {predictor.engine}")
    print(pd.DataFrame(table).to_string(index=False, float_format="%.4f"))
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(pd.DataFrame(rows), args.out / "largest_component.csv")
    print(f"per photograph: {args.out / 'largest_component.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
