"""Synthetic multi-phase renal CT phantoms with known anatomy, lesion and pathology.

Used by the tests, the bundled demo case and the training of demo models. Everything is defined
in physical space, so the same seed gives the same anatomy at any spacing, size or orientation.
"""

from RenalMassAILib.phantom.generator import Phantom, PhantomSpec, make_phantom  # noqa: F401
from RenalMassAILib.phantom.pathology import SUBTYPES, pathology_class  # noqa: F401
