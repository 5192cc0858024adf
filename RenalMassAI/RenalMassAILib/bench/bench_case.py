"""A real-world-sized phantom case on disk (compressed NIfTI, as scanners' exports are), cached."""

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from RenalMassAILib import __version__
from RenalMassAILib.phantom import PhantomSpec, make_phantom

# 0.78 mm pixels, 1.25 mm slices: a typical portal-venous abdominal reconstruction.
SPACING = (0.78, 0.78, 1.25)


def bench_cache() -> Path:
    """Where benchmarks keep what they make once: $RENALMASSAI_CACHE/bench (default ~/.cache/renalmassai)."""
    return Path(os.environ.get("RENALMASSAI_CACHE", Path.home() / ".cache" / "renalmassai")) / "bench"


def cache_key(*parts) -> str:
    """A short digest of everything that made a cached bench input, this software's version included
    (a phantom generator that changed makes a new case, not a stale one)."""
    text = json.dumps([__version__, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def bench_case(size, misregistration_mm: float = 0.0, log=None) -> tuple[dict[str, Path], object]:
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
    folder = bench_cache() / f"{'x'.join(map(str, size))}_{cache_key(dataclasses.asdict(spec))}"
    paths = {name: folder / f"{name}.nii.gz" for name in ("non-contrast", "arterial", "venous", "segmentation")}
    if not all(p.exists() for p in paths.values()) or misregistration_mm:
        if log:
            log(f"generating a {size} phantom case in {folder} (once)")
        phantom = make_phantom(spec)
        phantom.write(folder)
        return paths, phantom
    return paths, None
