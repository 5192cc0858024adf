"""The paper's pathology taxonomy, rule by rule, and the labels command."""

import json

import pytest

from conftest import csv_rows
from RenalMassAILib.cli import main
from RenalMassAILib.cohort.pathology import PathologyRecord, classify, normalise_subtype


def _class(subtype, **fields):
    return classify(PathologyRecord(subtype=subtype, **fields)).pathology_class


@pytest.mark.parametrize(
    "spelling, canonical",
    [
        ("clear_cell_rcc", "clear cell rcc"),
        ("Clear cell renal cell carcinoma", "clear cell rcc"),
        ("KIRC", "clear cell rcc"),
        ("papillary", "papillary rcc"),
        ("KIRP", "papillary rcc"),
        ("chromophobe", "chromophobe rcc"),
        ("KICH", "chromophobe rcc"),
        ("Xp11 translocation RCC", "tfe3-rearranged rcc"),
        ("wilms", "nephroblastoma"),
        ("clear_cell_papillary_rcc", "clear cell papillary renal cell tumor"),
        ("MEST", "mixed epithelial and stromal tumor"),
        ("Clear cell papillary renal cell tumor", "clear cell papillary renal cell tumor"),
        ("rcc_unclassified", "rcc unclassified"),
    ],
)
def test_subtype_spellings_are_normalised(spelling, canonical):
    assert normalise_subtype(spelling) == canonical


def test_ccrcc_rules():
    assert _class("ccRCC", isup_grade=2) == "indolent"
    assert _class("ccRCC", isup_grade=3) == "aggressive"
    assert _class("ccRCC", isup_grade=4) == "aggressive"
    assert _class("ccRCC", isup_grade=1, necrosis=True) == "aggressive"
    assert _class("ccRCC", isup_grade=2, sarcomatoid=True) == "aggressive"
    assert _class("ccRCC", isup_grade=2, t_stage="pT3a") == "aggressive"
    assert _class("ccRCC", isup_grade=2, t_stage="1b") == "indolent"
    assert _class("ccRCC", isup_grade=2, venous_invasion=True) == "aggressive"
    assert _class("ccRCC", isup_grade=2, perinephric_invasion=True) == "aggressive"
    assert _class("ccRCC") == "indeterminate"  # no grade, no aggressive feature
    assert _class("ccRCC", necrosis=True) == "aggressive"  # one criterion is enough without a grade


def test_papillary_rules_ignore_necrosis():
    assert _class("papillary", isup_grade=2, necrosis=True) == "indolent"
    assert _class("papillary", isup_grade=3) == "aggressive"
    assert _class("papillary", isup_grade=1, sarcomatoid=True) == "aggressive"
    assert _class("papillary", isup_grade=2, t_stage="T3b") == "aggressive"
    assert _class("papillary", necrosis=True) == "indeterminate"


def test_rhabdoid_means_grade_four():
    result = classify(PathologyRecord("ccRCC", isup_grade=2, rhabdoid=True))
    assert result.pathology_class == "aggressive" and "grade 4" in result.reason


@pytest.mark.parametrize(
    "subtype, expected",
    [
        ("angiomyolipoma", "benign"),
        ("oncocytoma", "benign"),
        ("complex renal cyst", "benign"),
        ("metanephric adenoma", "benign"),
        ("leiomyoma", "benign"),
        ("hematoma", "benign"),
        ("chromophobe", "indolent"),
        ("multilocular cystic RCC", "indolent"),
        ("tubulocystic RCC", "indolent"),
        ("epithelioid angiomyolipoma", "indolent"),
        ("SDH-deficient RCC", "indolent"),
        ("TFE3-rearranged RCC", "aggressive"),
        ("collecting duct carcinoma", "aggressive"),
        ("renal medullary carcinoma", "aggressive"),
        ("leiomyosarcoma", "aggressive"),
        ("RCC NOS", "aggressive"),
    ],
)
def test_fixed_classes(subtype, expected):
    assert _class(subtype) == expected


def test_sarcomatoid_makes_any_subtype_aggressive():
    assert _class("chromophobe", sarcomatoid=True) == "aggressive"


@pytest.mark.parametrize("subtype", ["urothelial", "lymphoma", "metastasis", "papillary adenoma", "spindle cell thing"])
def test_outside_the_taxonomy_is_excluded_with_a_reason(subtype):
    result = classify(PathologyRecord(subtype))
    assert result.pathology_class == "excluded" and result.reason


def _kits_case(case_id, subtype, grade, t_stage="1a", malignant=True, **pathology):
    """A record with the fields of the public KiTS23 kits.json (clinical and pathology), values as KiTS writes them."""
    number = int(case_id[-5:]) if case_id else 0
    return {
        "case_id": case_id,
        "age_at_nephrectomy": 40 + number % 35,
        "gender": ("male", "female")[number % 2],
        "body_mass_index": 27.4 + number % 9,
        "comorbidities": {"diabetes_mellitus_uncomplicated": number % 3 == 0},
        "smoking_history": "never_smoked",
        "age_when_quit_smoking": "not_applicable",
        "pack_years": None,
        "voxel_spacing": {"x_spacing": 0.78, "y_spacing": 0.78, "z_spacing": 3.0},
        "vital_status": ("censored", "dead")[number % 4 == 3],
        "vital_days_after_surgery": 400 + 37 * number,
        "radiographic_size": 4.1,
        "pathologic_size": 3.9,
        "malignant": malignant,
        "pathology_t_stage": t_stage,
        "pathology_n_stage": "nx",
        "pathology_m_stage": "0",
        "tumor_histologic_subtype": subtype,
        "tumor_isup_grade": grade,
        "tumor_necrosis": pathology.get("necrosis", False),
        "sarcomatoid_features": pathology.get("sarcomatoid", False),
        "rhabdoid_features": pathology.get("rhabdoid", False),
        "clavien_surgical_complications": "0",
        "surgery_type": "robotic",
        "surgical_procedure": "partial_nephrectomy",
        "positive_resection_margins": False,
        "aua_risk_group": "intermediate_risk",
    }


# case_id -> (record changes, expected class, words its reason must hold)
KITS_CASES = {
    "case_00000": (dict(subtype="clear_cell_rcc", grade=2, t_stage="1b"), "indolent", ["ISUP grade 2"]),
    "case_00001": (dict(subtype="clear_cell_rcc", grade=2, t_stage="3a"), "aggressive", ["pT3a"]),
    "case_00002": (dict(subtype="oncocytoma", grade="na", malignant=False), "benign", ["oncocytoma"]),
    "case_00003": (dict(subtype="urothelial", grade=None, t_stage="2"), "excluded", ["urothelial carcinoma"]),
    "case_00004": (dict(subtype="papillary", grade="na"), "indeterminate", ["without ISUP grade"]),
    "case_00005": (dict(subtype="chromophobe", grade="na", sarcomatoid=True), "aggressive", ["sarcomatoid"]),
    "case_00006": (dict(subtype="clear_cell_rcc", grade=2, rhabdoid=True), "aggressive", ["grade 4 (rhabdoid)"]),
    "case_00007": (
        dict(subtype="other", grade="na"),
        "indeterminate",
        ["'other' is not in the paper's taxonomy", "counted for malignancy only"],
    ),
    "case_00008": (dict(subtype="spindle_cell_neoplasm", grade="na", malignant=False), "benign", ["marks it benign"]),
    "case_00009": (dict(subtype="angiomyolipoma", grade="na", malignant=True), "benign", ["malignant=true disagrees"]),
    "case_00010": (
        dict(subtype="clear_cell_rcc", grade="high"),
        "indeterminate",
        ["without ISUP grade", "tumor_isup_grade 'high' is not a grade 1-4"],
    ),
    "case_00011": (dict(subtype="clear_cell_rcc", grade="3", t_stage="pT1a"), "aggressive", ["ISUP grade 3"]),
    "case_00012": (dict(subtype="clear_cell_rcc", grade=1, necrosis=True), "aggressive", ["coagulative necrosis"]),
    "case_00013": (dict(subtype="clear_cell_papillary_rcc", grade="na"), "indolent", ["clear cell papillary"]),
    "case_00014": (dict(subtype="wilms", grade=None), "indolent", ["nephroblastoma"]),
    "case_00015": (dict(subtype="mest", grade=None, malignant=False), "benign", ["mixed epithelial"]),
    "case_00016": (dict(subtype="multilocular_cystic_rcc", grade=1), "indolent", ["multilocular"]),
    "case_00017": (dict(subtype="rcc_unclassified", grade="na"), "aggressive", ["rcc unclassified"]),
    "case_00018": (
        dict(subtype="clear_cell_rcc", grade=2, sarcomatoid="maybe"),
        "indolent",
        ["not given: sarcomatoid", "sarcomatoid_features 'maybe' is not yes/no"],
    ),
    "case_00019": (
        dict(subtype="clear_cell_rcc", grade=2.0, t_stage=2, necrosis=None),
        "indolent",
        ["ISUP grade 2", "not given: necrosis"],
    ),
    "case_00020": (dict(subtype=None, grade=None, malignant=None), "excluded", ["no subtype given"]),
    "case_00021": (
        dict(subtype="clear_cell_rcc", grade=5, t_stage="T9"),
        "indeterminate",
        ["tumor_isup_grade 5 is not a grade 1-4", "pathology_t_stage 'T9' is not a T stage"],
    ),
}


def test_every_kits23_record_is_labelled_with_its_reason(tmp_path, capsys):
    records = [_kits_case(case_id, **changes) for case_id, (changes, _, _) in KITS_CASES.items()]
    records.insert(3, {"age_at_nephrectomy": 61, "tumor_histologic_subtype": "clear_cell_rcc"})  # no case_id
    records.append(_kits_case("case_00001", "oncocytoma", None))  # repeats a case_id
    (tmp_path / "kits.json").write_text(json.dumps(records))
    assert main(["labels", "--kits-json", str(tmp_path / "kits.json"), "--out", str(tmp_path / "labels.csv")]) == 0
    rows = csv_rows(tmp_path / "labels.csv")
    assert list(rows[0]) == ["case_id", "class", "reason", "subtype"]
    assert len(rows) == len(records)  # one row per record: none dropped
    first = {}
    for row in rows:
        first.setdefault(row["case_id"], row)
    for case_id, (_, expected, words) in KITS_CASES.items():
        assert first[case_id]["class"] == expected, (case_id, first[case_id])
        for word in words:
            assert word in first[case_id]["reason"], (case_id, word, first[case_id]["reason"])
    assert rows[3] == {"case_id": "", "class": "excluded", "reason": "record 4 has no case_id", "subtype": ""}
    assert rows[-1]["case_id"] == "case_00001" and rows[-1]["class"] == "excluded"
    assert "repeated" in rows[-1]["reason"]
    captured = capsys.readouterr()
    assert "5 of 24 records had fields that could not be used" in captured.err
    assert (
        "case_00010: tumor_isup_grade 'high' is not a grade 1-4: treated as not given -> indeterminate" in captured.err
    )
    assert "(no case_id): record 4 has no case_id -> excluded" in captured.err
    assert "indeterminate 4" in captured.out


def test_kits_json_as_a_mapping_and_broken_files(tmp_path, capsys):
    # a mapping case_id -> record: the key names the case when the record's own case_id is empty
    (tmp_path / "map.json").write_text(
        json.dumps({"case_00100": {"tumor_histologic_subtype": "clear_cell_rcc", "tumor_isup_grade": 4}})
    )
    assert main(["labels", "--kits-json", str(tmp_path / "map.json"), "--out", str(tmp_path / "l.csv")]) == 0
    assert next(iter(csv_rows(tmp_path / "l.csv")))["class"] == "aggressive"
    (tmp_path / "bad.json").write_text("[{")
    assert main(["labels", "--kits-json", str(tmp_path / "bad.json"), "--out", str(tmp_path / "l.csv")]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


def test_pathology_csv_with_a_bad_grade_labels_the_other_rows(tmp_path, capsys):
    (tmp_path / "p.csv").write_text(
        "case_id,subtype,isup_grade,necrosis,t_stage\nc1,ccRCC,7,no,pT1b\nc2,ccRCC,3,no,pT1b\nc3,papillary,2,yes,T1a\n"
    )
    assert main(["labels", "--pathology-csv", str(tmp_path / "p.csv"), "--out", str(tmp_path / "l.csv")]) == 0
    rows = {r["case_id"]: r for r in csv_rows(tmp_path / "l.csv")}
    assert rows["c1"]["class"] == "indeterminate" and "isup_grade '7' is not a grade 1-4" in rows["c1"]["reason"]
    assert rows["c2"]["class"] == "aggressive" and rows["c3"]["class"] == "indolent"
    assert "1 of 3 records had fields that could not be used" in capsys.readouterr().err
    (tmp_path / "q.csv").write_text("case,subtype\nc1,ccRCC\n")
    assert main(["labels", "--pathology-csv", str(tmp_path / "q.csv"), "--out", str(tmp_path / "l.csv")]) == 2
    assert "missing column(s) case_id" in capsys.readouterr().err


def test_excluded_counts_for_no_task():
    from RenalMassAILib.cohort.task_labels import task_label

    with pytest.raises(ValueError, match="counts for no task"):
        task_label("excluded", "malignancy")


@pytest.mark.parametrize(
    "value, grade, problem",
    [
        (3, 3, False),
        (2.0, 2, False),
        ("4", 4, False),
        ("G2", 2, False),
        ("ISUP grade 3", 3, False),
        ("na", None, False),
        (None, None, False),
        ("", None, False),
        (float("nan"), None, False),
        ("high", None, True),
        (5, None, True),
        (True, None, True),
        (2.5, None, True),
    ],
)
def test_grades_are_read_from_their_usual_spellings(value, grade, problem):
    from RenalMassAILib.cohort.pathology_values import read_grade

    read, note = read_grade(value, "tumor_isup_grade")
    assert read == grade and (note is not None) == problem


@pytest.mark.parametrize(
    "value, stage", [("1a", "1a"), ("pT3a", "3a"), ("T3b", "3b"), (3, "3"), ("ypT2", "2"), ("x", None), ("na", None)]
)
def test_t_stages_are_normalised(value, stage):
    from RenalMassAILib.cohort.pathology_values import read_t_stage

    assert read_t_stage(value, "pathology_t_stage") == (stage, None)
