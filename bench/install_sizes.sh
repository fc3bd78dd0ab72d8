#!/usr/bin/env bash
# Seconds and venv size of each command's install (make's per-command extras), each into a fresh venv.
# pip's cache should be warm (say so beside the figures); writes bench/results/install_sizes.md
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-$(mktemp -d)}
out=bench/results/install_sizes.md
{
  echo "# Install time and venv size per command ($(date -u +%F), $(nproc) cores:" \
       "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); shared, loaded machine; pip cache warm)"
  echo
  echo "| command | extras | seconds | venv size |"
  echo "|---|---|---|---|"
} > "$out"
for pair in "chat:model" "serve:model+api" "bot:model+bot" "bot (http backend):bot" "train:train" "test:dev"; do
  command=${pair%%:*} extras=${pair#*:}
  venv="$work/venv-${extras//+/-}"
  rm -rf "$venv"
  started=$(date +%s)
  make -s VENV="$venv" "$venv/.installed-$extras" > "$work/log-${extras//+/-}.txt" 2>&1
  seconds=$(( $(date +%s) - started ))
  size=$(du -sh "$venv" | cut -f1)
  echo "| make ${command%% *}${command#${command%% *}} | ${extras//+/, } | $seconds | $size |" >> "$out"
  rm -rf "$venv"
done
cat "$out"
