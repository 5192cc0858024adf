"""The paper's pathology taxonomy, rule by rule, and the labels command."""

import csv
import json

import pytest

from RenalMassAILib.cli import main
from RenalMassAILib.cohort.pathology import PathologyRecord, classify, normalise_subtype


def _class(subtype, **fields):
    return classify(PathologyRecord(subtype=subtype, **fields)).pathology_class


@pytest.mark.parametrize("spelling, canonical", [
    ("clear_cell_rcc", "clear cell rcc"), ("Clear cell renal cell carcinoma", "clear cell rcc"), ("KIRC", "clear cell rcc"),
    ("papillary", "papillary rcc"), ("KIRP", "papillary rcc"), ("chromophobe", "chromophobe rcc"),
    ("KICH", "chromophobe rcc"), ("Xp11 translocation RCC", "tfe3-rearranged rcc"), ("wilms", "nephroblastoma"),
    ("clear_cell_papillary_rcc", "clear cell papillary renal cell tumor"), ("MEST", "mixed epithelial and stromal tumor"),
    ("Clear cell papillary renal cell tumour", "clear cell papillary renal cell tumor"), ("rcc_unclassified", "rcc unclassified"),
])
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


@pytest.mark.parametrize("subtype, expected", [
    ("angiomyolipoma", "benign"), ("oncocytoma", "benign"), ("complex renal cyst", "benign"),
    ("metanephric adenoma", "benign"), ("leiomyoma", "benign"), ("hematoma", "benign"),
    ("chromophobe", "indolent"), ("multilocular cystic RCC", "indolent"), ("tubulocystic RCC", "indolent"),
    ("epithelioid angiomyolipoma", "indolent"), ("SDH-deficient RCC", "indolent"),
    ("TFE3-rearranged RCC", "aggressive"), ("collecting duct carcinoma", "aggressive"),
    ("renal medullary carcinoma", "aggressive"), ("leiomyosarcoma", "aggressive"), ("RCC NOS", "aggressive"),
])
def test_fixed_classes(subtype, expected):
    assert _class(subtype) == expected


def test_sarcomatoid_makes_any_subtype_aggressive():
    assert _class("chromophobe", sarcomatoid=True) == "aggressive"


@pytest.mark.parametrize("subtype", ["urothelial", "lymphoma", "metastasis", "papillary adenoma", "spindle cell thing"])
def test_outside_the_taxonomy_is_excluded_with_a_reason(subtype):
    result = classify(PathologyRecord(subtype))
    assert result.pathology_class == "excluded" and result.reason


def test_labels_from_the_kits_json_format(tmp_path, capsys):
    kits = [
        {"case_id": "case_00000", "tumor_histologic_subtype": "clear_cell_rcc", "tumor_isup_grade": 2,
         "pathology_t_stage": "1b", "malignant": True},
        {"case_id": "case_00001", "tumor_histologic_subtype": "clear_cell_rcc", "tumor_isup_grade": 2,
         "pathology_t_stage": "3a", "malignant": True},
        {"case_id": "case_00002", "tumor_histologic_subtype": "oncocytoma", "tumor_isup_grade": None,
         "pathology_t_stage": "1a", "malignant": False},
        {"case_id": "case_00003", "tumor_histologic_subtype": "urothelial", "tumor_isup_grade": None,
         "pathology_t_stage": "2", "malignant": True},
        {"case_id": "case_00004", "tumor_histologic_subtype": "papillary", "tumor_isup_grade": None,
         "pathology_t_stage": "1a", "malignant": True},
    ]
    (tmp_path / "kits.json").write_text(json.dumps(kits))
    assert main(["labels", "--kits-json", str(tmp_path / "kits.json"), "--out", str(tmp_path / "labels.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "labels.csv")))
    assert [r["class"] for r in rows] == ["indolent", "aggressive", "benign", "excluded", "indeterminate"]
    assert list(rows[0]) == ["case_id", "class", "reason", "subtype"]
    assert "pT3a" in rows[1]["reason"]


def test_pathology_csv_with_a_bad_grade_is_refused(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("case_id,subtype,isup_grade\nc1,ccRCC,7\n")
    assert main(["labels", "--pathology-csv", str(tmp_path / "p.csv"), "--out", str(tmp_path / "l.csv")]) == 2
    assert "ISUP grade '7' is not 1-4" in capsys.readouterr().err
