"""Mean HU by tissue and phase (N, A ~35 s, V ~90 s) and their between-patient spread.

From ../shared/reference/clinical.md (sourced means where published, estimates otherwise).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Tissue:
    hu: tuple[float, float, float]  # N, A, V
    spread: tuple[float, float, float] = (0.0, 0.0, 0.0)  # between-patient SD of the mean
    texture: float = 0.0  # SD of the smooth within-tissue texture (HU)


TISSUES = {
    "air": Tissue((-1000, -1000, -1000)),
    "fat": Tissue((-100, -100, -100), (8, 8, 8), 8),
    "muscle": Tissue((50, 58, 60), (5, 5, 5), 6),
    "bowel": Tissue((35, 70, 80), (5, 10, 10), 12),
    "liver": Tissue((60, 90, 110), (6, 10, 12), 6),
    "spleen": Tissue((45, 120, 120), (5, 15, 12), 8),
    "cancellous_bone": Tissue((350, 355, 355), (40, 40, 40), 40),
    "cortical_bone": Tissue((800, 800, 800), (60, 60, 60), 30),
    "disc": Tissue((80, 85, 85), (5, 5, 5), 5),
    "csf": Tissue((15, 15, 15), (3, 3, 3)),
    "aorta": Tissue((40, 300, 150), (4, 40, 20), 4),
    "ivc": Tissue((40, 90, 140), (4, 15, 20), 6),
    "renal_cortex": Tissue((35, 180, 160), (5, 30, 25), 6),
    "renal_medulla": Tissue((32, 80, 160), (5, 20, 25), 6),
    "sinus_fat": Tissue((-80, -80, -80), (10, 10, 10), 10),
    "urine": Tissue((8, 8, 8), (3, 3, 3)),
    "ccRCC": Tissue((34, 165, 130), (7, 40, 30), 25),
    "papillary": Tissue((32, 60, 75), (8, 15, 15), 8),
    "chromophobe": Tissue((35, 90, 100), (8, 20, 20), 10),
    "oncocytoma": Tissue((31, 150, 135), (8, 35, 30), 10),
    "oncocytoma_scar": Tissue((25, 40, 110), (5, 8, 15), 5),
    "fat_poor_AML": Tissue((42, 120, 90), (6, 25, 20), 6),
    "AML_fat": Tissue((-90, -90, -90), (20, 20, 20), 10),
    "simple_cyst": Tissue((8, 10, 10), (6, 6, 6), 2),
    "hyperdense_cyst": Tissue((75, 75, 75), (5, 5, 5), 2),
    "cyst_wall": Tissue((35, 90, 100), (5, 15, 15), 5),
    "necrosis": Tissue((20, 25, 25), (8, 8, 8), 6),
}
