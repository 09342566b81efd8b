#!/bin/sh
# The simulator's seeds across hosts with GNU parallel over ssh: shard I of N runs on one of
# the hosts (`mec sim --seeds K --shard I/N --json`), its report comes back with --return, and
# `mec sim merge` joins the reports into the report of a single run over the same seeds.
#
#   examples/sim-shards/parallel-ssh.sh --hosts hosts.txt --dir /srv/mecdb --seeds 10000 --shards 8
#   examples/sim-shards/parallel-ssh.sh --local --seeds 200 --shards 2 -- --workers 1
#
# hosts.txt: one ssh login per line (GNU parallel's --sshloginfile: `user@host`, or
# `4/user@host` for 4 jobs at once there). Each host needs Node 20 and a checkout of MecDB in
# --dir with `npm ci` done (and, for `npx mec`, `npm run build`). --local runs the shards on
# this machine instead (no ssh): what the tests run. Arguments after `--` go to every shard
# (e.g. `--bug lww`, `--workers 1`). MEC overrides the command (default `npx mec`).
# Exit: that of `mec sim merge` (0 no failing seed, 1 failing seeds, 2 bad reports); 3 when a
# shard crashed (exit code above 1).
set -eu
hosts="" dir="" seeds=1000 shards=4 out="" local=0
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --shards) shards="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --local) local=1; shift ;;
    --) shift; break ;;
    *) echo "parallel-ssh.sh: unknown argument $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done
MEC="${MEC:-npx mec}"
here=$(pwd)
out="${out:-$here/sim-shards}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/shard-*.json
extra="$*"
# A shard exits 1 when it found failing seeds: that is a report, not an error.
shard_cmd="$MEC sim --seeds $seeds --shard {}/$shards --json --quiet $extra > shard-{}.json; test \$? -le 1"
if [ "$local" = 1 ]; then
  (cd "$out" && parallel --jobs "$shards" --halt now,fail=1 "cd '$here' && $MEC sim --seeds $seeds --shard {}/$shards --json --quiet $extra > '$out/shard-{}.json'; test \$? -le 1" ::: $(seq 1 "$shards")) || exit 3
else
  [ -n "$hosts" ] && [ -n "$dir" ] || { echo "parallel-ssh.sh: give --hosts FILE and --dir REMOTE_CHECKOUT, or --local" >&2; exit 2; }
  hosts=$(cd "$(dirname "$hosts")" && pwd)/$(basename "$hosts")
  (cd "$out" && parallel --sshloginfile "$hosts" --workdir "$dir" --return "shard-{}.json" --cleanup --halt now,fail=1 "$shard_cmd" ::: $(seq 1 "$shards")) || exit 3
fi
$MEC sim merge "$out"/shard-*.json
