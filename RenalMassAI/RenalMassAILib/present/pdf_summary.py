"""A one-page PDF of the summary (what summary.html shows): notice, patient, findings, lesion,
R.E.N.A.L., models and the axial screenshot. Drawn with matplotlib's PDF backend (no pyplot state),
fonts embedded as TrueType so the text can be searched and extracted."""

from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure
from PIL import Image

from RenalMassAILib.present.dicom_identity import Identity

A4_INCHES = (8.27, 11.69)
DEMO_RED = "#c00000"
LINE = 0.0175  # figure fraction per text line


def write_pdf_summary(report: dict, out_path, identity: Identity | None, axial_screenshot: Path | None) -> Path:
    figure = Figure(figsize=A4_INCHES)
    FigureCanvasPdf(figure)
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}):
        _banner(figure, report, 0.965)
        figure.text(0.06, 0.915, f"RenalMassAI \u2014 {report.get('case_id', '')}", fontsize=17, weight="bold")
        y = _section(figure, 0.885, "Patient and study", _patient_lines(identity))
        y = _section(figure, y, "Findings", _finding_lines(report))
        y = _section(figure, y, "Lesion", _lesion_lines(report))
        y = _section(figure, y, "R.E.N.A.L. nephrometry", _renal_lines(report))
        if axial_screenshot is not None and Path(axial_screenshot).is_file():
            axes = figure.add_axes((0.12, 0.07, 0.76, max(0.1, y - 0.1)))
            axes.imshow(Image.open(axial_screenshot).convert("RGB"))
            axes.set_axis_off()
            axes.set_title("axial view through the tumor center", fontsize=9)
        software = report.get("software", {})
        figure.text(
            0.06,
            0.035,
            f"{software.get('name', 'RenalMassAI')} {software.get('version', '')}; phases "
            f"{' '.join(report.get('phases_present', []))} (reference {report.get('reference_phase', '')})",
            fontsize=8,
            color="#444444",
        )
        path = Path(out_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(
            path,
            format="pdf",
            metadata={"Title": f"RenalMassAI summary {report.get('case_id', '')}", "Creator": "RenalMassAI"},
        )
    return path


def _banner(figure: Figure, report: dict, y: float) -> None:
    demo = bool(report.get("demo"))
    figure.text(
        0.5,
        y,
        report.get("notice", ""),
        ha="center",
        va="center",
        fontsize=13 if demo else 11,
        weight="bold" if demo else "normal",
        color="white" if demo else "black",
        bbox={"facecolor": DEMO_RED if demo else "#eeeeee", "edgecolor": "none", "pad": 6},
    )


def _section(figure: Figure, y: float, title: str, lines: list[str]) -> float:
    figure.text(0.06, y, title, fontsize=12, weight="bold")
    y -= LINE * 1.3
    for line in lines:
        figure.text(0.08, y, line, fontsize=9.5, family="DejaVu Sans Mono")
        y -= LINE
    return y - LINE * 0.6


def _patient_lines(identity: Identity | None) -> list[str]:
    if identity is None:
        return ["no DICOM source study (images read from NIfTI/NRRD): no patient data"]
    text = identity.text
    lines = [
        (
            f"name {text('PatientName') or '-'}   ID {text('PatientID') or '-'}   "
            f"birth date {text('PatientBirthDate') or '-'}   sex {text('PatientSex') or '-'}"
        ),
        f"study date {text('StudyDate') or '-'}   accession {text('AccessionNumber') or '-'}",
        f"study UID {text('StudyInstanceUID')}",
    ]
    if identity.deidentified:
        lines.append("de-identified on request (--deidentify)")
    return lines


def _finding_lines(report: dict) -> list[str]:
    lines = []
    for task, prediction in (report.get("predictions") or {}).items():
        model = prediction.get("model", {})
        score = f"   score {prediction['score_0_10']:.2f} / 10" if prediction.get("score_0_10") is not None else ""
        lines.append(f"P({task}) = {prediction['probability']:.3f}{score}")
        lines.append(
            f"    phases {' '.join(prediction.get('phases_used', []))}; model {model.get('id')} "
            f"v{model.get('version')}{' (DEMO model)' if model.get('demo') else ''}"
        )
    return lines or ["no predictions"]


def _lesion_lines(report: dict) -> list[str]:
    lesion = report.get("lesion") or {}
    center = " ".join(f"{c:.1f}" for c in lesion.get("center_lps", []))
    lines = [f"center {center} mm (LPS; from {lesion.get('center_source', '-')})"]
    if lesion.get("volume_ml") is not None:
        lines.append(
            f"volume {lesion['volume_ml']} mL   largest diameter {lesion.get('max_diameter_mm')} mm   "
            f"side {lesion.get('side', '-')}"
        )
    return lines


def _renal_lines(report: dict) -> list[str]:
    renal = report.get("nephrometry")
    if not renal:
        return ["not scored (no segmentation)"]
    if "error" in renal:
        return [f"not scored: {renal['error']}"[:110]]
    return [
        (
            f"R {renal.get('R_points')}  E {renal.get('E_points')}  N {renal.get('N_points')}  "
            f"A {renal.get('A')}  L {renal.get('L_points')}   total {renal.get('total')} ({renal.get('score')}, "
            f"{renal.get('complexity')} complexity)"
        )
    ]
