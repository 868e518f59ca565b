#!/usr/bin/env bash
# Distributed training with PyTorch's own launcher (torchrun).
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG NPROC [tools/train.py arguments...]" >&2
  exit 2
fi
exec bash "$(dirname "$0")/dist_launch.sh" "$2" train.py "$1" "${@:3}"
