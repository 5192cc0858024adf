"""The bundled demo case (a synthetic phantom, not patient data) as a SampleData entry.

The module registers these files with Slicer's SampleData module, which copies them into its cache
and checks each copy against its SHA-256 (`Testing/test_module_logic.py` checks the digests against
the files). Node names carry the phase, so "Assign phases from volume names" finds them. The demo
label map is not offered: read as a segmentation its segments would have no names; Segment (the
bundled demo nnU-Net) makes the named segments instead.
"""

import dataclasses
from pathlib import Path

from RenalMassAILib.resources import demo_case_dir

CATEGORY = "RenalMassAI"
SAMPLE_NAME = "RenalMassAI demo phantom"


@dataclasses.dataclass(frozen=True)
class SampleFile:
    file_name: str
    node_name: str
    sha256: str

    def path(self) -> Path:
        return demo_case_dir() / self.file_name

    def checksum(self) -> str:
        """In SampleData's form, <algorithm>:<digest>."""
        return f"SHA256:{self.sha256}"


DEMO_FILES = (
    SampleFile(
        "non-contrast.nii.gz",
        "RenalMassAI demo non-contrast",
        "58d37db35e5773147cad79c3b112136ac4a4281bf44ef9d82c9e3f877a39e0d5",
    ),
    SampleFile(
        "arterial.nii.gz",
        "RenalMassAI demo arterial",
        "5a837a9bad07def710cf22c27e05070323d2f7904e4fcdaf5aa1848ac9e06d4a",
    ),
    SampleFile(
        "venous.nii.gz", "RenalMassAI demo venous", "45ac9a6d3d26aa796d975f19b90067f2e4ee8c2a92b0c271188692ebf1661bd0"
    ),
)
