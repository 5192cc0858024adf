"""Model inputs (and, later, networks, model packages, prediction and Grad-CAM)."""
