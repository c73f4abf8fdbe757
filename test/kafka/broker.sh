#!/usr/bin/env bash
# Stops, kills, starts or inspects ONE node of a running deployment, for outage and fail-over tests.
#
#   test/kafka/broker.sh stop|kill|start|status ID [--brokers 1|3]
#
# stop: SIGTERM (controlled shutdown: leaderships move first), waits for exit.
# kill: SIGKILL (a crash: the controller fences the node after broker.session.timeout.ms = 6 s).
# start: restarts the node on its existing data and config, waits until it serves clients.
# status: prints "up PID" or "down"; exits 0 either way.
# Without --brokers, the deployment is the started one that has node ID (nodes 2 and 3 exist only
# in the 3-broker cluster); if both deployments have it, --brokers is required.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage="usage: broker.sh stop|kill|start|status ID [--brokers 1|3]"
action="${1:-}"
id="${2:-}"
[ $# -ge 2 ] || die "$usage"
shift 2
brokers=""
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) brokers="${2:-}"; shift 2 ;;
    --brokers=*) brokers="${1#*=}"; shift ;;
    *) die "unknown argument '$1'; $usage" ;;
  esac
done
[[ "$id" =~ ^[1-3]$ ]] || die "node id must be 1, 2 or 3, got '$id'"

if [ -z "$brokers" ]; then
  for n in $(deployments); do
    # A deployment stop.sh stopped keeps its logs but no data: it doesn't count.
    if [ -d "$(node_dir "$n" "$id")/data" ]; then
      [ -z "$brokers" ] || die "both deployments have node $id; pass --brokers 1 or --brokers 3"
      brokers=$n
    fi
  done
  [ -n "$brokers" ] || die "no deployment has node $id; run start.sh first"
fi
case "$brokers" in 1 | 3) ;; *) die "--brokers must be 1 or 3, got '$brokers'" ;; esac
((id <= brokers)) || die "the $brokers-broker deployment has no node $id"
dir="$(node_dir "$brokers" "$id")"
[ -f "$dir/server.properties" ] || die "node $id of the $brokers-broker deployment was never started; run start.sh --brokers $brokers"

case "$action" in
  stop | kill)
    stop_node "$brokers" "$id" "$([ "$action" = kill ] && echo KILL || echo TERM)"
    adopt_cds_archive
    log "node $id ${action/stop/stopp}ed"
    ;;
  start)
    if [ -n "$(live_pid "$brokers" "$id")" ]; then
      log "node $id already running"
      exit 0
    fi
    [ -d "$dir/data" ] || die "node $id has no data (stop.sh deleted it); run start.sh --brokers $brokers"
    from="$(log_size "$brokers" "$id")"
    launch_node "$brokers" "$id"
    wait_ready "$brokers" "$id" "$from" || die "node $id did not come back; see $dir/logs/server.log"
    log "node $id started on 127.0.0.1:$(client_port "$brokers" "$id")"
    ;;
  status)
    pid="$(live_pid "$brokers" "$id")"
    if [ -n "$pid" ]; then echo "up $pid"; else echo "down"; fi
    ;;
  *) die "$usage" ;;
esac
