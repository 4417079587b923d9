#!/usr/bin/env bash
# Starts (or stops) the services of docker-compose.ci.yml as plain processes: the sample service and
# nginx in front of it with the same proxy config. For runners without a container engine.
# Usage: services-on-host.sh start|stop   (state under $RUNNER_TEMP/ci-services)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
state="${RUNNER_TEMP:-/tmp}/ci-services"
service_port="${CI_SERVICE_PORT:-18188}"
proxy_port="${CI_PROXY_PORT:-8088}"

start() {
  mkdir -p "${state}/conf.d" "${state}/logs"
  # Its own session: it must outlive this step (runners may end a step's process group).
  (cd "${root}/examples/service" && exec setsid python3 -m sample_service.app --host 127.0.0.1 \
    --port "${service_port}") >"${state}/logs/service.log" 2>&1 &
  echo $! >"${state}/service.pid"
  # shellcheck disable=SC2016 # the variable names envsubst may replace, written literally
  SERVICE_UPSTREAM="127.0.0.1:${service_port}" PROXY_LISTEN="127.0.0.1:${proxy_port}" \
    envsubst '${SERVICE_UPSTREAM} ${PROXY_LISTEN}' \
    <"${root}/.github/ci/nginx/default.conf.template" >"${state}/conf.d/default.conf"
  cat >"${state}/nginx.conf" <<CONF
pid ${state}/nginx.pid;
error_log ${state}/logs/error.log;
events {}
http {
  access_log ${state}/logs/access.log;
  client_body_temp_path ${state}/tmp_body;
  proxy_temp_path ${state}/tmp_proxy;
  include ${state}/conf.d/*.conf;
}
CONF
  nginx -p "${state}" -c "${state}/nginx.conf"
  for _ in $(seq 1 50); do
    if curl --silent --fail "http://127.0.0.1:${proxy_port}/healthz" >/dev/null; then
      echo "services up: http://127.0.0.1:${proxy_port}"
      return 0
    fi
    sleep 0.2
  done
  echo "::error::the sample service did not become healthy behind nginx"
  cat "${state}/logs/service.log" "${state}/logs/error.log" >&2 || true
  return 1
}

stop() {
  if [ -f "${state}/nginx.pid" ]; then nginx -p "${state}" -c "${state}/nginx.conf" -s quit || true; fi
  if [ -f "${state}/service.pid" ]; then kill "$(cat "${state}/service.pid")" 2>/dev/null || true; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
