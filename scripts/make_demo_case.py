"""Regenerates Resources/DemoCase: the bundled synthetic case (deterministic, seed fixed).

.venv/bin/python scripts/make_demo_case.py
"""

import json
from pathlib import Path

from RenalMassAILib.phantom import PhantomSpec, make_phantom

SPEC = PhantomSpec(
    subtype="ccRCC",
    grade=3,
    necrosis=True,
    diameter_mm=52.0,
    side="left",
    pole="mid",
    exophytic=0.6,
    size=(176, 176, 60),
    spacing=(1.9, 1.9, 3.0),
    misregistration_mm=2.0,
    misregistration_deg=1.0,
    extra_cysts=1,
    seed=2025,
)


def main() -> None:
    folder = Path(__file__).resolve().parents[1] / "Resources" / "DemoCase"
    phantom = make_phantom(SPEC)
    phantom.write(folder)
    truth = {
        "description": (
            "Synthetic phantom, not patient data: made by RenalMassAILib.phantom (scripts/make_demo_case.py)"
        ),
        "subtype": SPEC.subtype,
        "grade": SPEC.grade,
        "necrosis": SPEC.necrosis,
        "pathology": phantom.pathology,
        "lesion_center_lps": [round(c, 3) for c in phantom.lesion_center_lps],
        "lesion_side": phantom.lesion_side,
        "labels": {"kidney": 1, "tumor": 2, "cyst": 3},
    }
    (folder / "case.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(f"wrote {folder}")


if __name__ == "__main__":
    main()
