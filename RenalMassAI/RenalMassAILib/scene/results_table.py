"""The results of the analysis in a table node, so they are saved with the scene."""

import datetime

from RenalMassAILib.pipeline import Analysis
from RenalMassAILib.present.coordinates import lps_to_ras

TABLE_NAME = "RenalMassAI results"
COLUMNS = (
    "task",
    "probability",
    "score_0_10",
    "phases_used",
    "model_id",
    "model_version",
    "demo",
    "center_ras_mm",
    "center_lps_mm",
    "center_source",
    "time",
)


def results_rows(analysis: Analysis, when: datetime.datetime | None = None) -> list[dict]:
    when = when or datetime.datetime.now().astimezone()
    center_lps = analysis.center_lps
    rows = []
    for task, prediction in analysis.predictions.items():
        summary = prediction.summary()
        rows.append(
            {
                "task": task,
                "probability": f"{prediction.probability:.4f}",
                "score_0_10": f"{summary['score_0_10']:.1f}" if "score_0_10" in summary else "",
                "phases_used": " ".join(summary["phases_used"]),
                "model_id": summary["model"]["id"],
                "model_version": str(summary["model"]["version"]),
                "demo": "yes" if summary["model"]["demo"] else "no",
                "center_ras_mm": _point(lps_to_ras(center_lps)),
                "center_lps_mm": _point(center_lps),
                "center_source": analysis.center_source,
                "time": when.isoformat(timespec="seconds"),
            }
        )
    return rows


def _point(point) -> str:
    return " ".join(f"{c:.1f}" for c in point)


def update_results_table(scene, analysis: Analysis, node=None):
    """Writes one row per task (all columns text, as read by people and by scripts alike)."""
    if node is None:
        node = scene.GetFirstNodeByName(TABLE_NAME) or scene.AddNewNodeByClass("vtkMRMLTableNode", TABLE_NAME)
    rows = results_rows(analysis)
    was_modifying = node.StartModify()
    node.RemoveAllColumns()
    for name in COLUMNS:
        column = node.AddColumn()
        column.SetName(name)
    for row in rows:
        index = node.AddEmptyRow()
        for col, name in enumerate(COLUMNS):
            node.SetCellText(index, col, row[name])
    node.EndModify(was_modifying)
    return node


def table_rows(node) -> list[dict]:
    """The table's rows as dicts (for tests and for the report)."""
    table = node.GetTable()
    names = [table.GetColumnName(c) for c in range(table.GetNumberOfColumns())]
    return [{name: node.GetCellText(r, c) for c, name in enumerate(names)} for r in range(node.GetNumberOfRows())]
