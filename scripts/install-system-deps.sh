#!/usr/bin/env bash
# Installs the Debian packages the suite drives for real: nginx and haproxy (traffic switches), podman + runc
# (a Docker-compatible engine), openssh-server (remote hosts), docker-registry, shellcheck
# (workflow lint), busybox-static (test images built FROM scratch), wrk (load), chromium (the dashboard
# as a browser renders it) and prometheus + prometheus-pushgateway (metrics and PromQL verification).
# Only missing packages are installed, so a second run costs nothing.
set -euo pipefail

declare -A needs=(
  [nginx]=/usr/sbin/nginx
  [haproxy]=/usr/sbin/haproxy  # the reload-free router (runtime API on a unix socket)
  [podman]=/usr/bin/podman
  [runc]=/usr/sbin/runc
  [openssh-server]=/usr/sbin/sshd
  [openssh-client]=/usr/bin/ssh
  [docker-registry]=/usr/bin/docker-registry
  [shellcheck]=/usr/bin/shellcheck
  [busybox-static]=/bin/busybox
  [wrk]=/usr/bin/wrk
  [git]=/usr/bin/git
  [iproute2]=/usr/sbin/ip  # network namespaces for isolated test hosts
  [curl]=/usr/bin/curl  # health and verification probes sent from remote hosts
  [chromium]=/usr/bin/chromium  # the HTML dashboard tested as a browser renders it (via playwright)
  [prometheus]=/usr/bin/prometheus  # PromQL verification and pushed deploy metrics, tested for real
  [prometheus-pushgateway]=/usr/bin/prometheus-pushgateway
)
missing=()
for pkg in "${!needs[@]}"; do
  [ -x "${needs[$pkg]}" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "error: missing ${missing[*]} and no apt-get here; install them with your package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
# The packaged nginx, haproxy and sshd start system-wide services we do not use; tests run private instances.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now nginx haproxy ssh prometheus prometheus-pushgateway >/dev/null 2>&1 || true
fi
