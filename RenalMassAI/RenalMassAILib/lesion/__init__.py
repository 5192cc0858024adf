"""Label maps and their meanings, tumor components and their measurements (R.E.N.A.L. included), kidney
localisation and nnU-Net v2 segmentation."""
