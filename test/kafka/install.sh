#!/usr/bin/env bash
# Resolves Apache Kafka and its runtime dependencies into test/kafka/lib with Maven (cached in
# ~/.m2). start.sh does this itself; CI runs it as a separate step so the download is timed apart.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_jars
log "Kafka jars ready in $LIB_DIR ($(find "$LIB_DIR" -name '*.jar' | wc -l) jars)"
