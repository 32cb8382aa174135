#!/usr/bin/env bash
# Stops the test Ceph cluster that scripts/s3-up.sh started and deletes its data directory.
# It signals only the PIDs recorded in DIR/pids/, and only while each of them still runs the
# expected Ceph binary with DIR/ceph.conf, so other Ceph clusters on the machine are untouched.
#
# Environment variables (all optional):
#   BERTH_S3_DIR          data directory, default /tmp/berth-s3
#   BERTH_S3_KEEP_DATA    1 keeps the data directory (logs included) after stopping the daemons
#   BERTH_S3_STOP_SECONDS seconds a daemon may take to exit after SIGTERM before it gets
#                         SIGKILL, default 10
set -euo pipefail

data_dir=${BERTH_S3_DIR:-/tmp/berth-s3}
keep_data=${BERTH_S3_KEEP_DATA:-0}
stop_seconds=${BERTH_S3_STOP_SECONDS:-10}
conf="$data_dir/ceph.conf"
marker="$data_dir/.berth-s3-cluster"

say() {
  printf 's3-down: %s\n' "$*" >&2
}

fail() {
  printf 's3-down: error: %s\n' "$*" >&2
  exit 1
}

[[ $stop_seconds =~ ^[0-9]+$ ]] || fail "invalid BERTH_S3_STOP_SECONDS '$stop_seconds': expected a whole number of seconds"
[[ $keep_data == 0 || $keep_data == 1 ]] || fail "invalid BERTH_S3_KEEP_DATA '$keep_data': expected 0 or 1"
[[ $data_dir == /* && $data_dir != / ]] || fail "invalid BERTH_S3_DIR '$data_dir': expected an absolute path other than /"

if [[ ! -e $data_dir ]]; then
  say "$data_dir does not exist: nothing to stop"
  exit 0
fi
[[ -f $marker ]] || fail "$data_dir has no ${marker##*/} file, so scripts/s3-up.sh did not create it: leaving it alone"

# is_cluster_daemon, shared with the other S3 script.
# shellcheck source=scripts/s3-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3-common.sh"

# Waits up to $3 tenths of a second for process $1 (binary $2) to exit.
wait_for_exit() {
  local pid=$1 binary=$2 tenths=$3 waited
  for ((waited = 0; waited < tenths; waited++)); do
    is_cluster_daemon "$pid" "$binary" || return 0
    sleep 0.1
  done
  ! is_cluster_daemon "$pid" "$binary"
}

# Stops one daemon: SIGTERM, then SIGKILL after the grace period. Returns 1 if it survives both.
# Arguments: short name (the pid file is pids/NAME.pid), binary.
stop_daemon() {
  local binary=$2 pid_file="$data_dir/pids/$1.pid" pid
  [[ -f $pid_file ]] || return 0
  pid=$(cat -- "$pid_file")
  if ! is_cluster_daemon "$pid" "$binary"; then
    say "$binary (PID ${pid:-none}) from $pid_file is not running: skipped"
    rm -f -- "$pid_file"
    return 0
  fi

  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for_exit "$pid" "$binary" $((stop_seconds * 10)); then
    say "$binary (PID $pid) still runs ${stop_seconds} s after SIGTERM: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    if ! wait_for_exit "$pid" "$binary" 50; then
      say "error: $binary (PID $pid) still runs after SIGKILL"
      return 1
    fi
  fi
  say "stopped $binary (PID $pid)"
  rm -f -- "$pid_file"
}

# The gateway goes first, and the OSD stops while the monitor can still record its shutdown.
failed=0
stop_daemon rgw radosgw || failed=1
stop_daemon osd ceph-osd || failed=1
stop_daemon mon ceph-mon || failed=1

if ((failed)); then
  fail "some daemons did not stop, so $data_dir is kept: stop them by hand (PIDs in $data_dir/pids) and run this script again"
fi
if ((keep_data)); then
  say "kept $data_dir"
else
  rm -rf -- "$data_dir"
  say "deleted $data_dir"
fi
