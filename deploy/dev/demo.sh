#!/usr/bin/env bash
# The main job, on a fresh machine: install lienthong, then show the envelope contract at work —
# a sandbox CA and agency keys, a commune's document composed, signed and verified, a
# tampered copy refused, and a report on every real package of the national axis SDK.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/dev/install.sh
install_lienthong

sandbox=sandbox/demo
fixtures=../shared/fixtures/edxml-sdk
rm -rf "$sandbox" && mkdir -p "$sandbox"
commune=000.12.05.H40   # a commune of Hải Hậu district, Nam Định (illustrative directory)
district=000.00.05.H40

step() { printf '\n== %s\n' "$*"; }

step "A sandbox CA and a key pair for the commune"
lienthong keys ca --out "$sandbox" --name "lienthong sandbox CA"
lienthong keys agency "$commune" --ca-dir "$sandbox" --out "$sandbox" --name "UBND xã Hải Hà"

step "The commune composes a document to its district and signs it"
printf 'Báo cáo tình hình thu hoạch lúa mùa năm 2026.\n' > "$sandbox/bao-cao.txt"
lienthong compose --from "$commune" --to "$district" --priority 1 \
  --subject "V/v báo cáo tình hình thu hoạch lúa mùa" --attach "$sandbox/bao-cao.txt" \
  -o "$sandbox/bao-cao.edxml"
lienthong sign "$sandbox/bao-cao.edxml" --key "$sandbox/$commune.key.pem" \
  --cert "$sandbox/$commune.cert.pem" -o "$sandbox/bao-cao.signed.edxml"

step "The district checks it: signature valid, certificate chains to the CA"
lienthong validate --trust "$sandbox/ca.cert.pem" --require-signature "$sandbox/bao-cao.signed.edxml"

step "One changed character in the signed package is caught"
sed 's/lúa mùa/lúa chiêm/' "$sandbox/bao-cao.signed.edxml" > "$sandbox/tampered.edxml"
if lienthong validate --trust "$sandbox/ca.cert.pem" "$sandbox/tampered.edxml"; then
  echo "demo failed: a tampered package was accepted" >&2; exit 1
fi

step "Every real package of the national axis SDK (lenient: legacy quirks repaired and named)"
status=0
lienthong validate --lenient "$fixtures"/*.edxml || status=$?
if [ "$status" -ne 1 ]; then echo "demo failed: expected exit 1, got $status" >&2; exit 1; fi
echo
echo "Exit 1 as expected: the SDK's own packages carry copied, unverifiable signatures and one"
echo "file has stray bytes before its XML declaration. Everything else was read and reported."
