"""The page one reader sees: the case list and controls on the left, the four views on the right.

Every figure the reader reads has an element id (`p-malignancy`, `p-aggressiveness`, `score`,
`demo-banner`, `case-error`, `status`, `segmentation`) so that a browser test reads what a reader reads.
"""

from trame.ui.vuetify3 import VAppLayout
from trame.widgets import html
from trame.widgets import vuetify3 as v3


def build_page(server, layout_manager, controller) -> VAppLayout:
    """controller: the callables the buttons call (open_case, segment, cancel, export)."""
    with VAppLayout(server, fill_height=True) as page:
        with v3.VAppBar(density="compact", color="#1f2a36"):
            v3.VToolbarTitle("RenalMassAI review")
            v3.VChip(
                "{{ demo_banner }}",
                id="demo-banner",
                v_if=("demo_banner",),
                color="red",
                variant="flat",
                classes="mr-4 font-weight-bold",
            )
        with v3.VNavigationDrawer(permanent=True, width=340, location="left"), html.Div(classes="pa-3"):
            _case_controls(controller)
            _results()
            _overlay_controls()
            _export_controls(controller)
        with v3.VMain(), html.Div(style="height: calc(100vh - 48px); display: flex;", id="views"):
            layout_manager.initialize_layout_grid(page)
    return page


def _case_controls(controller) -> None:
    v3.VSelect(label="Case", id="case-select", v_model=("case_name", None), items=("case_names", []), density="compact")
    with html.Div(classes="d-flex ga-2 mb-2"):
        # The case name goes with the click: the server's copy of the selection may arrive after it.
        v3.VBtn(
            "Open",
            id="open-case",
            click=(controller.open_case, "[case_name]"),
            disabled=("busy_opening",),
            size="small",
        )
        v3.VBtn("Segment", id="segment", click=controller.segment, disabled=("!case_open || segmenting",), size="small")
        v3.VBtn("Cancel", id="cancel", click=controller.cancel, disabled=("!segmenting",), size="small")
    v3.VCheckbox(
        label="Faster (INT8)",
        id="segmentation-int8",
        v_model=("segmentation_int8", False),
        disabled=("segmenting",),
        density="compact",
        hide_details=True,
        title="the segmentation network's passes in OpenVINO INT8 (CPU only; a little less exact; the first use "
        "quantises the model once, minutes for a KiTS-sized model)",
    )
    v3.VProgressLinear(indeterminate=True, v_if=("segmenting || busy_opening",), classes="mb-2")
    html.Div("{{ segmentation_text }}", id="segmentation", classes="text-caption mb-2")
    html.Div("{{ status }}", id="status", classes="text-caption mb-2")
    v3.VAlert("{{ case_error }}", id="case-error", v_if=("case_error",), type="error", density="compact")


def _results() -> None:
    with html.Table(classes="text-body-2 my-3", style="width: 100%"):
        for label, key, element in (
            ("P(malignant)", "p_malignancy", "p-malignancy"),
            ("P(aggressive)", "p_aggressiveness", "p-aggressiveness"),
            ("Aggressiveness score (0-10)", "score", "score"),
        ):
            with html.Tr():
                html.Td(label)
                html.Td("{{ " + key + " }}", id=element, classes="font-weight-bold text-right")
    v3.VProgressLinear(indeterminate=True, v_if=("refreshing",), height=2, id="refreshing")
    html.Div("{{ center_text }}", id="center", classes="text-caption")
    html.Div("{{ model_text }}", id="model", classes="text-caption mb-2")


def _overlay_controls() -> None:
    v3.VSelect(
        label="Phase shown",
        id="phase-select",
        v_model=("shown_phase", None),
        items=("phase_items", []),
        density="compact",
    )
    with v3.VRadioGroup(
        v_model=("overlay_task", "malignancy"), label="Grad-CAM overlay", inline=True, density="compact"
    ):
        v3.VRadio(label="malignancy", value="malignancy", id="overlay-malignancy")
        v3.VRadio(label="aggressiveness", value="aggressiveness", id="overlay-aggressiveness")
    v3.VSlider(
        v_model=("overlay_opacity", 0.4),
        min=0,
        max=1,
        step=0.05,
        label="Opacity",
        density="compact",
        id="overlay-opacity",
    )


def _export_controls(controller) -> None:
    v3.VBtn("Export", id="export", click=controller.export, disabled=("!analyzed",), size="small")
    html.A(
        "Download {{ download_name }}",
        id="download",
        v_if=("download_url",),
        href=("download_url",),
        download=("download_name",),
        classes="ml-3 text-body-2",
    )
