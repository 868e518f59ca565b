#!/usr/bin/env bash
# srun for any cityseg tool: one task per GPU, mmengine reads the SLURM_* variables.
# slurm_train.sh and slurm_test.sh are the entry points.
#   bash tools/slurm_launch.sh PARTITION JOB_NAME SCRIPT [script arguments...]
# Environment: GPUS (total, default 8), GPUS_PER_NODE (default 8), CPUS_PER_TASK (default 5),
# SRUN_ARGS (extra srun arguments).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC2086  # SRUN_ARGS is a list of words
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec srun -p "$PARTITION" --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
    python -u "$ROOT/tools/$SCRIPT" "$@" --launcher slurm
