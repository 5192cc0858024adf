"""Classification: model inputs and preprocessing presets, the networks (the authors' and ours), model
packages and their registry, the import of the authors' checkpoints, prediction with Grad-CAM."""
