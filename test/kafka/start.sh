#!/usr/bin/env bash
# Starts a local Apache Kafka (KRaft) for tests and development and prints its bootstrap address.
#
#   test/kafka/start.sh [--brokers 1|3]
#
# --brokers 1 (default): one node; prints 127.0.0.1:19092. Its listeners:
#   127.0.0.1:19092  PLAINTEXT, no authentication: principal User:ANONYMOUS, a super user
#   127.0.0.1:19094  SASL_PLAINTEXT, SCRAM-SHA-256 and SCRAM-SHA-512; users (name:password)
#                    admin:admin-secret (super user), gateway:gateway-secret, restricted:restricted-secret
#   127.0.0.1:19095  SSL, mutual TLS (ssl.client.auth=required); the certificates are generated into
#                    test/kafka/.run/brokers-1/tls/: ca.pem, server.pem, client.crt/client.key
#                    (principal User:gateway-tls), other-ca.pem (an untrusted CA)
#   StandardAuthorizer, allow.everyone.if.no.acl.found=false: gateway, restricted and gateway-tls
#   may do nothing until a test grants them ACLs (over 19092).
# --brokers 3: three nodes on 127.0.0.1:19191,19192,19193 (replication factor 3, min ISR 2),
#   PLAINTEXT only, no authorizer.
# Each node is broker and controller. Storage is formatted afresh on every start, so a run never
# sees the previous run's topics. If the deployment is already up, it just prints the address.
# The only line on stdout is the bootstrap address; progress goes to stderr.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

brokers=1
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) brokers="${2:-}"; shift 2 ;;
    --brokers=*) brokers="${1#*=}"; shift ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown argument '$1'; usage: start.sh [--brokers 1|3]" ;;
  esac
done
case "$brokers" in 1 | 3) ;; *) die "--brokers must be 1 or 3, got '$brokers'" ;; esac

command -v "$JAVA" >/dev/null || die "java not found; Kafka 4 needs Java 17 or newer"
ensure_jars

dep="$(deployment_dir "$brokers")"
alive=0
for ((i = 1; i <= brokers; i++)); do [ -n "$(live_pid "$brokers" "$i")" ] && alive=$((alive + 1)); done
# A single broker started by an older start.sh lacks the SASL and TLS listeners: restart it.
if [ "$brokers" = 1 ] && [ "$alive" -eq 1 ] && [ -f "$dep/bootstrap" ] && ! accepts_all 1 1; then
  log "the running broker does not serve every listener ($(listener_ports 1 1)); restarting it"
  stop_node 1 1 TERM
  adopt_cds_archive
  alive=0
fi
if [ "$alive" -eq "$brokers" ] && [ -f "$dep/bootstrap" ]; then
  log "already running ($brokers broker(s))"
  cat "$dep/bootstrap"
  exit 0
fi
if [ "$alive" -gt 0 ]; then
  log "$alive of $brokers node(s) running from an earlier start; restarting all"
  for ((i = 1; i <= brokers; i++)); do stop_node "$brokers" "$i" KILL; done
fi

started=$SECONDS
rm -rf "$dep"
mkdir -p "$dep"

# A KRaft cluster id is 16 random bytes, base64url without padding (what `kafka-storage.sh
# random-uuid` prints); one starting with '-' would read as an option, so draw again.
cluster_id=""
until [ -n "$cluster_id" ] && [ "${cluster_id:0:1}" != "-" ]; do
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
done
echo "$cluster_id" >"$dep/cluster-id"

voters=""
for ((i = 1; i <= brokers; i++)); do voters+="${voters:+,}$i@127.0.0.1:$(controller_port "$brokers" "$i")"; done
profile="$CONFIG_DIR/single.properties"
[ "$brokers" = 3 ] && profile="$CONFIG_DIR/cluster.properties"
format_args=()
if [ "$brokers" = 1 ]; then
  make_tls "$dep/tls"
  mapfile -t format_args < <(scram_args)
fi

pids=()
for ((i = 1; i <= brokers; i++)); do
  dir="$(node_dir "$brokers" "$i")"
  mkdir -p "$dir/data" "$dir/logs"
  {
    cat "$CONFIG_DIR/common.properties" "$profile"
    printf '\n# node-specific, written by start.sh\n'
    printf 'node.id=%s\n' "$i"
    if [ "$brokers" = 1 ]; then
      extra=",SASL_PLAINTEXT://127.0.0.1:$SASL_PORT,SSL://127.0.0.1:$SSL_PORT"
      security_lines "$dep"
    else
      extra=""
    fi
    printf 'listeners=PLAINTEXT://127.0.0.1:%s,CONTROLLER://127.0.0.1:%s%s\n' \
      "$(client_port "$brokers" "$i")" "$(controller_port "$brokers" "$i")" "$extra"
    printf 'advertised.listeners=PLAINTEXT://127.0.0.1:%s%s\n' "$(client_port "$brokers" "$i")" "$extra"
    printf 'controller.quorum.voters=%s\n' "$voters"
    printf 'log.dirs=%s\n' "$dir/data"
  } >"$dir/server.properties"
  # Format storage (what `kafka-storage.sh format` does); the nodes format in parallel.
  cds_for use
  java_cmd "$dir/logs" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    "${format_args[@]}"
  "${JAVA_CMD[@]}" >"$dir/logs/format.log" 2>&1 &
  pids+=($!)
done
for ((i = 1; i <= brokers; i++)); do
  wait "${pids[$((i - 1))]}" || {
    cat "$(node_dir "$brokers" "$i")/logs/format.log" >&2
    die "formatting storage of node $i failed"
  }
done

for ((i = 1; i <= brokers; i++)); do launch_node "$brokers" "$i"; done
for ((i = 1; i <= brokers; i++)); do
  wait_ready "$brokers" "$i" 0 || {
    for ((j = 1; j <= brokers; j++)); do stop_node "$brokers" "$j" KILL; done
    die "Kafka did not start; logs are in $dep/node-*/logs"
  }
done

bootstrap_of "$brokers" >"$dep/bootstrap"
log "$brokers broker(s) ready in $((SECONDS - started))s; logs in $dep/node-*/logs"
cat "$dep/bootstrap"
