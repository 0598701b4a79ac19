#!/usr/bin/env bash
# Installs everything the native stack needs; idempotent (a second run changes nothing and
# takes seconds). Tools go to $ADNOMALY_TOOLS_DIR (default .tools/), never into the state dir.
# One line per step on the terminal; what the installers print goes to $TOOLS/bootstrap.log.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${ADNOMALY_TOOLS_DIR:-$ROOT/.tools}"
STAMPS="$TOOLS/stamps"
# MinIO publishes RELEASE.* tags that are not semver, so the Go module proxy cannot resolve
# them; the pin is the pseudo-version of the release commit (see README, "MinIO build").
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
PGADMIN_VERSION="${PGADMIN_VERSION:-9.18}"
mkdir -p "$STAMPS" "$TOOLS/bin"
LOG="$TOOLS/bootstrap.log"
: > "$LOG"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; echo "==> $*" >> "$LOG"; }
# run a command with its output in the log; on failure show the log's tail and stop
run() {
  if ! "$@" >> "$LOG" 2>&1; then
    printf '\033[1;31mfailed:\033[0m %s (last lines below; whole log: %s)\n' "$*" "$LOG" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { echo "$2" > "$STAMPS/$1"; }

apt_packages=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apt_packages+=(postgresql postgresql-contrib)
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
command -v java >/dev/null 2>&1 || apt_packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || apt_packages+=(maven)
command -v go >/dev/null 2>&1 || apt_packages+=(golang-go)
# headless browser for the end-to-end test of the Dagster UI (driven by Playwright)
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
# monitoring: Prometheus, Alertmanager and the PostgreSQL and Redis exporters (Debian's builds)
command -v prometheus >/dev/null 2>&1 || apt_packages+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || apt_packages+=(prometheus-alertmanager)
command -v prometheus-postgres-exporter >/dev/null 2>&1 || apt_packages+=(prometheus-postgres-exporter)
command -v prometheus-redis-exporter >/dev/null 2>&1 || apt_packages+=(prometheus-redis-exporter)
if [ ${#apt_packages[@]} -gt 0 ]; then
  step "apt-get install ${apt_packages[*]}"
  # Packages must not start their own servers on our ports: policy-rc.d 101 forbids it.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  # Debian enables the monitoring packages' own units (on :9090, :9093, ...) for the next boot;
  # the stack runs them itself, under its supervisor, on its own ports
  if [ -d /run/systemd/system ]; then
    run systemctl disable --now prometheus prometheus-alertmanager \
      prometheus-postgres-exporter prometheus-redis-exporter
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  step "pip install uv"
  run python3 -m pip install -q uv
fi
step "uv sync"
run uv sync --frozen --quiet

kafka_pom_sum="$(sha256sum "$ROOT/infra/jvm/kafka/pom.xml" | cut -d' ' -f1)"
if ! stamp_ok kafka "$kafka_pom_sum"; then
  step "Kafka jars from Maven Central"
  rm -rf "$TOOLS/kafka-libs"
  run mvn -q -B -f "$ROOT/infra/jvm/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$TOOLS/kafka-libs"
  stamp_set kafka "$kafka_pom_sum"
fi

jmx_pom_sum="$(sha256sum "$ROOT/infra/jvm/jmx/pom.xml" | cut -d' ' -f1)"
if ! stamp_ok jmx "$jmx_pom_sum"; then
  step "Prometheus JMX exporter agent from Maven Central"
  rm -rf "$TOOLS/jmx-exporter"
  run mvn -q -B -f "$ROOT/infra/jvm/jmx/pom.xml" dependency:copy-dependencies \
    -Dmdep.stripVersion=true -DoutputDirectory="$TOOLS/jmx-exporter"
  stamp_set jmx "$jmx_pom_sum"
fi

pyflink_home="$("$ROOT/.venv/bin/python" -c 'import pyflink, os; print(os.path.dirname(pyflink.__file__))')"
udf_sources="$(find "$ROOT/infra/jvm/flink-udf/src" -name '*.java' | sort)"
# shellcheck disable=SC2086 # one path per line, none with spaces
udf_sum="$(cat $udf_sources | sha256sum | cut -d' ' -f1)"
flink_sum="$(sha256sum "$ROOT/infra/jvm/flink/pom.xml" | cut -d' ' -f1)-$pyflink_home-$udf_sum"
if ! stamp_ok flink "$flink_sum"; then
  step "Flink lib: the wheel's jars + Kafka SQL connector from Maven Central + the job's UDFs"
  rm -rf "$TOOLS/flink-lib" "$TOOLS/flink-udf-classes"
  mkdir -p "$TOOLS/flink-lib"
  ln -s "$pyflink_home"/lib/*.jar "$TOOLS/flink-lib/"
  run mvn -q -B -f "$ROOT/infra/jvm/flink/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$TOOLS/flink-lib"
  # the features job's Java functions (infra/jvm/flink-udf), on the cluster's classpath
  # shellcheck disable=SC2086
  run javac --release 17 -cp "$pyflink_home/lib/*" -d "$TOOLS/flink-udf-classes" $udf_sources
  run jar cf "$TOOLS/flink-lib/adnomaly-flink-udf.jar" -C "$TOOLS/flink-udf-classes" .
  stamp_set flink "$flink_sum"
fi

if ! stamp_ok minio "$MINIO_VERSION" || [ ! -x "$TOOLS/bin/minio" ]; then
  step "go install $MINIO_MODULE@$MINIO_VERSION (a few minutes the first time)"
  run env GOBIN="$TOOLS/bin" GOFLAGS=-buildvcs=false go install "$MINIO_MODULE@$MINIO_VERSION"
  stamp_set minio "$MINIO_VERSION"
fi

# pgAdmin in a venv of its own: its pins (Flask, SQLAlchemy, ...) are not the project's
if ! stamp_ok pgadmin "$PGADMIN_VERSION" || [ ! -x "$TOOLS/pgadmin/bin/pgadmin4" ]; then
  step "pgAdmin $PGADMIN_VERSION in $TOOLS/pgadmin"
  rm -rf "$TOOLS/pgadmin"
  run uv venv --quiet --python 3.11 "$TOOLS/pgadmin"
  run uv pip install --quiet --python "$TOOLS/pgadmin/bin/python" "pgadmin4==$PGADMIN_VERSION"
  stamp_set pgadmin "$PGADMIN_VERSION"
fi

if [ ! -f "$ROOT/.env" ]; then
  step "creating .env from .env.example"
  cp "$ROOT/.env.example" "$ROOT/.env"
else
  # variables added to .env.example since .env was made are appended with their defaults
  while IFS= read -r line; do
    name="${line%%=*}"
    if ! grep -q "^${name}=" "$ROOT/.env"; then
      step "adding $name to .env (new in .env.example)"
      echo "$line" >> "$ROOT/.env"
    fi
  done < <(grep -E '^[A-Z_][A-Z0-9_]*=' "$ROOT/.env.example")
fi
step "bootstrap complete"
