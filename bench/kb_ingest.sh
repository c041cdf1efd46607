#!/usr/bin/env bash
# Knowledge-base ingestion end to end through the daemon (prints figures; not a test): a generated
# 100-page PDF (bench_kb_bench --write-pdf) uploaded with curl, timed from the upload to `ready` (sandboxed
# extraction, chunking, hash embedding, chunks and vectors stored in PostgreSQL), then the first search
# (which builds the domain's index from Postgres) and warm searches through POST /documents/search.
#   bench/kb_ingest.sh [uploads=3]
# Builds Release in build/ and uses private services on their own ports (work dir .work/bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
uploads=${1:-3}
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
build=${IVR_BUILD_DIR:-$root/build}
bin=$build/voice-ai-ivr
api=http://127.0.0.1:18101
work=$(mktemp -d /tmp/kb-ingest-bench.XXXXXX)

export IVR_WORK_DIR=$root/.work/bench IVR_PG_PORT=55434 IVR_REDIS_PORT=56381
"$root/scripts/services.sh" start >/dev/null
export VOICE_AI_DATABASE_URL="postgresql://voice_ai_ivr@127.0.0.1:$IVR_PG_PORT/voice_ai_ivr"
export VOICE_AI_REDIS_URL="redis://127.0.0.1:$IVR_REDIS_PORT/0"
export VOICE_AI_DATABASE_MIGRATIONS_DIR="$root/migrations"
export VOICE_AI_SERVER_PORT=18101
export VOICE_AI_LOG_LEVEL=warn
export VOICE_AI_KNOWLEDGE_POLL_INTERVAL_MS=100

"$bin" migrate >/dev/null
domain=$("$bin" domain add --name "kb-bench-$(date +%s%N).example.com" | cut -f1)
"$bin" domain rate-limit "$domain" --per-second 1000000 --burst 1000000 >/dev/null
admin=$("$bin" token create --scope admin --domain "$domain" --label bench 2>/dev/null)
"$bin" serve >/tmp/ivr-kb-bench.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; "$root/scripts/services.sh" stop >/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "$api/ready" >/dev/null 2>&1 && break; sleep 0.1; done
A=(-H "X-Api-Key: $admin" -H "X-Domain-UUID: $domain")

"$build/bench_kb_bench" --write-pdf "$work/manual.pdf"
echo "== 100-page PDF: $(($(stat -c %s "$work/manual.pdf") / 1024)) KiB; $(nproc) cores shared by curl, PostgreSQL and the daemon"
for i in $(seq 1 "$uploads"); do
  # Distinct bytes per run (the same bytes would be a duplicate): a comment after %%EOF.
  cp "$work/manual.pdf" "$work/run.pdf"
  printf '%% run %s %s\n' "$i" "$(date +%s%N)" >>"$work/run.pdf"
  start=$(date +%s%N)
  id=$(curl -fsS "${A[@]}" -F "file=@$work/run.pdf" "$api/documents/upload" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  while :; do
    doc=$(curl -fsS "${A[@]}" "$api/documents/$id")
    status=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$doc")
    [ "$status" != processing ] && break
    sleep 0.02
  done
  end=$(date +%s%N)
  python3 - "$doc" "$start" "$end" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); ms = (int(sys.argv[3]) - int(sys.argv[2])) / 1e6
print(f"upload → {d['status']}: {ms/1000:.2f} s ({d['pages']} pages, {d['chunks']} chunks, {d['tokens']} tokens){'' if d['status']=='ready' else ' reason: ' + str(d['reason'])}")
PY
done
q='{"query":"Quais são as regras para agendamento de exames?","top_k":4}'
first=$(curl -fsS -o /dev/null -w '%{time_total}' "${A[@]}" -H 'Content-Type: application/json' "$api/documents/search" -d "$q")
echo "first search (builds the domain's index from Postgres): $(python3 -c "print(f'{$first*1000:.1f} ms')")"
for _ in $(seq 1 200); do
  curl -fsS -o /dev/null -w '%{time_total}\n' "${A[@]}" -H 'Content-Type: application/json' "$api/documents/search" -d "$q"
done | sort -n | python3 -c '
import sys
t = [float(x) * 1000 for x in sys.stdin]
print(f"warm POST /documents/search over HTTP (curl, one at a time): p50 {t[len(t)//2]:.2f} ms, p99 {t[int(len(t)*0.99)-1]:.2f} ms")'
