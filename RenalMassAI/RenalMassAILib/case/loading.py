"""Reading and checking a case: the one way in for the CLI, the workers, batch and the Slicer module.

Files and folders are read with `load_case` (phases given) or `load_case_auto` (phases detected);
images that are already in memory (Slicer's volumes) become a case through `checked_case`. Each
checks every phase as CT and that every phase overlaps the reference phase in physical space.
"""

from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import REFERENCE_ORDER, Phase
from RenalMassAILib.case.phase_detection import PhaseAssignment, detect_phases
from RenalMassAILib.case.reading import find_sources, read_volume, single_source
from RenalMassAILib.case.validation import check_ct_image, check_overlap


def load_case(paths: dict[Phase, str], case_id: str = "case") -> Case:
    """Reads and validates the given phases; every phase must overlap the reference phase."""
    images, sources, notes = {}, {}, {}
    for phase, path in paths.items():
        what = f"{phase.long_name} image {str(path)!r}"
        found = single_source(path, what)
        read = read_volume(found.sources[0], what)
        check_ct_image(read.image, what)
        images[phase], sources[phase], notes[phase] = read.image, str(path), found.skipped + read.notes
    return _overlapping(Case(images, sources, case_id, notes))


def load_case_auto(paths: list[str], case_id: str = "case") -> tuple[Case, PhaseAssignment]:
    """Phases detected from file / series names and DICOM tags (files or folders of series)."""
    found = [find_sources(path, "image") for path in paths]
    assignment = detect_phases([source for f in found for source in f.sources])
    images, names, notes = {}, {}, {}
    for phase, source in assignment.sources.items():
        what = f"{phase.long_name} image {source.label()}"
        read = read_volume(source, what)
        check_ct_image(read.image, what)
        images[phase], notes[phase] = read.image, read.notes
        names[phase] = source.path if not source.series_uid else f"{source.path}#{source.description}"
    skipped = tuple(note for f in found for note in f.skipped)
    return _overlapping(Case(images, names, case_id, notes, skipped)), assignment


def checked_case(images: dict, names: dict[Phase, str]) -> Case:
    """A case of images already read (e.g. Slicer volumes), named by `names` in messages; its id is the
    reference phase's name. The same checks as `load_case`: CT values, overlap with the reference."""
    for phase, image in images.items():
        check_ct_image(image, f"{phase.long_name} volume {names[phase]!r}")
    reference = next(p for p in REFERENCE_ORDER if p in images)
    return _overlapping(Case(images, names, names[reference]))


def _overlapping(case: Case) -> Case:
    for phase in case.phases:
        if phase != case.reference_phase:
            check_overlap(case.images[phase], case.reference, case.describe(phase), case.describe(case.reference_phase))
    return case
