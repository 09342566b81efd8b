#!/bin/sh
# Makes the CURVE key pairs of a REPLICAS-node StatefulSet (pods NAME-0..NAME-(REPLICAS-1)) in
# DIR and the public-keys.toml every pod reads, then prints the kubectl commands that store them:
#   examples/kubernetes/make-keys.sh 3 mec keys/
# MEC overrides the command (default `npx mec`). Never overwrites an existing key file.
set -eu
replicas="${1:?usage: make-keys.sh REPLICAS [NAME] [DIR]}"
name="${2:-mec}"
dir="${3:-mec-keys}"
MEC="${MEC:-npx mec}"
mkdir -p "$dir"
: > "$dir/public-keys.toml"
i=0
while [ "$i" -lt "$replicas" ]; do
  key="$dir/$name-$i.key"
  [ -f "$key" ] || $MEC keygen --out "$key" --name "$name-$i" > /dev/null
  printf '"%s" = %s\n' "$name-$i" "$(sed -n 's/^public_key = //p' "$key")" >> "$dir/public-keys.toml"
  i=$((i + 1))
done
echo "kubectl create secret generic $name-curve-keys $(for f in "$dir"/"$name"-*.key; do printf -- '--from-file=%s ' "$f"; done)"
echo "kubectl create configmap $name-public-keys --from-file=public-keys.toml=$dir/public-keys.toml"
