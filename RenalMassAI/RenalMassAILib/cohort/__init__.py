"""Working with cohorts: manifests, training (later: labels, evaluation, baselines, batch)."""
