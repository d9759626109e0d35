#!/usr/bin/env bash
# supervise.sh NAME COMMAND...: run COMMAND and, whenever it ends without having been asked to
# stop (a crash, an OOM kill, a lost connection it gives up on), log that and start it again after
# a back-off — what compose's `restart: unless-stopped` does, for scripts/run.sh.
#
# Back-off: SUPERVISE_BACKOFF_S (1) before the first restart, doubled after each quick failure up
# to SUPERVISE_BACKOFF_MAX_S (60); a run that lasted SUPERVISE_HEALTHY_S (60) or more starts the
# doubling again from the beginning. A crash-looping process thus costs one start a minute, and a
# process that crashes once a day restarts within a second.
# Log: one line per restart on stderr and, if set, appended to SUPERVISE_LOG.
#
# Stopping: run.sh starts this with setsid, so COMMAND is in this process's group; SIGTERM or
# SIGINT to the group reaches both. This script then only waits for COMMAND and exits with its
# status: it never signals it again (a second SIGTERM would make an RQ worker abandon its job
# instead of finishing it) and never restarts it.
set -u
name="$1"
shift
backoff="${SUPERVISE_BACKOFF_S:-1}"
backoff_max="${SUPERVISE_BACKOFF_MAX_S:-60}"
healthy_s="${SUPERVISE_HEALTHY_S:-60}"
stopping=0
trap 'stopping=1' TERM INT

log() {
    local line
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) supervise $name: $*"
    echo "$line" >&2
    if [ -n "${SUPERVISE_LOG:-}" ]; then echo "$line" >>"$SUPERVISE_LOG"; fi
}

delay="$backoff"
while :; do
    started=$SECONDS
    "$@" &
    child=$!
    while :; do
        wait "$child"
        status=$?
        # wait also returns when a trapped signal arrives: only a gone child ends this loop.
        kill -0 "$child" 2>/dev/null || break
    done
    [ "$stopping" = 1 ] && exit "$status"
    ran=$((SECONDS - started))
    if [ "$ran" -ge "$healthy_s" ]; then delay="$backoff"; fi
    log "exited with status $status after ${ran}s; restarting in ${delay}s"
    sleep "$delay" &
    wait $! 2>/dev/null
    [ "$stopping" = 1 ] && exit 0
    log "restarting"
    delay=$(awk -v d="$delay" -v m="$backoff_max" 'BEGIN { d *= 2; if (d > m) d = m; print d }')
done
