#!/usr/bin/env bash
# The cohort workflow end to end on synthetic phantoms (README "Worked example"):
# phantom cohort -> train -> batch -> baselines -> evaluate, for a network trained on the cohort and for
# the bundled demo models. Usage: scripts/worked_example.sh [FOLDER]
# CASES=N phantoms (300 by default); BF16=1 trains with bfloat16 autocast (a CPU with AMX or a GPU; on an
# AVX2-only CPU it is many times slower than float32).
set -euo pipefail
W=${1:-worked-example}
R=${RENALMASSAI:-.venv/bin/renalmassai}
CASES=${CASES:-300}
$R phantom --cohort "$CASES" --seed 21 --out "$W/cohort" --size 128 128 28 --spacing 2.6 2.6 4.0
# The bundled early-fusion demo model's recipe (README, The demo models): lesion-field inputs, early fusion,
# cosine schedule from lr 5e-4, no augmentation, no phase dropout, batch 16.
$R train --manifest "$W/cohort/manifest.csv" --out "$W/model" --preprocessing lesion-field --architecture early-fusion \
    --epochs 16 --lr 5e-4 --lr-schedule cosine --batch-size 16 --no-augment --phase-dropout 0 --demo \
    --id worked-example --no-progress ${BF16:+--bf16}
$R batch "$W/cohort/manifest.csv" --out "$W/batch" --malignancy-model "$W/model" --aggressiveness-model "$W/model" \
    --workers 2
# the bundled demo models, trained on other phantoms (the registry's choice for each case)
$R batch "$W/cohort/manifest.csv" --out "$W/batch-demo" --preprocessing lesion-field --workers 2
for run in batch batch-demo; do
    $R baseline --manifest "$W/cohort/manifest.csv" --batch "$W/$run" --out "$W/baseline-$run"
    for task in malignancy aggressiveness; do
        $R evaluate --predictions "$W/baseline-$run/predictions_$task.csv" --compare radiomics renal_nomogram \
            --subgroups size_group --out "$W/evaluation-$run-$task"
    done
done
