#!/usr/bin/env bash
# Fuzzes `medsam serve`'s native API from docs/openapi.yaml with schemathesis (pip install
# schemathesis): a server on a free port, one uploaded volume whose id fills every {id} path
# parameter (random upload bodies are rarely valid images), then the checks: no 5xx, responses
# and content types as documented, statuses documented. deleteImage is left out so the id lives.
# The client waits longer than the server's own 120-s request timeout, so a request queued behind
# generated propagations gets the server's answer instead of a client-side network error (one
# run on a loaded machine lost one request that way).
#   scripts/tests/check_serve_schemathesis.sh [MEDSAM] [MAX_EXAMPLES]
set -euo pipefail
medsam=${1:-.build/debug/medsam}
examples=${2:-25}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$medsam" serve --port 0 --backend cpu --cache-mb 256 --temp-dir "$work/tmp" 2>"$work/log" &
pid=$!
for _ in $(seq 1 300); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { echo "error: the server did not start"; cat "$work/log"; exit 1; }
python3 - "$work/vol.nii.gz" <<'PY'
import sys, numpy as np, nibabel as nib
v = np.full((64, 64, 8), -1000, np.int16); v[16:48, 16:48] = 40; v[24:40, 24:36, 2:6] = 150
nib.save(nib.Nifti1Image(v, np.diag([1.0, 1.0, 2.0, 1.0])), sys.argv[1])
PY
id=$(curl -sf --data-binary @"$work/vol.nii.gz" "http://127.0.0.1:$port/v1/images?name=vol.nii.gz" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
printf '[parameters]\n"path.id" = "%s"\n' "$id" > "$work/schemathesis.toml"
schemathesis --config-file "$work/schemathesis.toml" run docs/openapi.yaml -u "http://127.0.0.1:$port" \
  -c not_a_server_error,content_type_conformance,response_schema_conformance,status_code_conformance \
  -n "$examples" --request-timeout 300 --exclude-operation-id deleteImage
curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null && echo "check_serve_schemathesis: server still up"
