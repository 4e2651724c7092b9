#!/usr/bin/env bash
# Train the flagship estimator (multiscale, tensor frames) and its three comparison modes with one equal
# budget on the real-mesh training split plus procedural shapes, validated on the validation split.
#   bash assets/train_flagship.sh [EPOCHS] [JOBS]       (defaults: 16 epochs, 2 runs at a time)
# Resumable: a rerun continues every unfinished run from its last checkpoint. TF, DEVICE, RUNS, MODES as in
# train_classroom.sh (MODES: the modes to train, tensor_frames first).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-16}
JOBS=${2:-2}
TF=${TF:-tensorframes}
DEVICE=${DEVICE:-cpu}
RUNS=${RUNS:-runs/flagship}
MODES=${MODES:-"tensor_frames baseline scalar_frames augment"}

train_one() {
    out="$RUNS/multiscale_$1_pca"
    OMP_NUM_THREADS=1 $TF train --arch multiscale --mode "$1" --frames pca --epochs "$EPOCHS" \
        --size layers=2 hidden=16x0n+4x1n+2x2n --data meshes --root assets/meshes/train \
        --val-root assets/meshes/val --n-train 80 --n-val 8 --n-points 2048 --batch-size 4 --lr 2e-3 \
        --noise 0,0.00125,0.006,0.012 --shapes aligned --device "$DEVICE" --no-amp --out "$out" --quiet \
        $( [ -e "$out/last.pt" ] && echo --resume ) > "$out.log" 2>&1 \
        && $TF export "$out" >> "$out.log" 2>&1 && echo "done $1" || echo "FAILED $1 (see $out.log)"
}
export -f train_one
export EPOCHS TF DEVICE RUNS
mkdir -p "$RUNS"
printf '%s\n' $MODES | xargs -P "$JOBS" -I{} bash -c 'train_one {}'
