# Start the local PostgreSQL and RabbitMQ when they are not running (sourced by the scripts
# beside this one). Needs root on a Debian machine with both installed, as on CI.

ensure_postgresql() {
  if pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 1; done
  echo "PostgreSQL did not start" >&2; return 1
}

ensure_rabbitmq() {
  if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached
    rabbitmqctl -q await_startup --timeout 120
  fi
  rabbitmq-plugins -q enable rabbitmq_management >/dev/null
}

ensure_services() {
  ensure_postgresql
  ensure_rabbitmq
}

# Debian's Chromium, which the dashboard's browser tests drive through Playwright (Playwright's
# own browser download is not used: only package registries are reachable).
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then return 0; fi
  echo "installing chromium (for the dashboard's browser tests)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}
