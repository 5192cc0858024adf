"""RenalMassAI engine and scene glue.

Everything here is importable without Slicer's Qt side: the Slicer module (RenalMassAI.py) and the
command line (cli/) are thin front ends over these functions.
"""

__version__ = "0.1.0"
