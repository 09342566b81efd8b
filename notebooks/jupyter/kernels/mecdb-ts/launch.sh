#!/bin/sh
# Starts tslab (notebooks/node_modules) at the repository root, so notebooks import ./src/...
# and ./sim/... (tslab only compiles files under its working directory).
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
cd "$root" || exit 1
exec node "$root/notebooks/node_modules/tslab/bin/tslab" kernel --config-path "$1"
