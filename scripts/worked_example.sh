#!/usr/bin/env bash
# The cohort workflow end to end on synthetic phantoms (README "Worked example"):
# phantom cohort -> train -> batch -> baselines -> evaluate. Usage: scripts/worked_example.sh [FOLDER]
set -euo pipefail
W=${1:-worked-example}
R=${RENALMASSAI:-.venv/bin/renalmassai}
$R phantom --cohort 100 --seed 21 --out "$W/cohort" --size 128 128 28 --spacing 2.6 2.6 4.0
# The bundled demo model's recipe (README, The demo model): lesion-field inputs, no augmentation, no phase
# dropout, batch 16, lr 5e-4, float32 (bf16 autocast is much slower on a CPU without native bf16).
$R train --manifest "$W/cohort/manifest.csv" --out "$W/model" --preprocessing lesion-field --epochs 14 --lr 5e-4 \
    --batch-size 16 --no-augment --phase-dropout 0 --demo --id worked-example --no-progress
$R batch "$W/cohort/manifest.csv" --out "$W/batch" --malignancy-model "$W/model" --aggressiveness-model "$W/model" \
    --workers 2
$R baseline --manifest "$W/cohort/manifest.csv" --batch "$W/batch" --out "$W/baseline"
for task in malignancy aggressiveness; do
    $R evaluate --predictions "$W/baseline/predictions_$task.csv" --compare radiomics renal_nomogram \
        --subgroups size_group --out "$W/evaluation_$task"
done
