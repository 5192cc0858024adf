"""Scene glue: the only code that touches MRML. Qt-free, so it runs inside Slicer and on slicer-core."""
