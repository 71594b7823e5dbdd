#!/usr/bin/env bash
# The real services skiff and its tests use, from Debian's packages: etcd (3.4) for the etcd store,
# Docker for the docker runtime, busybox-static for the locally built test image, HAProxy for the HA layout,
# Chromium (headless) for the dashboard's browser test.
set -euo pipefail
source "$(dirname "$0")/lib-apt.sh"
apt_install etcd-server etcd-client docker.io busybox-static haproxy iproute2 procps chromium
