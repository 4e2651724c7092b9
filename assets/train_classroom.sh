#!/usr/bin/env bash
# Train and export the classroom checkpoints that use frames or augmentation, all with one equal budget
# (the baselines' budget, see their JSON sidecars), several runs at once.
#   bash assets/train_classroom.sh [EPOCHS] [JOBS]       (defaults: 24 epochs, 4 runs at a time)
# TF: how to call the CLI (default `tensorframes`; on a machine without the package installed:
# TF="python3 -m tensorframes_core.cli" with PYTHONPATH at the repo root). DEVICE: cpu or cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-24}
JOBS=${2:-4}
TF=${TF:-tensorframes}
DEVICE=${DEVICE:-cpu}
RUNS=${RUNS:-runs/classroom}
MODELS=${MODELS:-"dgcnn/scalar_frames/pca dgcnn/tensor_frames/pca pointnet2/scalar_frames/pca
pointnet2/tensor_frames/pca gcn/tensor_frames/pca transformer/tensor_frames/pca dgcnn/augment/pca
pointnet2/augment/pca gcn/augment/pca transformer/augment/pca dgcnn/tensor_frames/learned
dgcnn/scalar_frames/learned pointnet2/tensor_frames/learned"}

train_one() {
    IFS=/ read -r arch mode frames <<<"$1"
    out="$RUNS/${arch}_${mode}_${frames}"
    # --no-amp: the same float32 arithmetic as the CPU-trained baselines
    OMP_NUM_THREADS=1 $TF train --arch "$arch" --mode "$mode" --frames "$frames" --epochs "$EPOCHS" \
        --n-train 384 --n-val 28 --n-points 1024 --batch-size 8 --lr 2e-3 --noise 0,0.00125,0.006,0.012 \
        --shapes aligned --device "$DEVICE" --no-amp --out "$out" --quiet $( [ -e "$out/last.pt" ] && echo --resume ) \
        > "$out.log" 2>&1 && $TF export "$out" >> "$out.log" 2>&1 && echo "done $1" || echo "FAILED $1 (see $out.log)"
}
export -f train_one
export EPOCHS TF DEVICE RUNS
mkdir -p "$RUNS"
printf '%s\n' $MODELS | xargs -P "$JOBS" -I{} bash -c 'train_one {}'
