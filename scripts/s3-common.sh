# shellcheck shell=bash disable=SC2154
# Functions shared by scripts/s3-up.sh and scripts/s3-down.sh, which source this file after
# setting $conf to the cluster's ceph.conf. Not meant to be run on its own.

# Succeeds when process $1 runs binary $2 with this cluster's ceph.conf. A recycled PID that
# now belongs to another program fails the check.
is_cluster_daemon() {
  local pid=$1 binary=$2 arg args=()
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "/usr/bin/$binary" ]] || return 1
  mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || return 1
  for arg in "${args[@]}"; do
    [[ $arg == "$conf" ]] && return 0
  done
  return 1
}
