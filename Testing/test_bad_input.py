"""Every bad input gives one clear line on stderr, exit status 2, and leaves the files as they were."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import CENTER_AT_ORIGIN, phantom
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("case")
    p = phantom(seed=9, size=(64, 64, 24), spacing=(4.0, 4.0, 5.0), side="left")
    paths = {name: str(path) for name, path in p.write(folder).items()}
    venous = p.images[Phase.VENOUS]

    def variant(name, array=None, **geometry):
        image = sitk.GetImageFromArray(sitk.GetArrayFromImage(venous) if array is None else array)
        image.CopyInformation(venous)
        for key, value in geometry.items():
            getattr(image, f"Set{key}")(value)
        path = folder / name
        sitk.WriteImage(image, str(path))
        return str(path)

    array = sitk.GetArrayFromImage(venous).astype(np.float32)
    with_nan = array.copy()
    with_nan[5, 5, 5] = np.nan
    paths["nan"] = variant("nan.nrrd", with_nan)  # ITK's NIfTI reader turns NaN into 0 itself
    paths["mri"] = variant("t2.nii.gz", (array - array.min()).astype(np.float32))
    paths["spacing"] = variant("spacing.nii.gz", Spacing=(4.0, 4.0, 50.0))
    paths["elsewhere"] = variant("elsewhere.nii.gz", Origin=(5000.0, 0.0, 0.0))
    no_tumor = sitk.GetArrayFromImage(p.labels)
    no_tumor[no_tumor == 2] = 1
    paths["no_tumor_seg"] = variant("no_tumor_seg.nii.gz", no_tumor)
    seg_elsewhere = sitk.Image(p.labels)
    seg_elsewhere.SetOrigin((0.0, 0.0, 9000.0))
    sitk.WriteImage(seg_elsewhere, str(folder / "seg_elsewhere.nii.gz"))
    paths["seg_elsewhere"] = str(folder / "seg_elsewhere.nii.gz")
    flat = sitk.GetImageFromArray(array[10])
    sitk.WriteImage(flat, str(folder / "slice.nii.gz"))
    paths["2d"] = str(folder / "slice.nii.gz")
    (folder / "broken.nii.gz").write_bytes(b"this is not an image")
    paths["broken"] = str(folder / "broken.nii.gz")
    paths["empty_dir"] = str(tmp_path_factory.mktemp("empty"))
    return paths


def _fails(capsys, argv, *fragments):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _out(tmp_path):
    return ["--out", str(tmp_path / "out")]


# One row per bad input: (what, prepare's arguments, fragments the error line must hold). "@name" stands
# for the path of files[name] (the module's fixture), in arguments and fragments alike.
BAD_INPUTS = [
    ("missing file", ["--arterial", "/no/such/arterial.nii.gz", *CENTER_AT_ORIGIN],
     ["arterial image", "/no/such/arterial.nii.gz", "no such file"]),
    ("unreadable file", ["-A", "@broken", *CENTER_AT_ORIGIN], ["@broken", "cannot be read as an image"]),
    ("folder without DICOM", ["-V", "@empty_dir", *CENTER_AT_ORIGIN], ["venous image", "no DICOM series"]),
    ("not 3D", ["-A", "@2d", *CENTER_AT_ORIGIN], ["expected a 3D volume"]),
    ("not CT", ["-A", "@mri", *CENTER_AT_ORIGIN], ["@mri", "does not look like CT"]),
    ("NaN voxels", ["-A", "@nan", *CENTER_AT_ORIGIN], ["1 voxel(s) are NaN"]),
    ("absurd spacing", ["-A", "@spacing", *CENTER_AT_ORIGIN], ["voxel spacing", "50.0"]),
    ("phase elsewhere", ["-A", "@arterial", "-V", "@elsewhere", "--segmentation", "@segmentation"],
     ["venous image", "does not overlap", "arterial image"]),
    ("segmentation elsewhere", ["-A", "@arterial", "--segmentation", "@seg_elsewhere"],
     ["segmentation", "does not overlap"]),
    ("no tumor and no center", ["-A", "@arterial", "--segmentation", "@no_tumor_seg"],
     ["no tumor voxels", "--center-lps"]),
    ("neither segmentation nor center", ["-A", "@arterial"], ["--segmentation", "--center-lps"]),
    ("center outside the image", ["-A", "@arterial", "--center-lps", "0", "0", "900"],
     ["tumor center", "lies outside"]),
    ("no image", CENTER_AT_ORIGIN, ["no image given"]),
    ("explicit and --auto phases", ["-A", "@arterial", "--auto", "@venous", *CENTER_AT_ORIGIN], ["not both"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "fragments"), [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS]
)
def test_bad_input_is_one_clear_line(capsys, files, tmp_path, arguments, fragments):
    def resolved(texts):
        return [files[text[1:]] if text.startswith("@") else text for text in texts]

    _fails(capsys, ["prepare", *resolved(arguments), *_out(tmp_path)], *resolved(fragments))


def test_input_files_stay_intact(capsys, files, tmp_path):
    digest = {
        name: hashlib.sha256(Path(path).read_bytes()).hexdigest()
        for name, path in files.items()
        if name not in ("empty_dir",)
    }
    main(
        [
            "prepare",
            "-A",
            files["arterial"],
            "-V",
            files["elsewhere"],
            "--segmentation",
            files["segmentation"],
            *_out(tmp_path),
        ]
    )
    main(["prepare", "-A", files["arterial"], "--segmentation", files["no_tumor_seg"], *_out(tmp_path)])
    capsys.readouterr()
    assert digest == {name: hashlib.sha256(Path(files[name]).read_bytes()).hexdigest() for name in digest}


def test_as_a_new_user_on_the_command_line(files, tmp_path):
    """The installed command: one line on stderr, exit 2, no traceback."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "RenalMassAILib",
            "prepare",
            "-A",
            files["mri"],
            *CENTER_AT_ORIGIN,
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("renalmassai: error: arterial image") and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
