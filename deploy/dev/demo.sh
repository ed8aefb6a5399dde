#!/usr/bin/env bash
# The main job, on a fresh machine: install lienthong, then show it at work.
#  1. the envelope contract: a sandbox CA, a commune's document composed, signed, verified,
#     a tampered copy refused, and a report on every real package of the national axis SDK;
#  2. the hub: the province directory imported (78 agencies, their broker accounts and
#     mailboxes), the commune's document published with its own broker account, verified and
#     routed by the hub to the district's mailbox, and the document's timeline.
#  3. the whole system: `lienthong dev up` starts a hub and the adapters of a province, a district
#     and two communes as separate processes; `lienthong demo` drives them as the agencies'
#     local systems would (documents down, sideways and up, statuses 01/03/05/06 back) and
#     prints each document's timeline; `lienthong dev down` stops them.
# Parts 2 and 3 use their own databases and vhosts, made anew each run.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/dev/install.sh
source deploy/dev/services.sh
install_lienthong
ensure_services

sandbox=sandbox/demo
fixtures=../shared/fixtures/edxml-sdk
rm -rf "$sandbox" && mkdir -p "$sandbox"
commune=000.04.29.H40   # UBND xã Hải Anh, a commune of Hải Hậu district (illustrative directory)
district=000.00.29.H40  # UBND huyện Hải Hậu, Nam Định

step() { printf '\n== %s\n' "$*"; }

step "A sandbox CA, the hub's key, and a key pair for the commune"
lienthong hub init-pki --dir "$sandbox/pki"
lienthong keys agency "$commune" --ca-dir "$sandbox/pki" --out "$sandbox" --name "UBND xã Hải Anh"

step "The commune composes a document to its district and signs it"
printf 'Báo cáo tình hình thu hoạch lúa mùa năm 2026.\n' > "$sandbox/bao-cao.txt"
lienthong compose --from "$commune" --to "$district" --priority 1 \
  --subject "V/v báo cáo tình hình thu hoạch lúa mùa" --attach "$sandbox/bao-cao.txt" \
  -o "$sandbox/bao-cao.edxml"
lienthong sign "$sandbox/bao-cao.edxml" --key "$sandbox/$commune.key.pem" \
  --cert "$sandbox/$commune.cert.pem" -o "$sandbox/bao-cao.signed.edxml"

step "Anyone can check it: signature valid, certificate chains to the CA"
lienthong validate --trust "$sandbox/pki/ca.cert.pem" --require-signature "$sandbox/bao-cao.signed.edxml"

step "One changed character in the signed package is caught"
sed 's/lúa mùa/lúa chiêm/' "$sandbox/bao-cao.signed.edxml" > "$sandbox/tampered.edxml"
if lienthong validate --trust "$sandbox/pki/ca.cert.pem" "$sandbox/tampered.edxml"; then
  echo "demo failed: a tampered package was accepted" >&2; exit 1
fi

step "Every real package of the national axis SDK (lenient: legacy quirks repaired and named)"
status=0
lienthong validate --lenient "$fixtures"/*.edxml > "$sandbox/sdk-report.txt" || status=$?
if [ "$status" -ne 1 ]; then echo "demo failed: expected exit 1, got $status" >&2; exit 1; fi
grep -E '^\.\./|^  (status|document|signature|repair|error)' "$sandbox/sdk-report.txt" | head -40
echo "... (whole report in $sandbox/sdk-report.txt). Exit 1 as expected: the SDK's own packages"
echo "carry copied, unverifiable signatures, and one file has stray bytes before its XML declaration."

step "The hub: a fresh database and vhost, the province's directory imported"
export LIENTHONG_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/lienthong_demo
export LIENTHONG_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/lienthong-demo
export LIENTHONG_BROKER_USER_PREFIX=demo.
export LIENTHONG_HUB_KEY=$sandbox/pki/hub.key.pem
export LIENTHONG_HUB_CERTIFICATE=$sandbox/pki/hub.cert.pem
export LIENTHONG_TRUST_BUNDLE=$sandbox/pki/ca.cert.pem
psql -q -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS lienthong_demo WITH (FORCE)'
rabbitmqctl -q delete_vhost lienthong-demo >/dev/null 2>&1 || true
rabbitmqctl -q add_vhost lienthong-demo
rabbitmqctl -q set_permissions -p lienthong-demo guest '.*' '.*' '.*'
lienthong db upgrade
lienthong agency import ../shared/fixtures/directory/nam-dinh.csv --credentials "$sandbox/credentials.csv"
lienthong agency cert add "$commune" "$sandbox/$commune.cert.pem"

step "The hub's intake worker starts"
lienthong hub serve --role worker > "$sandbox/hub.log" 2>&1 &
hub_pid=$!
trap 'kill $hub_pid 2>/dev/null || true' EXIT

step "The commune publishes its signed document with its own broker account"
COMMUNE_PASSWORD=$(grep "^$commune," "$sandbox/credentials.csv" | cut -d, -f3)
export COMMUNE_PASSWORD
envelope=$(lienthong hub publish "$sandbox/bao-cao.signed.edxml" --user "demo.$commune" \
  --password-env COMMUNE_PASSWORD)
echo "published envelope $envelope"

step "The hub verified it and routed it to the district's mailbox"
for _ in $(seq 1 60); do
  if lienthong hub timeline "$envelope" 2>/dev/null | grep -q ": queued"; then break; fi
  sleep 0.5
done
lienthong hub timeline "$envelope"
lienthong hub timeline "$envelope" | grep -q "$district: queued" \
  || { echo "demo failed: the document did not reach the district" >&2; tail "$sandbox/hub.log" >&2; exit 1; }
messages=$(rabbitmqctl -q -p lienthong-demo list_queues name messages | grep "mailbox.$district" | cut -f2)
echo "messages waiting in the district's mailbox (lienthong.mailbox.$district): $messages"
kill $hub_pid 2>/dev/null || true

step "The whole system: a hub and four agencies' adapters (lienthong dev up)"
trap 'lienthong dev down >/dev/null 2>&1 || true' EXIT
lienthong dev up

step "The agencies' local systems exchange documents and statuses (lienthong demo)"
lienthong demo
lienthong dev down
