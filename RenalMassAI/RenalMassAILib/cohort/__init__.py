"""Working with cohorts: manifests, pathology labels, training and its input cache, batch runs,
evaluation and statistics (DeLong, survival), the baselines (R.E.N.A.L. nomogram, radiomics), phantom
cohorts written as files for worked examples and synthetic cohorts made in memory for training."""
