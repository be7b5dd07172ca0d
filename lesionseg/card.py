"""A shipped model's MODEL_CARD.md, written from its bundle: what it segments, its figures beside the
best published ones, the data and its licence, the photographs it was trained on, the commands, and
its limits. `python -m lesionseg.ship` writes it, and again when `--official` adds the official test
set's figures; a card without the first line below was written by hand and is left alone.
"""

from __future__ import annotations

from pathlib import Path

from .bundle import Bundle
from .predict import Inference

MARK = "<!-- written by lesionseg.card from bundle.json; edit the bundle, or delete this line to keep edits -->"
NAMES = {"EX": "hard exudates", "HE": "haemorrhages", "MA": "microaneurysms", "SE": "soft exudates",
         "OD": "the optic disc", "vessels": "retinal vessels",
         "lesion": "one structure (the workspace did not name it)"}
# The best figures published on the same official test images, for comparison (docs/results, RESULTS.md)
PUBLISHED = {"EX": "AUPR 0.885 (IDRiD challenge winner)", "HE": "AUPR 0.680 (IDRiD challenge, VRT)",
             "MA": "AUPR 0.502 (IDRiD challenge, iFLYTEK)", "SE": "AUPR 0.700 (IDRiD challenge, VRT)",
             "OD": "Jaccard 0.93 (IDRiD challenge)",
             "vessels": "F1 in the field of view about 0.83 (DRIVE test set, the best U-Net variants)"}
DRIVE = "DRIVE (Digital Retinal Images for Vessel Extraction); research use: cite Staal et al., *IEEE TMI* 2004"
IDRID = ("IDRiD (Indian Diabetic Retinopathy Image Dataset), segmentation part; CC BY 4.0: cite Porwal et al., "
         "*Data* 2018")
COLUMNS = ("aupr_33", "sensitivity", "ppv", "specificity")  # after the structure's headline figures
SETS = (("official_test", "official test"), ("held_out", "held out"))


def is_generated(path: Path) -> bool:
    """True when `path` is absent or a card this module wrote (so it may be written again)."""
    return not path.is_file() or path.read_text().startswith(MARK)


def figures_table(bundle: Bundle) -> list[str]:
    """One row per structure and image set the bundle holds figures for."""
    from .zoo import LABELS, headline

    columns = list(dict.fromkeys([*(k for c in bundle.lesions for k in headline(c)), *COLUMNS]))
    rows = []
    for code in bundle.lesions:
        for key, label in SETS:
            f = bundle.provenance.get(key, {}).get(code)
            if f:
                cells = [f"{f[k]:.3f}" if k in f else "" for k in columns]
                rows.append(f"| {code} | {label} ({f['images']}) | " + " | ".join(cells) +
                            f" | {PUBLISHED.get(code, '') if key == 'official_test' else ''} |")
    if not rows:
        return ["No figures are stored with this model yet (`python -m lesionseg.ship --run RUN` stores the "
                "held-out ones)."]
    head = "| structure | images | " + " | ".join(LABELS.get(k, k) for k in columns) + " | best published there |"
    return [head, "|" + "---|" * (len(columns) + 3), *rows]


def card(name: str, bundle: Bundle) -> str:
    """The card's markdown."""
    prov, prep = bundle.provenance, bundle.prep
    split = prov.get("split", {})
    what = ", ".join(f"{NAMES.get(c, c)} ({c})" for c in bundle.lesions)
    data = (DRIVE if bundle.lesions == ("vessels",) else
            IDRID if all(c in PUBLISHED for c in bundle.lesions) else "the data named below")
    scale = (f"resampled so that the field of view is {prep.fov_diameter:.0f} px across" if prep.scale_by == "fov"
             else f"resampled by {prep.scale:g}")
    members = prov.get("members", [])  # an ensemble's (lesionseg.ensemble): each member's own provenance
    config = (members[0] if members else prov).get("config", {})
    network = (f"a {config.get('architecture', 'unet')} network of {config['base_filters']} filters x "
               f"{config['depth']} levels" if "base_filters" in config else "a network not recorded")
    if members:
        network = f"an ensemble of {len(members)} models, each {network}, their probabilities averaged"
    chain = _chain(prov)  # a fine-tune's starting models first, then itself
    command = "\n".join(m.get("command", "not recorded") for m in members) if members else \
        "\n".join(p.get("command", "not recorded") for p in chain)
    thresholds = ", ".join(f"{c} {t.value:.3f} ({t.rule}, chosen on {t.chosen_on})"
                           for c, t in bundle.thresholds.items())
    lines = [MARK, f"# {name}", "", f"Segments {what} in colour fundus photographs.", "",
             "## Figures", "", "Whole photographs at their own resolution against the original masks, at the "
             "stored threshold, chosen on validation images; the official test set was scored once, after "
             "everything was chosen.", "", *figures_table(bundle), "",
             "## Data and licence", "", f"- {data}",
             f"- workspace: {prov.get('data', 'not recorded')}"]
    tested = "official_test" in prov and "held_out" not in prov and split.get("held_out")
    for key, label in (("train", "trained on"), ("validation", "validated (epoch, threshold) on"),
                       ("held_out", "scored once (the official test set) on" if tested else "held out")):
        if split.get(key):
            lines.append(f"- {label} {len(split[key])} photographs: {', '.join(split[key])}")
    lines += ["", "## How it was made", "", "```", command, "```", "",
              f"Training minutes: {_minutes(chain)}; {network}. "
              f"Each photograph is {scale}, then prepared with {prep.preprocess}. "
              f"Thresholds: {thresholds or 'none chosen'}. {_predicted(bundle.inference)}", "",
              *(_remake(bundle.lesions, chain, data) if tested else []),
              "## Limits", "", _cameras(prep, config),
              "- A research tool, not a medical device: not for diagnosis.", ""]
    return "\n".join(lines)


def _predicted(inference: Inference) -> str:
    """How whole photographs are predicted, in the settings that matter to what the maps show."""
    scales = ", ".join(f"{s:g}" for s in inference.tta_scales)
    flips = {(True, False): "the four flips averaged", (True, True): "the eight rotations and mirrors averaged",
             (False, True): "the photograph and its transpose averaged"}.get((inference.tta, inference.tta_transpose))
    steps = [text for text, on in ((flips, flips is not None),
                                   (f"the input resampled by {scales} and averaged", inference.tta_scales != (1.0,)),
                                   ("only the region of most probability kept in each map (one per photograph)",
                                    inference.one_region),
                                   ("that region filled to its convex hull at every threshold", inference.convex_hull),
                                   ("that region's holes filled at every threshold", inference.fill_holes))
             if on]
    return f"Predicted with {' and '.join(steps)}." if steps else "Predicted without flips."


def _chain(prov: dict) -> list[dict]:
    """The provenance of each model a fine-tune started from (train.py --init), the first one first, then
    this model's own."""
    chain = [prov]
    while "started_from" in chain[0]:
        chain.insert(0, chain[0]["started_from"])
    return chain


def _minutes(chain: list[dict]) -> str:
    """Training minutes, summed over a fine-tune and the models it started from."""
    each = [p.get("training_minutes") for p in chain]
    if len(each) == 1:
        return str(each[0] if each[0] is not None else "not recorded")
    parts = " + ".join(str(m if m is not None else "?") for m in each)
    if None in each:
        return f"{parts} (not all recorded)"
    return f"{sum(each):.1f} in all ({parts}: the starting model first, then each fine-tune)"


def _remake(lesions: tuple[str, ...], chain: list[dict], data: str) -> list[str]:
    """The make command that runs the same recipe for a model trained on every official training photograph
    (for a fine-tune, the recipe of the first model of its chain)."""
    config = chain[0].get("config", {})
    epochs = config.get("epochs", chain[0].get("epochs"))
    versions = f" PHOTOMETRIC={config['photometric']}" if "photometric" in config else ""  # the default has moved
    loss = config.get("loss", "wbce")
    extra = f" TRAIN_EXTRA='--loss {loss}'" if loss != "wbce" else ""  # a loss the recipe does not use
    command = {IDRID: f"make zoo-model DATA=/path/to/IDRiD LESION={','.join(lesions)} IDRID_EPOCHS={epochs or 48}"
                      f"{versions}{extra}",
               DRIVE: f"make reproduce-drive DATA=/path/to/DRIVE DRIVE_EPOCHS={epochs or 40}{extra}"}.get(data)
    if not command:
        return []
    if len(chain) > 1:
        return [f"`{command}` runs the recipe of the Makefile the first model was made with; the commands after "
                "the first fine-tune it.", ""]
    return [f"`{command}` runs the recipe of the Makefile this model was made with.", ""]


def _cameras(prep, config: dict) -> str:
    """What the model was taught about other cameras' light and colour, and what that leaves."""
    channel = ("each colour channel through a tone curve to the training photographs' median and upper "
               "levels" if prep.colour_upper else "each colour channel brought to the training photographs' median")
    taught = [text for text, on in ((channel, bool(prep.colour)),
                                    ("the light level normalised", prep.level > 0),
                                    (f"{config.get('photometric')} other-camera versions of each training "
                                     "photograph trained on", bool(config.get("photometric")))) if on]
    done = f" It had {' and '.join(taught)}, which narrow that gap." if taught else ""
    return ("- Trained on one camera's photographs; another camera's light and colour can lower the figures "
            f"(`bench/corruptions.py`).{done} Check on annotated photographs of your own with `evaluate.py`.")


def write_card(folder: Path, bundle: Bundle, name: str | None = None) -> bool:
    """Write folder/MODEL_CARD.md unless a hand-written one is there (titled `name`, by default the
    folder's: ship writes into a staging folder); True when written."""
    from .imageio import atomic_path

    path = folder / "MODEL_CARD.md"
    if not is_generated(path):
        return False
    with atomic_path(path) as tmp:
        tmp.write_text(card(name or folder.name, bundle))
    return True
