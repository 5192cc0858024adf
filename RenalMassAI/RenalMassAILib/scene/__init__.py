"""Scene glue: the engine's code that touches MRML, Qt-free, so it runs inside Slicer and on
slicer-core. The Slicer module file (RenalMassAI.py) also touches MRML: it builds the Widget on these
functions and its typed parameter node names the node classes."""
