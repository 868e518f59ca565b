#!/usr/bin/env bash
# Training on a Slurm cluster.
#   GPUS=16 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args...]
# Environment: see tools/slurm_launch.sh (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS).
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [tools/train.py arguments...]" >&2
  exit 2
fi
ARGS=("$3")
if [[ $# -gt 3 && $4 != --* ]]; then ARGS+=(--work-dir "$4"); set -- "${@:1:3}" "${@:5}"; fi
exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" train.py "${ARGS[@]}" "${@:4}"
