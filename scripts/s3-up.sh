#!/usr/bin/env bash
# Starts a disposable S3 server for berth's tests: a single-node Ceph cluster on 127.0.0.1 with
# one monitor, one OSD that keeps its data in memory (memstore) and the RADOS Gateway (radosgw)
# as the S3 endpoint. It runs no manager daemon and no systemd units, and cephx is off, so the
# cluster must never listen beyond the loopback interface.
#
#   eval "$(bash scripts/s3-up.sh)"    # start the cluster (or reuse it) and export its settings
#   bash scripts/s3-down.sh             # stop it and delete its data directory
#
# Progress and errors go to stderr. Stdout carries only `export` lines: the AWS SDK variables
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3 and the two
# checksum settings) and BERTH_TEST_S3_ENDPOINT. The same lines are written to DIR/env.sh.
# Missing Debian packages are installed with apt-get, which needs root. When the data directory
# already contains a cluster that accepts signed S3 requests, the script only prints the exports.
# A cluster there that is stopped or broken gets its recorded daemons stopped and is rebuilt.
# Buckets from BERTH_S3_BUCKETS are created only when the cluster is built.
#
# Environment variables (all optional):
#   BERTH_S3_DIR           data directory, default /tmp/berth-s3 (s3-down.sh deletes it)
#   BERTH_S3_PORT          S3 port on 127.0.0.1, default 7480
#   BERTH_S3_MON_PORT      monitor port (msgr2) on 127.0.0.1, default 17400
#   BERTH_S3_OSD_PORTS     port range MIN-MAX the OSD binds its 4 ports in, default 17410-17429
#   BERTH_S3_ACCESS_KEY    S3 access key, default berth
#   BERTH_S3_SECRET_KEY    S3 secret key, default berth-secret-key
#   BERTH_S3_BUCKETS       bucket names to create, separated by spaces, default none
#   BERTH_S3_MEMSTORE_MIB  OSD capacity in MiB that memstore reports, default 4096. Memstore
#                          keeps every object in the OSD's memory, so the machine needs the
#                          RAM for all stored data.
#   BERTH_S3_TIMEOUT       seconds the bring-up may take, package installation excluded,
#                          default 120
#
# S3 client settings that radosgw from Ceph 16.2 (pacific, the version in Debian 12) needs:
# - Path-style addressing (forcePathStyle: true). No DNS name is configured for the gateway,
#   so it takes the first path segment as the bucket, and virtual-hosted-style requests
#   (http://bucket.localhost:7480/key) fail.
# - Region us-east-1 in AWS SDK v3. For any other region the SDK adds a LocationConstraint to
#   CreateBucket, and the gateway rejects it with 400 InvalidLocationConstraint because its
#   zonegroup is named "default".
# - Request checksums only when required (requestChecksumCalculation and
#   responseChecksumValidation set to WHEN_REQUIRED, which the exported AWS_* variables do for
#   SDK v3). Since 3.729.0 the SDK adds CRC32 checksums by default and sends stream bodies as
#   aws-chunked uploads with a trailer, which this radosgw rejects with 411 MissingContentLength.
# - Every part of a multipart upload except the last must be at least 5 MiB. The gateway
#   reports EntityTooSmall only when the upload is completed.
# - Stream uploads need a known content length (ContentLength). Without it the gateway answers
#   411 MissingContentLength.
# - A presigned URL is valid only for the host it was signed for, because the Host header is
#   part of the signature. A URL signed for 127.0.0.1 fails with 403 SignatureDoesNotMatch
#   when fetched through localhost.
set -Eeuo pipefail

data_dir=${BERTH_S3_DIR:-/tmp/berth-s3}
s3_port=${BERTH_S3_PORT:-7480}
mon_port=${BERTH_S3_MON_PORT:-17400}
osd_ports=${BERTH_S3_OSD_PORTS:-17410-17429}
access_key=${BERTH_S3_ACCESS_KEY:-berth}
secret_key=${BERTH_S3_SECRET_KEY:-berth-secret-key}
buckets=${BERTH_S3_BUCKETS:-}
memstore_mib=${BERTH_S3_MEMSTORE_MIB:-4096}
timeout_seconds=${BERTH_S3_TIMEOUT:-120}

region=us-east-1
s3_user=berth
endpoint="http://127.0.0.1:${s3_port}"
conf="$data_dir/ceph.conf"
log_dir="$data_dir/log"
pid_dir="$data_dir/pids"
# Marks a data directory as built by this script. s3-down.sh deletes only directories with it.
marker="$data_dir/.berth-s3-cluster"
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
packages=(ceph-mon ceph-osd radosgw ceph-common curl iproute2)

# The exit handler stops the daemons when building is 1 and bring_up_done is still 0, which
# means the script exits after it started building the cluster but before S3 was ready.
bring_up_done=0
building=0
deadline=0

say() {
  printf 's3-up: %s\n' "$*" >&2
}

# Prints an error and the end of each named log file, then exits. The exit handler stops the
# daemons this run started.
fail() {
  local message=$1 file
  shift
  printf 's3-up: error: %s\n' "$message" >&2
  for file in "$@"; do
    if [[ -s $file ]]; then
      printf -- '--- last lines of %s ---\n' "$file" >&2
      tail -n 20 -- "$file" >&2
    fi
  done
  exit 1
}

on_error() {
  printf 's3-up: error: command failed (exit status %s) at line %s: %s\n' "$1" "$2" "$3" >&2
}

on_exit() {
  local status=$?
  if ((building && !bring_up_done)); then
    say "bring-up failed, so stopping the daemons it started. Logs stay in $log_dir until bash scripts/s3-down.sh deletes them."
    BERTH_S3_DIR=$data_dir BERTH_S3_KEEP_DATA=1 bash "$script_dir/s3-down.sh" || true
  fi
  exit "$status"
}

trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

is_whole_number() {
  [[ $1 =~ ^[0-9]+$ ]]
}

check_settings() {
  local port
  for port in "$s3_port" "$mon_port"; do
    if ! is_whole_number "$port" || ((port < 1 || port > 65535)); then
      fail "invalid port '$port' in BERTH_S3_PORT or BERTH_S3_MON_PORT: expected a number from 1 to 65535"
    fi
  done
  if ! [[ $osd_ports =~ ^([0-9]+)-([0-9]+)$ ]] || ((BASH_REMATCH[2] - BASH_REMATCH[1] < 3 || BASH_REMATCH[2] > 65535)); then
    fail "invalid BERTH_S3_OSD_PORTS '$osd_ports': expected MIN-MAX with room for at least 4 ports, such as 17410-17429"
  fi
  if ((mon_port >= BASH_REMATCH[1] && mon_port <= BASH_REMATCH[2])); then
    fail "BERTH_S3_MON_PORT $mon_port lies inside BERTH_S3_OSD_PORTS $osd_ports: choose ports that do not overlap"
  fi
  if ! is_whole_number "$memstore_mib" || ((memstore_mib < 256)); then
    fail "invalid BERTH_S3_MEMSTORE_MIB '$memstore_mib': expected a number of MiB, at least 256"
  fi
  if ! is_whole_number "$timeout_seconds" || ((timeout_seconds < 1)); then
    fail "invalid BERTH_S3_TIMEOUT '$timeout_seconds': expected a positive number of seconds"
  fi
  [[ $data_dir == /* && $data_dir != / ]] \
    || fail "invalid BERTH_S3_DIR '$data_dir': expected an absolute path other than /"
  [[ $access_key =~ ^[A-Za-z0-9._-]+$ ]] \
    || fail "invalid BERTH_S3_ACCESS_KEY: use letters, digits, dots, underscores and hyphens"
  [[ -n $secret_key ]] || fail "BERTH_S3_SECRET_KEY is empty"
  local bucket
  for bucket in $buckets; do
    [[ $bucket =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] \
      || fail "invalid bucket name '$bucket' in BERTH_S3_BUCKETS: expected 3 to 63 lower-case letters, digits, dots and hyphens"
  done
  [[ -f $script_dir/s3-down.sh ]] || fail "missing $script_dir/s3-down.sh, which this script uses to stop daemons"
}

install_missing_packages() {
  local package missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0

  if (($(id -u) != 0)); then
    fail "missing Debian packages: ${missing[*]}. Install them as root (apt-get install -y ${missing[*]}) or run this script as root."
  fi
  say "installing ${missing[*]} with apt-get"
  local started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have empty or outdated package lists, so refresh them first.
  apt-get update -qq -o DPkg::Lock::Timeout=120 >&2 \
    || fail "apt-get update failed: check the apt sources and network access to the Debian mirror"
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 "${missing[@]}" >&2 \
    || fail "apt-get install -y ${missing[*]} failed: see the apt output above"
  say "installed the packages in $((SECONDS - started)) s"
}

recorded_pid() {
  cat -- "$pid_dir/$1.pid" 2>/dev/null || true
}

# is_cluster_daemon, shared with the other S3 script.
# shellcheck source=scripts/s3-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3-common.sh"

# Sends an S3 request signed with SigV4 by curl. Arguments: method, path, then curl options.
s3_request() {
  local method=$1 path=$2
  shift 2
  # curl 7.88 hashes the payload into the signature but does not send x-amz-content-sha256,
  # which radosgw requires, so declare the payload unsigned.
  curl --silent --show-error --fail --max-time 30 --request "$method" \
    --aws-sigv4 "aws:amz:${region}:s3" --user "${access_key}:${secret_key}" \
    --header 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$endpoint$path"
}

s3_answers_anonymous() {
  [[ $(curl --silent --output /dev/null --max-time 3 --write-out '%{http_code}' "$endpoint/" 2>/dev/null) == 200 ]]
}

cluster_is_healthy() {
  [[ -f $marker ]] || return 1
  is_cluster_daemon "$(recorded_pid mon)" ceph-mon || return 1
  is_cluster_daemon "$(recorded_pid osd)" ceph-osd || return 1
  is_cluster_daemon "$(recorded_pid rgw)" radosgw || return 1
  s3_request GET / --output /dev/null 2>/dev/null
}

port_in_use() {
  [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# Makes sure the data directory is free for a new cluster. A stale cluster of this script is
# stopped and deleted, and a non-empty directory without the marker file is rejected.
clear_data_dir() {
  [[ -e $data_dir ]] || return 0
  if [[ -f $marker ]]; then
    say "the cluster in $data_dir is stopped or does not answer on $endpoint: stopping its recorded daemons and rebuilding it"
    BERTH_S3_DIR=$data_dir bash "$script_dir/s3-down.sh" \
      || fail "could not stop the stale cluster in $data_dir: stop its daemons by hand, then run bash scripts/s3-down.sh"
  elif [[ -n $(ls -A -- "$data_dir") ]]; then
    fail "$data_dir is not empty and was not created by this script: remove it or set BERTH_S3_DIR to another directory"
  fi
}

write_config() {
  cat >"$conf" <<EOF
# Written by berth's scripts/s3-up.sh for a disposable test cluster.
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
ms bind port min = ${osd_ports%-*}
ms bind port max = ${osd_ports#*-}
auth cluster required = none
auth service required = none
auth client required = none
# radosgw requests a "secure" monitor session by default, which needs cephx, so allow crc.
ms mon client mode = crc
keyring = $data_dir/keyring
run dir = $data_dir/run
admin socket = $data_dir/run/\$name.asok
crash dir = $data_dir/crash
log file = $log_dir/\$name.log
# One OSD stores every replica. radosgw creates 7 pools, and 8 PGs each instead of the default
# 32 keep the OSD at 56 PGs, far below the 250 it accepts (mon max pg per osd).
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
# Commit monitor updates (pool creation, OSD boot) within 50 ms instead of batching them for 1 s.
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $data_dir/mon
mon cluster log file = $log_dir/mon-cluster.log
# The monitor shuts itself down when its disk has less than 5 % free, which a test cluster need not do.
mon data avail crit = 0

[osd]
osd data = $data_dir/osd
osd objectstore = memstore
memstore device bytes = $((memstore_mib * 1024 * 1024))

[client.rgw.berth]
rgw frontends = beast endpoint=127.0.0.1:$s3_port
rgw data = $data_dir/rgw
# Memstore keeps deleted objects in RAM until garbage collection frees them, which by default
# waits 2 hours. Collect them after about a minute.
rgw gc obj min wait = 60
rgw gc processor period = 60
EOF
}

# Starts a Ceph daemon in the foreground in its own session and records its PID under pids/.
# Arguments: short name (mon, osd, rgw), binary, then its arguments.
start_daemon() {
  local name=$1 binary=$2 pid
  shift 2
  # Job control is off in scripts, so the background child is no process group leader and
  # setsid execs the daemon in place. That makes $! the daemon's own PID.
  setsid "$binary" "$@" -f </dev/null >>"$log_dir/$name.out" 2>&1 &
  pid=$!
  echo "$pid" >"$pid_dir/$name.pid"
  local attempt
  for ((attempt = 0; attempt < 50; attempt++)); do
    is_cluster_daemon "$pid" "$binary" && return 0
    sleep 0.05
  done
  fail "$binary did not start (PID $pid)" "$log_dir/$name.out"
}

# Runs a check until it succeeds. Arguments: description, short daemon name, binary, log file,
# then the check command. Fails when the daemon exits or the bring-up deadline passes.
wait_for() {
  local description=$1 name=$2 binary=$3 log_file=$4
  shift 4
  until "$@" >/dev/null 2>&1; do
    is_cluster_daemon "$(recorded_pid "$name")" "$binary" \
      || fail "$binary exited while waiting for $description" "$log_dir/$name.out" "$log_file"
    ((SECONDS < deadline)) \
      || fail "timed out after ${timeout_seconds} s waiting for $description (raise BERTH_S3_TIMEOUT if the machine is slow)" "$log_file"
    sleep 0.2
  done
}

ceph_cli() {
  timeout 20 ceph -c "$conf" --connect-timeout 10 "$@"
}

osd_is_up() {
  ceph_cli osd stat --format json | grep -q '"num_up_osds":1[,}]'
}

start_monitor() {
  say "starting the monitor on 127.0.0.1:$mon_port"
  ceph-authtool --create-keyring "$data_dir/keyring" --gen-key -n mon. --cap mon 'allow *' >>"$log_dir/mon.out" 2>&1 \
    || fail "ceph-authtool could not create the monitor keyring" "$log_dir/mon.out"
  monmaptool --create --fsid "$(sed -n 's/^fsid = //p' "$conf")" --addv berth "[v2:127.0.0.1:$mon_port]" \
    "$data_dir/monmap" >>"$log_dir/mon.out" 2>&1 \
    || fail "monmaptool could not create the monitor map" "$log_dir/mon.out"
  ceph-mon -c "$conf" -i berth --mkfs --monmap "$data_dir/monmap" --keyring "$data_dir/keyring" \
    >>"$log_dir/mon.out" 2>&1 \
    || fail "ceph-mon --mkfs failed" "$log_dir/mon.out" "$log_dir/mon.berth.log"
  start_daemon mon ceph-mon -c "$conf" -i berth
  wait_for "the monitor to answer" mon ceph-mon "$log_dir/mon.berth.log" ceph_cli mon stat
}

start_osd() {
  say "starting the OSD (memstore, ${memstore_mib} MiB)"
  local uuid osd_id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(ceph_cli osd new "$uuid" 2>>"$log_dir/osd.out") \
    || fail "ceph osd new failed" "$log_dir/osd.out"
  [[ $osd_id == 0 ]] || fail "ceph osd new returned OSD id '$osd_id', expected 0 in a new cluster"
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$uuid" >>"$log_dir/osd.out" 2>&1 \
    || fail "ceph-osd --mkfs failed" "$log_dir/osd.out" "$log_dir/osd.0.log"
  start_daemon osd ceph-osd -c "$conf" -i 0
  wait_for "the OSD to be up" osd ceph-osd "$log_dir/osd.0.log" osd_is_up
}

start_gateway() {
  say "starting radosgw on $endpoint"
  # On its first start radosgw creates its pools and the default realm, zonegroup and zone.
  start_daemon rgw radosgw -c "$conf" -n client.rgw.berth
  wait_for "S3 on $endpoint" rgw radosgw "$log_dir/client.rgw.berth.log" s3_answers_anonymous
}

create_s3_user() {
  say "creating the S3 user '$s3_user' with access key '$access_key'"
  timeout 60 radosgw-admin -c "$conf" user create --uid="$s3_user" --display-name="berth tests" \
    --access-key="$access_key" --secret-key="$secret_key" >/dev/null 2>>"$log_dir/radosgw-admin.out" \
    || fail "radosgw-admin user create failed" "$log_dir/radosgw-admin.out"
  wait_for "a signed ListBuckets request to succeed" rgw radosgw "$log_dir/client.rgw.berth.log" \
    s3_request GET / --output /dev/null
}

# Creates and deletes a bucket, an object and a multipart upload. radosgw creates its index,
# data and multipart pools on first use. Without this warm-up the first test requests wait for
# that pool creation.
warm_up() {
  say "warming up: bucket, object and multipart upload"
  local bucket="berth-s3-warmup-$$" upload_id
  exec 3>>"$log_dir/warm-up.out"
  s3_request PUT "/$bucket" --output /dev/null 2>&3 \
    || fail "warm-up: CreateBucket $bucket failed" "$log_dir/warm-up.out"
  s3_request PUT "/$bucket/object" --data-binary 'warm-up' --output /dev/null 2>&3 \
    || fail "warm-up: PutObject failed" "$log_dir/warm-up.out"
  upload_id=$(s3_request POST "/$bucket/multipart?uploads=" 2>&3 | sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p') \
    || fail "warm-up: CreateMultipartUpload failed" "$log_dir/warm-up.out"
  [[ $upload_id =~ ^[A-Za-z0-9._~-]+$ ]] \
    || fail "warm-up: CreateMultipartUpload returned no usable UploadId ('$upload_id')" "$log_dir/warm-up.out"
  s3_request PUT "/$bucket/multipart?partNumber=1&uploadId=$upload_id" --data-binary 'part' --output /dev/null 2>&3 \
    || fail "warm-up: UploadPart failed" "$log_dir/warm-up.out"
  s3_request DELETE "/$bucket/multipart?uploadId=$upload_id" --output /dev/null 2>&3 \
    || fail "warm-up: AbortMultipartUpload failed" "$log_dir/warm-up.out"
  s3_request DELETE "/$bucket/object" --output /dev/null 2>&3 \
    || fail "warm-up: DeleteObject failed" "$log_dir/warm-up.out"
  s3_request DELETE "/$bucket" --output /dev/null 2>&3 \
    || fail "warm-up: DeleteBucket $bucket failed" "$log_dir/warm-up.out"
  exec 3>&-
}

create_buckets() {
  local bucket
  for bucket in $buckets; do
    say "creating bucket $bucket"
    s3_request PUT "/$bucket" --output /dev/null 2>>"$log_dir/buckets.out" \
      || fail "CreateBucket $bucket failed" "$log_dir/buckets.out" "$log_dir/client.rgw.berth.log"
  done
}

print_exports() {
  {
    printf 'export %s=%q\n' \
      AWS_ACCESS_KEY_ID "$access_key" \
      AWS_SECRET_ACCESS_KEY "$secret_key" \
      AWS_REGION "$region" \
      AWS_ENDPOINT_URL_S3 "$endpoint" \
      AWS_REQUEST_CHECKSUM_CALCULATION WHEN_REQUIRED \
      AWS_RESPONSE_CHECKSUM_VALIDATION WHEN_REQUIRED \
      BERTH_TEST_S3_ENDPOINT "$endpoint"
  } | tee "$data_dir/env.sh"
}

main() {
  check_settings
  install_missing_packages

  if cluster_is_healthy; then
    say "the cluster in $data_dir answers on $endpoint: reusing it"
    print_exports
    exit 0
  fi

  clear_data_dir
  local port
  for port in "$s3_port" "$mon_port"; do
    if port_in_use "$port"; then
      fail "port $port on this machine is already in use (see ss -ltnp 'sport = :$port'): set BERTH_S3_PORT or BERTH_S3_MON_PORT to a free port"
    fi
  done

  deadline=$((SECONDS + timeout_seconds))
  local started=$SECONDS
  mkdir -p -- "$data_dir"
  touch -- "$marker"
  mkdir -p -- "$data_dir/mon" "$data_dir/osd" "$data_dir/rgw" "$data_dir/run" "$data_dir/crash" "$log_dir" "$pid_dir"
  building=1
  write_config

  start_monitor
  start_osd
  start_gateway
  create_s3_user
  warm_up
  create_buckets
  bring_up_done=1

  say "S3 is ready on $endpoint after $((SECONDS - started)) s (PIDs: mon $(recorded_pid mon), osd $(recorded_pid osd), rgw $(recorded_pid rgw))"
  print_exports
}

main "$@"
