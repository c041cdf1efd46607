#!/usr/bin/env bash
# Turn-based call benchmarks (prints figures; not a test):
#   1. POST /chat with an instant fake OpenAI-compatible LLM (bench/fake_openai_server.cpp), as
#      <connections> concurrent calls: turns/s and latency percentiles, next to the same load sent straight
#      to the fake LLM, so the difference is what the daemon adds (tenant check, rate limit, history in
#      Redis, prompt, tools, call_messages in Postgres).
#   2. POST /synthesize with the offline espeak voice: real-time factor (synthesis time / audio length).
#   bench/chat_bench.sh [duration_s=10] [connections=50]
# Builds Release in build/ and uses private services on their own ports (work dir .work/bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-10}
connections=${2:-50}
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
build=${IVR_BUILD_DIR:-$root/build}
bin=$build/voice-ai-ivr
fake_port=18199
api=http://127.0.0.1:18100

# IVR_PG_FAST=1: a cluster without fsync (as the tests use), in a work dir of its own.
export IVR_WORK_DIR=$root/.work/bench${IVR_PG_FAST:+-fast} IVR_PG_PORT=55434 IVR_REDIS_PORT=56381
"$root/scripts/services.sh" start >/dev/null
export VOICE_AI_DATABASE_URL="postgresql://voice_ai_ivr@127.0.0.1:$IVR_PG_PORT/voice_ai_ivr"
export VOICE_AI_REDIS_URL="redis://127.0.0.1:$IVR_REDIS_PORT/0"
export VOICE_AI_DATABASE_MIGRATIONS_DIR="$root/migrations"
export VOICE_AI_SERVER_PORT=18100
export VOICE_AI_SERVER_ACCESS_LOG=${IVR_BENCH_ACCESS_LOG:-false}
export VOICE_AI_LOG_LEVEL=warn

"$bin" migrate >/dev/null
domain=$("$bin" domain add --name "chat-bench-$(date +%s%N).example.com" | cut -f1)
"$bin" domain rate-limit "$domain" --per-second 1000000 --burst 1000000 >/dev/null
admin=$("$bin" token create --scope admin --domain "$domain" --label bench 2>/dev/null)
call=$("$bin" token create --scope call --domain "$domain" --label bench 2>/dev/null)

"$build/bench_fake_openai_server" $fake_port &
fake_pid=$!
"$bin" serve >/tmp/ivr-chat-bench.log 2>&1 &
pid=$!
trap 'kill -TERM $pid $fake_pid 2>/dev/null; wait $pid 2>/dev/null; "$root/scripts/services.sh" stop >/dev/null' EXIT
for _ in $(seq 1 100); do curl -fsS "$api/ready" >/dev/null 2>&1 && break; sleep 0.1; done

auth=(-H "X-Api-Key: $admin" -H "X-Domain-UUID: $domain" -H "Content-Type: application/json")
secretary=$(curl -fsS "${auth[@]}" "$api/secretaries" -d @- <<JSON
{"name":"bench","language":"pt-BR","greeting":"Olá!","max_turns":100,
 "transfer_targets":{"vendas":"1001"},"fallback_extension":"1000",
 "providers":{"llm":[{"vendor":"openai","base_url":"http://127.0.0.1:$fake_port","model":"bench"}],
              "tts":[{"vendor":"espeak"}]}}
JSON
)
secretary_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$secretary")
# The bench secretary becomes the one /chat uses: wrk's script names none, so pass it as a header-free
# body field through a per-run copy of the script.
lua=$(mktemp /tmp/chat-bench.XXXXXX.lua)
sed "s/\"caller_id\":\"1000\"}/\"caller_id\":\"1000\",\"secretary_id\":\"$secretary_id\"}/" \
  "$root/bench/wrk/chat.lua" >"$lua"
first=$(curl -fsS -H "X-Api-Key: $call" -H "X-Domain-UUID: $domain" -H "Content-Type: application/json" "$api/chat" \
  -d "{\"call_uuid\":\"$(cat /proc/sys/kernel/random/uuid)\",\"text\":\"Olá\",\"secretary_id\":\"$secretary_id\"}")
echo "== sample /chat reply: $first"
echo "== machine: $(nproc) cores; wrk, the fake LLM, PostgreSQL, Redis and the daemon share them"
echo
echo "== fake LLM alone: POST /v1/chat/completions, $connections connections, ${duration}s"
wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$root/bench/wrk/fake_llm.lua" \
  "http://127.0.0.1:$fake_port/v1/chat/completions" | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket errors"
chat() {  # chat <connections> [think_ms]
  IVR_CHAT_THINK_MS=${2:-0} wrk -t$(( $1 < 2 ? 1 : 2 )) -c"$1" -d"${duration}s" --latency -s "$lua" \
    -H "X-Api-Key: $call" -H "X-Domain-UUID: $domain" -H "Content-Type: application/json" "$api/chat" |
    grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket errors"
}
# The daemon's own view of /chat (its request-duration histogram, from reading the request to writing the
# response), over one phase: what it adds without wrk's side of the loopback.
chat_buckets() {
  curl -fsS "$api/metrics" | grep '^ivr_http_request_duration_seconds_bucket{route="/chat"' || true
}
server_side() {  # server_side <before-file> <after-file>
  python3 - "$1" "$2" <<'PY'
import re, sys
def load(path):
    out = {}
    for line in open(path):
        m = re.search(r'le="([^"]+)"\}\s+(\S+)', line)
        if m: out[m.group(1)] = float(m.group(2))
    return out
before, after = load(sys.argv[1]), load(sys.argv[2])
total = after.get("+Inf", 0) - before.get("+Inf", 0)
if total <= 0: sys.exit()
parts = []
for le in ("0.001", "0.002", "0.0025", "0.003", "0.005"):
    share = (after.get(le, 0) - before.get(le, 0)) / total
    parts.append(f"{100 * share:.1f}% ≤ {float(le) * 1000:g} ms")
print("   daemon side (its histogram): " + ", ".join(parts))
PY
}
echo
echo "== POST /chat through the daemon, 1 call at a time, ${duration}s (the latency the daemon adds)"
before=$(mktemp); after=$(mktemp)
chat_buckets >"$before"
chat 1
chat_buckets >"$after"
server_side "$before" "$after"
rm -f "$before" "$after"
echo
echo "== POST /chat through the daemon, $connections concurrent calls as fast as answered, ${duration}s (throughput)"
chat "$connections"
offered=${IVR_CHAT_OFFERED:-2000}
think=$(( connections * 1000 / offered ))
echo
echo "== POST /chat through the daemon, $connections concurrent calls, each a turn every ${think} ms" \
  "(about $offered turns/s offered), ${duration}s (latency under load)"
chat "$connections" "$think"
rm -f "$lua"
echo "   (Requests/sec = turns/s; each turn also writes two call_messages rows and the Redis history)"
echo
text="Olá! Obrigado por ligar para a nossa empresa. O nosso horário de atendimento é de segunda a sexta, \
das oito da manhã às seis da tarde, e aos sábados das nove ao meio-dia. Para falar com vendas, diga vendas. \
Para o suporte técnico, diga suporte. Se preferir, deixe o seu recado depois do sinal."
echo "== POST /synthesize with espeak (${#text} characters, not cached: longer than the phrase cache limit)"
for rate in 8000 16000; do
  total_ms=0
  total_audio_ms=0
  for i in $(seq 1 5); do
    out=$(mktemp)
    t=$(curl -fsS -o "$out" -w '%{time_total}' -H "X-Api-Key: $call" -H "X-Domain-UUID: $domain" \
      -H "Content-Type: application/json" "$api/synthesize" \
      -d "{\"text\":\"$text Chamada $i.\",\"sample_rate\":$rate,\"secretary_id\":\"$secretary_id\"}")
    bytes=$(stat -c %s "$out")
    rm -f "$out"
    total_ms=$(python3 -c "print($total_ms + $t * 1000)")
    total_audio_ms=$(python3 -c "print($total_audio_ms + ($bytes - 44) / 2 / $rate * 1000)")
  done
  python3 -c "print(f'   {$rate} Hz: {$total_audio_ms/5/1000:.1f} s of audio in {$total_ms/5:.0f} ms on average; real-time factor {$total_ms/$total_audio_ms:.3f}')"
done
