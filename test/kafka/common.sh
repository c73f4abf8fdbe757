# shellcheck shell=bash
# Shared by start.sh, stop.sh, broker.sh and install.sh. Not meant to be run on its own.
#
# Layout of a running deployment (N = 1 or 3 brokers):
#   $RUN_DIR/brokers-N/cluster-id          KRaft cluster id used to format storage
#   $RUN_DIR/brokers-N/bootstrap           bootstrap address, e.g. 127.0.0.1:19092
#   $RUN_DIR/brokers-N/node-I/server.properties   generated config (config/*.properties + node lines)
#   $RUN_DIR/brokers-N/node-I/pid          pid of the broker JVM
#   $RUN_DIR/brokers-N/node-I/data/        log.dirs (formatted by start.sh)
#   $RUN_DIR/brokers-N/node-I/logs/        server.log, state-change.log, stdout.log (JVM output)
#   $RUN_DIR/brokers-1/tls/                throw-away CA, server and client certificates (PEM; single broker)

set -euo pipefail

KAFKA_HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB_DIR="$KAFKA_HOME_DIR/lib"
CONFIG_DIR="$KAFKA_HOME_DIR/config"
RUN_DIR="${VIGIL_KAFKA_RUN_DIR:-$KAFKA_HOME_DIR/.run}"
JAVA="${JAVA:-java}"
# Heap per broker JVM. Kafka mostly lives in the page cache; 512 MiB is plenty for tests.
HEAP_OPTS="${VIGIL_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
READY_TIMEOUT_S="${VIGIL_KAFKA_READY_TIMEOUT_S:-90}"
STOP_TIMEOUT_S="${VIGIL_KAFKA_STOP_TIMEOUT_S:-20}"

log() { printf '[kafka] %s\n' "$*" >&2; }
die() {
  printf '[kafka] error: %s\n' "$*" >&2
  exit 1
}

# Ports: single broker 19092 (clients) / 19093 (controller);
# cluster node I (1..3) 19190+I (clients) / 19290+I (controller).
client_port() { if [ "$1" = 1 ]; then echo 19092; else echo $((19190 + $2)); fi; }
controller_port() { if [ "$1" = 1 ]; then echo 19093; else echo $((19290 + $2)); fi; }

# The single broker also listens with SASL/SCRAM and with TLS (see security_lines and the README).
SASL_PORT=19094
SSL_PORT=19095
# Every port of node I that serves clients (wait_ready and the "already running" check probe them).
listener_ports() { if [ "$1" = 1 ]; then echo "19092 $SASL_PORT $SSL_PORT"; else client_port "$1" "$2"; fi; }
# SCRAM users of the single broker, created at format time for SCRAM-SHA-256 and -512: name:password.
# admin is a super user; the others may do only what the ACLs a test creates allow.
SCRAM_USERS=(admin:admin-secret gateway:gateway-secret restricted:restricted-secret)

deployment_dir() { echo "$RUN_DIR/brokers-$1"; }
node_dir() { echo "$RUN_DIR/brokers-$1/node-$2"; }

bootstrap_of() {
  local n=$1 i out=""
  for ((i = 1; i <= n; i++)); do out+="${out:+,}127.0.0.1:$(client_port "$n" "$i")"; done
  echo "$out"
}

# Resolve Kafka and its runtime dependencies into lib/ with Maven (jars are cached in ~/.m2).
# Skipped when lib/ was filled from the same pom.xml.
ensure_jars() {
  local sum stamp="$LIB_DIR/.pom.sha256"
  sum="$(sha256sum "$KAFKA_HOME_DIR/pom.xml" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found; install Maven 3 (apt-get install maven)"
  log "resolving Apache Kafka with Maven (first run downloads ~100 MB into ~/.m2)"
  rm -rf "$KAFKA_HOME_DIR/lib.tmp"
  mvn -q -B -Dstyle.color=never -f "$KAFKA_HOME_DIR/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME_DIR/lib.tmp" ||
    die "Maven could not resolve Kafka (see output above); is Maven Central reachable?"
  rm -rf "$LIB_DIR"
  mv "$KAFKA_HOME_DIR/lib.tmp" "$LIB_DIR"
  echo "$sum" >"$stamp"
}

# Class data sharing: the first broker JVM dumps the classes it loaded into an archive when it exits
# (lib/kafka.jsa; lib/ is rebuilt when pom.xml changes, so the archive follows the jars); later JVMs
# map it instead of loading and verifying ~5,000 classes, which cuts startup on a busy 2-core box.
# VIGIL_KAFKA_CDS=0 turns it off. A stale or broken archive only makes the JVM warn and load
# classes the slow way.
CDS_ARCHIVE="$LIB_DIR/kafka.jsa"
CDS_OPTS=()
cds_for() {
  CDS_OPTS=()
  [ "${VIGIL_KAFKA_CDS:-1}" = 1 ] || return 0
  if [ -f "$CDS_ARCHIVE" ]; then
    CDS_OPTS=(-XX:SharedArchiveFile="$CDS_ARCHIVE" -Xlog:cds=off -Xlog:cds+dynamic=off)
  elif [ "$1" = dump ]; then
    CDS_OPTS=(-XX:ArchiveClassesAtExit="$2" -Xlog:cds=off -Xlog:cds+dynamic=off)
  fi
}

# Keeps the first complete archive a stopped broker dumped (see cds_for).
adopt_cds_archive() {
  local f
  for f in "$LIB_DIR"/kafka-node-*.jsa.tmp; do
    [ -f "$f" ] || continue
    if [ ! -f "$CDS_ARCHIVE" ] && [ -s "$f" ]; then mv "$f" "$CDS_ARCHIVE"; else rm -f "$f"; fi
  done
}

# Sets JAVA_CMD to the command line running Kafka main class $2 with node logs in directory $1.
java_cmd() {
  local logs=$1 main=$2
  shift 2
  # shellcheck disable=SC2206 # HEAP_OPTS is a list of JVM flags
  JAVA_CMD=("$JAVA" $HEAP_OPTS "${CDS_OPTS[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$CONFIG_DIR/log4j2.properties" -Dkafka.logs.dir="$logs"
    -cp "$LIB_DIR/*" "$main" "$@")
}

# pid of node I if its JVM is alive (and really is that node, not a reused pid), else empty.
live_pid() {
  local dir pid
  dir="$(node_dir "$1" "$2")"
  [ -f "$dir/pid" ] || return 0
  pid="$(cat "$dir/pid")"
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/server.properties"; then
    echo "$pid"
  fi
}

# Launches node I in the background (storage must be formatted already) and records its pid.
launch_node() {
  local n=$1 i=$2 dir pid
  dir="$(node_dir "$n" "$i")"
  mkdir -p "$dir/logs"
  cds_for dump "$LIB_DIR/kafka-node-$n-$i.jsa.tmp"
  java_cmd "$dir/logs" kafka.Kafka "$dir/server.properties"
  # setsid: the broker gets its own session, so a Ctrl-C in the shell or test runner that started
  # it doesn't take it down half-way; stop.sh / broker.sh stop it by pid. (A background job of a
  # script is no process-group leader, so setsid execs in place and $! is the JVM's pid.)
  setsid "${JAVA_CMD[@]}" </dev/null >>"$dir/logs/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/pid"
}

# Waits until node I logged "Kafka Server started" (after byte offset $3 of server.log; it waits
# for the broker to be unfenced) and accepts TCP connections on every client listener.
wait_ready() {
  local n=$1 i=$2 from=$3 dir deadline
  dir="$(node_dir "$n" "$i")"
  deadline=$((SECONDS + READY_TIMEOUT_S))
  while :; do
    if [ -z "$(live_pid "$n" "$i")" ]; then
      log "node $i exited during startup; last lines of $dir/logs:"
      tail -n 30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2 2>/dev/null || true
      return 1
    fi
    if [ -f "$dir/logs/server.log" ] &&
      tail -c "+$((from + 1))" "$dir/logs/server.log" | grep -q 'Kafka Server started' &&
      accepts_all "$n" "$i"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "node $i not ready after ${READY_TIMEOUT_S}s; see $dir/logs/server.log"
      return 1
    fi
    sleep 0.2
  done
}

# Writes a throw-away CA and certificates into directory $1 (all PEM, keys unencrypted PKCS#8):
#   ca.pem            the CA the broker's certificate chains to (clients trust this one)
#   server.pem        the broker's key + certificate (SAN IP:127.0.0.1, DNS:localhost), ssl.keystore
#   client.crt/.key   a client certificate (CN=gateway-tls, principal User:gateway-tls) for mutual TLS
#   other-ca.pem      a second CA that signed nothing here (for wrong-CA tests)
# EC P-256 keys: a few milliseconds each; valid for 30 days.
make_tls() {
  local dir=$1 ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  command -v openssl >/dev/null || die "openssl not found; the single broker's TLS listener needs it (apt-get install openssl)"
  mkdir -p "$dir"
  (
    cd "$dir"
    local ca_ext=(-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 30 -subj '/CN=Vigil test CA' "${ca_ext[@]}"
    openssl req -x509 "${ec[@]}" -keyout other-ca.key -out other-ca.pem -days 30 \
      -subj '/CN=Vigil untrusted test CA' "${ca_ext[@]}"
    openssl req -new "${ec[@]}" -keyout server.key -out server.csr -subj '/CN=localhost'
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" -days 30 \
      -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n') -out server.crt
    cat server.key server.crt >server.pem
    openssl req -new "${ec[@]}" -keyout client.key -out client.csr -subj '/CN=gateway-tls'
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" -days 30 \
      -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out client.crt
    rm -f ./*.csr
  ) >"$dir/openssl.log" 2>&1 || {
    cat "$dir/openssl.log" >&2
    die "generating the test certificates with openssl failed"
  }
}

# The node-specific lines of the single broker's extra listeners (static settings: single.properties).
security_lines() {
  local dep=$1
  printf 'listener.name.ssl.ssl.keystore.location=%s\n' "$dep/tls/server.pem"
  printf 'listener.name.ssl.ssl.truststore.location=%s\n' "$dep/tls/ca.pem"
}

# StorageTool arguments creating SCRAM_USERS for both mechanisms.
scram_args() {
  local u mech
  for u in "${SCRAM_USERS[@]}"; do
    for mech in SCRAM-SHA-256 SCRAM-SHA-512; do printf '%s\n' --add-scram "$mech=[name=${u%%:*},password=${u#*:}]"; done
  done
}

# Whether node I accepts TCP connections on every client listener.
accepts_all() {
  local port
  for port in $(listener_ports "$1" "$2"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  done
}

log_size() {
  local f
  f="$(node_dir "$1" "$2")/logs/server.log"
  if [ -f "$f" ]; then stat -c %s "$f"; else echo 0; fi
}

# Sends $3 (TERM or KILL) to node I and waits for it to exit; escalates TERM to KILL after
# STOP_TIMEOUT_S. Removes the pid file.
stop_node() {
  local n=$1 i=$2 sig=${3:-TERM} pid deadline
  pid="$(live_pid "$n" "$i")"
  if [ -n "$pid" ]; then
    kill "-$sig" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT_S))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        log "node $i (pid $pid) did not stop within ${STOP_TIMEOUT_S}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
      fi
      sleep 0.1
    done
  fi
  rm -f "$(node_dir "$n" "$i")/pid"
  [ "$sig" = KILL ] && rm -f "$LIB_DIR/kafka-node-$n-$i.jsa.tmp" # a killed JVM dumps nothing
  return 0
}

# Number of brokers (1 or 3) of a deployment directory name, or empty.
deployments() {
  local d
  for d in "$RUN_DIR"/brokers-*; do [ -d "$d" ] && echo "${d##*-}"; done
  return 0
}
