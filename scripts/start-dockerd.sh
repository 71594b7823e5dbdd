#!/usr/bin/env bash
# Starts dockerd when no Docker daemon answers (machines without systemd, CI). Idempotent.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
log=${DOCKERD_LOG:-/tmp/skiff-dockerd.log}
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  $sudo systemctl start docker || true
fi
if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd (log: $log)"
  # Its own session: a daemon in the caller's process group dies when that group is killed.
  $sudo setsid nohup dockerd >"$log" 2>&1 < /dev/null &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "dockerd did not answer within 30 s; see $log" >&2
exit 1
