"""A one-page HTML summary beside report.json: findings, lesion, models and the screenshots."""

import html
from pathlib import Path

SCREENSHOT_ORDER = ("axial", "coronal", "sagittal", "3d")


def write_summary_page(
    report: dict, screenshots: dict[str, str], out_dir, screenshots_folder: str = "screenshots"
) -> Path:
    out = Path(out_dir)
    esc = html.escape
    notice_class = "demo" if report.get("demo") else "notice"
    rows = []
    for task, prediction in report["predictions"].items():
        score = f"{prediction['score_0_10']:.1f} / 10" if "score_0_10" in prediction else ""
        model = prediction["model"]
        rows.append(
            f"<tr><td>{esc(task)}</td><td>{prediction['probability']:.3f}</td><td>{score}</td>"
            f"<td>{esc(' '.join(prediction['phases_used']))}</td>"
            f"<td>{esc(str(model['id']))} v{esc(str(model['version']))}{' (demo)' if model['demo'] else ''}</td></tr>"
        )
    lesion = report.get("lesion", {})
    lesion_items = [
        ("center (LPS, mm)", " ".join(f"{c:.1f}" for c in lesion.get("center_lps", []))),
        ("center from", lesion.get("center_source")),
        ("side", lesion.get("side")),
        ("volume (mL)", lesion.get("volume_ml")),
        ("largest diameter (mm)", lesion.get("max_diameter_mm")),
    ]
    lesion_rows = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in lesion_items if v not in (None, "")
    )
    warnings = "".join(f'<p class="demo">{esc(text)}</p>' for text in report.get("warnings", []))
    segmentation = report.get("segmentation", {}).get("model")
    segmentation_line = (
        (
            f"<p>Segmentation model: {esc(str(segmentation['id']))} {esc(str(segmentation['version']))}"
            f"{' (demo)' if segmentation['demo'] else ''}.</p>"
        )
        if segmentation
        else ""
    )
    views = [
        f'<figure><img src="{esc(screenshots_folder)}/{esc(screenshots[name])}" alt="{esc(name)}">'
        f"<figcaption>{esc(name)}</figcaption></figure>"
        for name in SCREENSHOT_ORDER
        if name in screenshots
    ]
    panels = [
        f'<figure class="wide"><img src="{esc(screenshots_folder)}/{esc(file)}" alt="{esc(name)}"></figure>'
        for name, file in screenshots.items()
        if name.startswith("gradcam_")
    ]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>RenalMassAI: {esc(report["case_id"])}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; max-width: 1100px; }}
.demo {{ background: #c00000; color: white; font-weight: bold; padding: .5em; text-align: center; }}
.notice {{ background: #eee; padding: .5em; text-align: center; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; }}
td, th {{ border: 1px solid #bbb; padding: .25em .6em; text-align: left; }}
figure {{ display: inline-block; margin: .3em; }} figure img {{ width: 260px; }} figure.wide img {{ width: 530px; }}
</style></head><body>
<p class="{notice_class}">{esc(report["notice"])}</p>
{warnings}
<h1>RenalMassAI &mdash; {esc(report["case_id"])}</h1>
<p>Phases present: {esc(" ".join(report["phases_present"]))} (reference {esc(report["reference_phase"])}).
Software {esc(report["software"]["name"])} {esc(report["software"]["version"])}.</p>
<h2>Findings</h2>
<table><tr><th>task</th><th>probability</th><th>score</th><th>phases used</th><th>model</th></tr>{"".join(rows)}</table>
{segmentation_line}
<h2>Lesion</h2><table>{lesion_rows}</table>
<h2>Views</h2>{"".join(views)}
<h2>Model inputs and Grad-CAM</h2>{"".join(panels)}
<p class="{notice_class}">{esc(report["notice"])}</p>
{warnings}
</body></html>
"""
    path = out / "summary.html"
    path.write_text(page)
    return path
