"""Agreement of fast-path variants with nnU-Net's default path (demo model, held-out phantoms).

    .venv/bin/python scripts/segmentation_agreement.py [--seeds 7901 ... 7906] [--model DIR]

Prints, per phantom, tumor Dice of each variant against the default path (inside the boxes the variant
segmented, and over the whole volume) and the ground truth, with its network passes (mirrors included)
and growths; then mean and minimum per variant.
"""

import argparse

from RenalMassAILib.bench.segmentation_agreement import SEEDS, measure_agreement, summary
from RenalMassAILib.lesion.segmentation import SegmentationOptions
from RenalMassAILib.resources import demo_segmentation_model

VARIANTS = {  # name: (options, around the tumor center?)
    "160 mm box, no mirroring (earlier fast path)": (
        SegmentationOptions(region_mm=(160.0,) * 3, grow=False, mirroring=False),
        True,
    ),
    "one patch, grown, no mirroring": (SegmentationOptions(mirroring=False), True),
    "one patch, grown, mirroring within budget (fast path)": (SegmentationOptions(), True),
    "no point: located kidneys (fast path)": (SegmentationOptions(), False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--model", default=None, help="nnU-Net trained-model folder (default: the bundled demo)")
    args = parser.parse_args()
    rows = measure_agreement(args.model or demo_segmentation_model(), VARIANTS, args.seeds)
    for row in rows:
        print(
            f"seed {row['seed']} ({row['mass']}): default vs truth {row['default_vs_truth']:.3f}, "
            f"{row['default_passes']} passes"
        )
        for name in VARIANTS:
            r = row[name]
            print(
                f"  {name}: vs default in box {r['vs_default_in_box']:.3f} (whole volume {r['vs_default']:.3f}), "
                f"vs truth {r['vs_truth']:.3f}, {r['passes']} passes, {r['growths']} growths"
            )
    for name, values in summary(rows, VARIANTS).items():
        print(
            f"{name}: tumor Dice vs default in box mean {values['vs_default_in_box_mean']:.3f}, min "
            f"{values['vs_default_in_box_min']:.3f}; whole volume mean {values['vs_default_mean']:.3f}, min "
            f"{values['vs_default_min']:.3f}"
        )


if __name__ == "__main__":
    main()
