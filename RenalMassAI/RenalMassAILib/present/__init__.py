"""Presenting results without a scene: report.json, images of the model inputs and Grad-CAM panels,
summary.html, the PDF summary and the DICOM results (SEG, SR, secondary captures, Encapsulated PDF,
C-STORE). Coordinate conversions between the ITK / DICOM (LPS) and Slicer (RAS) frames live here too."""
