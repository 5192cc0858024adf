"""Text burned into rendered views: findings, model, demo banner, patient orientation letters."""

import textwrap

import numpy as np
from vtkmodules.vtkRenderingCore import vtkTextActor

from RenalMassAILib.present.report import DEMO_BANNER

# Screen edge -> unit vector on screen (x right, y up), for the orientation letters.
EDGES = {"left": (-1, 0), "right": (1, 0), "top": (0, 1), "bottom": (0, -1)}
RAS_LETTERS = (("L", "R"), ("P", "A"), ("I", "S"))  # negative, positive direction per RAS axis


def orientation_letters(xy_to_ras: np.ndarray) -> dict[str, str]:
    """The patient direction at each screen edge of a slice view (radiological letters R L A P S I)."""
    letters = {}
    for edge, (dx, dy) in EDGES.items():
        direction = xy_to_ras[:3, :3] @ np.array([dx, dy, 0.0])
        axis = int(np.argmax(np.abs(direction)))
        letters[edge] = RAS_LETTERS[axis][int(direction[axis] > 0)]
    return letters


class ViewAnnotations:
    """Text actors on a view's overlay renderer; `clear()` removes them again."""

    def __init__(self, view):
        self.view = view
        self.actors = []

    def text(
        self,
        text: str,
        position,
        size: int = 16,
        color=(1.0, 1.0, 1.0),
        align: str = "left",
        valign: str = "bottom",
        bold: bool = False,
        background=None,
    ) -> vtkTextActor:
        actor = vtkTextActor()
        actor.SetInput(text)
        prop = actor.GetTextProperty()
        prop.SetFontSize(size)
        prop.SetColor(*color)
        prop.SetBold(bold)
        prop.SetShadow(background is None)
        if background is not None:
            prop.SetBackgroundColor(*background)
            prop.SetBackgroundOpacity(0.85)
        {
            "left": prop.SetJustificationToLeft,
            "center": prop.SetJustificationToCentered,
            "right": prop.SetJustificationToRight,
        }[align]()
        {
            "bottom": prop.SetVerticalJustificationToBottom,
            "center": prop.SetVerticalJustificationToCentered,
            "top": prop.SetVerticalJustificationToTop,
        }[valign]()
        actor.SetDisplayPosition(int(position[0]), int(position[1]))
        self.view.overlay.AddViewProp(actor)
        self.actors.append(actor)
        return actor

    def corners(
        self, top_left: str = "", top_right: str = "", bottom_left: str = "", bottom_right: str = "", size: int = 15
    ) -> None:
        cols, rows = self.view.window.GetSize()
        margin = 8
        for text, position, align, valign in (
            (top_left, (margin, rows - margin), "left", "top"),
            (top_right, (cols - margin, rows - margin), "right", "top"),
            (bottom_left, (margin, margin), "left", "bottom"),
            (bottom_right, (cols - margin, margin), "right", "bottom"),
        ):
            if text:
                self.text(text, position, size, align=align, valign=valign)

    def demo_banner(self, warnings: tuple[str, ...] = ()) -> None:
        """The red DEMO banner; warnings (e.g. Analysis.warnings: a demo segmentation model on an image that
        is not the bundled phantom) go into it as more lines, wrapped to the view's width."""
        cols, _rows = self.view.window.GetSize()
        lines = [DEMO_BANNER] + [line for warning in warnings for line in textwrap.wrap(warning, max(20, cols // 9))]
        self.text(
            "\n".join(lines),
            (cols // 2, 40),
            18 if not warnings else 13,
            color=(1.0, 1.0, 1.0),
            align="center",
            valign="bottom",
            bold=True,
            background=(0.8, 0.0, 0.0),
        )

    def orientation(self, letters: dict[str, str]) -> None:
        cols, rows = self.view.window.GetSize()
        places = {
            "left": ((6, rows // 2), "left", "center"),
            "right": ((cols - 6, rows // 2), "right", "center"),
            "top": ((cols // 2, rows - 6), "center", "top"),
            "bottom": ((cols // 2, 76), "center", "bottom"),
        }  # above the banner and the ruler
        for edge, letter in letters.items():
            position, align, valign = places[edge]
            self.text(letter, position, 20, color=(1.0, 0.85, 0.2), align=align, valign=valign, bold=True)

    def clear(self) -> None:
        for actor in self.actors:
            self.view.overlay.RemoveViewProp(actor)
        self.actors = []
