"""Presenting results: images of the model inputs (later: scene glue, screenshots, report)."""
