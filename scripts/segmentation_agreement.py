"""Agreement of the fast segmentation path with nnU-Net's default path (demo model, held-out phantoms).

    .venv/bin/python scripts/segmentation_agreement.py [--seeds 7901 7902 7903] [--model DIR]

For each phantom: the default path (whole volume, tile step 0.5, mirroring, fp32) and fast-path
variants around the tumour centre; prints tumour Dice against the default path and the ground truth.
"""

import argparse

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment
from RenalMassAILib.phantom import PhantomSpec, make_phantom
from RenalMassAILib.resources import demo_segmentation_model

VARIANTS = {
    "fast (160 mm box, no mirroring)": SegmentationOptions(),
    "fast + mirroring": SegmentationOptions(mirroring=True),
    "fast, 200 x 200 x 128 mm box (one demo patch)": SegmentationOptions(roi_mm=(200.0, 200.0, 128.0)),
    "fast, one-patch box + mirroring": SegmentationOptions(mirroring=True, roi_mm=(200.0, 200.0, 128.0)),
}


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1.0, float(a.sum() + b.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7901, 7902, 7903])
    parser.add_argument("--model", default=None, help="nnU-Net trained-model folder (default: the bundled demo)")
    args = parser.parse_args()
    for seed in args.seeds:
        phantom = make_phantom(PhantomSpec(seed=seed, subtype="ccRCC", diameter_mm=45.0, side="left", pole="mid",
                                           extra_cysts=1, size=(160, 160, 48), spacing=(2.0, 2.0, 3.0)))
        case = phantom.case()
        model = open_segmentation_model(args.model or demo_segmentation_model(), case.phases)
        default = segment(case, model, None, SegmentationOptions(fast=False, mirroring=True, tile_step_size=0.5, bf16=False))
        reference = sitk.GetArrayViewFromImage(default.label_map.image) == 2
        truth = sitk.GetArrayViewFromImage(phantom.labels) == 2
        print(f"seed {seed}: default path vs truth {dice(reference, truth):.3f}")
        for name, options in VARIANTS.items():
            result = segment(case, model, phantom.lesion_center_lps, options)
            tumour = sitk.GetArrayViewFromImage(result.label_map.image) == 2
            print(f"  {name}: vs default {dice(tumour, reference):.3f}, vs truth {dice(tumour, truth):.3f}")


if __name__ == "__main__":
    main()
