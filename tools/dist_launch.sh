#!/usr/bin/env bash
# torchrun for any cityseg tool; dist_train.sh and dist_test.sh are the entry points.
#   bash tools/dist_launch.sh NPROC SCRIPT [script arguments...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# The backend follows the device: NCCL on CUDA, gloo on CPU (see cityseg/utils/launch.py).
set -euo pipefail
NPROC=$1
SCRIPT=$2
shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" "$ROOT/tools/$SCRIPT" "$@" --launcher pytorch
