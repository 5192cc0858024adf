"""A real-world-sized phantom case on disk (compressed NIfTI, as scanners' exports are), cached."""

import os
from pathlib import Path

from RenalMassAILib.phantom import PhantomSpec, make_phantom

# 0.78 mm pixels, 1.25 mm slices: a typical portal-venous abdominal reconstruction.
SPACING = (0.78, 0.78, 1.25)


def bench_case(size, misregistration_mm: float = 0.0, log=None) -> tuple[dict[str, Path], object]:
    cache = Path(os.environ.get("RENALMASSAI_CACHE", Path.home() / ".cache" / "renalmassai")) / "bench"
    spacing = SPACING if size[2] > 150 else (SPACING[0], SPACING[1], 2.5)
    spec = PhantomSpec(
        seed=7,
        size=tuple(size),
        spacing=spacing,
        diameter_mm=45.0,
        side="left",
        pole="mid",
        misregistration_mm=misregistration_mm,
        misregistration_deg=2.0 if misregistration_mm else 0.0,
    )
    folder = cache / f"{'x'.join(map(str, size))}_mis{misregistration_mm:g}"
    paths = {name: folder / f"{name}.nii.gz" for name in ("non-contrast", "arterial", "venous", "segmentation")}
    if not all(p.exists() for p in paths.values()) or misregistration_mm:
        if log:
            log(f"generating a {size} phantom case in {folder} (once)")
        phantom = make_phantom(spec)
        phantom.write(folder)
        return paths, phantom
    return paths, None
