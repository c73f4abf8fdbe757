#!/usr/bin/env bash
# Stops the brokers start.sh started and deletes their data.
#
#   test/kafka/stop.sh [--brokers 1|3]
#
# Without --brokers, stops every deployment. Logs and generated configs stay in
# test/kafka/.run/brokers-N/node-I/ for a post-mortem until the next start.sh.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) targets+=("${2:-}"); shift 2 ;;
    --brokers=*) targets+=("${1#*=}"); shift ;;
    -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
    *) die "unknown argument '$1'; usage: stop.sh [--brokers 1|3]" ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(deployments)

for n in "${targets[@]}"; do
  case "$n" in 1 | 3) ;; *) die "--brokers must be 1 or 3, got '$n'" ;; esac
  dep="$(deployment_dir "$n")"
  [ -d "$dep" ] || continue
  running=0
  for ((i = 1; i <= n; i++)); do [ -n "$(live_pid "$n" "$i")" ] && running=$((running + 1)); done
  # Stop the nodes in parallel; a combined node waits for the others' controller on shutdown.
  pids=()
  for ((i = 1; i <= n; i++)); do
    stop_node "$n" "$i" TERM &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  adopt_cds_archive
  for ((i = 1; i <= n; i++)); do rm -rf "$(node_dir "$n" "$i")/data"; done
  rm -f "$dep/bootstrap"
  [ "$running" -eq 0 ] || log "stopped $running broker(s) of the $n-broker deployment"
done
