#!/usr/bin/env bash
# The turn-based call API end to end against the built daemon: /secretaries CRUD (the default secretary of a
# fresh domain, credentials sealed at rest), /chat (offline model, transfer rules, max turns, a remote model
# asking for a target it may not use), /synthesize (WAV at 8 and 16 kHz), /transcribe, /calls and the
# error answers for bad input and for provider chains that fail all the way down. No provider keys needed:
# remote vendors are a closed port or a small fake server on 127.0.0.1.
source "$(dirname "$0")/lib.sh"

work=$(mktemp -d /tmp/ivr-e2e-conv.XXXXXX)
fake_pid=""
cleanup_conversation() {
  local rc=$?
  if [ "$rc" != 0 ] || [ "$failures" != 0 ]; then
    if [ -n "${daemon_log:-}" ] && [ -f "$daemon_log" ]; then
      echo "--- last lines of the daemon log:" >&2
      tail -n 30 "$daemon_log" >&2
    fi
  fi
  cleanup_e2e
  if [ -n "$fake_pid" ] && kill -0 "$fake_pid" 2>/dev/null; then kill "$fake_pid" && wait "$fake_pid" || true; fi
  rm -rf "$work"
}
trap cleanup_conversation EXIT
new_database
# The master key seals tenants' provider keys; the rate limit would get in the way of this many requests.
export VOICE_AI_SECURITY_MASTER_KEY
VOICE_AI_SECURITY_MASTER_KEY=$(python3 -c 'import os; print(os.urandom(32).hex())')
export VOICE_AI_RATE_LIMIT_ENABLED=false
secret="sk-secret-xyz"

# ---- helpers (api, post_json, jfield, expect_status… are in lib.sh) ----

# wav <file> <rate> <seconds> [amplitude]: a 16-bit mono 440 Hz tone (loud enough not to count as silence).
wav() {
  python3 - "$@" <<'EOF'
import math, struct, sys, wave
path, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
amp = int(sys.argv[4]) if len(sys.argv) > 4 else 8000
with wave.open(path, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * 440 * i / rate)))
                           for i in range(int(rate * seconds))))
EOF
}
# wav_header <file>: "RIFF WAVE <format> <channels> <rate> <bits>" from the first 44 bytes (od, not python,
# so the check does not share code with the writer it checks).
wav_header() {
  local riff wave fmt ch rate bits
  riff=$(od -An -c -N4 "$1" | tr -d ' ')
  wave=$(od -An -c -j8 -N4 "$1" | tr -d ' ')
  fmt=$(od -An -tu2 -j20 -N2 "$1" | tr -d ' ')
  ch=$(od -An -tu2 -j22 -N2 "$1" | tr -d ' ')
  rate=$(od -An -tu4 -j24 -N4 "$1" | tr -d ' ')
  bits=$(od -An -tu2 -j34 -N2 "$1" | tr -d ' ')
  echo "$riff $wave $fmt $ch $rate $bits"
}

# A stand-in for an OpenAI-compatible vendor: chat completions answer by what the caller said, the
# transcription endpoint fails with 500. Authorization headers are appended to $work/auth.
cat >"$work/fake_vendor.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

auth_log = sys.argv[2]

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        with open(auth_log, "a") as f:
            f.write(self.path + " " + self.headers.get("Authorization", "") + "\n")
        if self.path == "/v1/chat/completions":
            request = json.loads(body)
            said = [m.get("content") or "" for m in request["messages"] if m["role"] == "user"][-1]
            message = {"role": "assistant", "content": "Resposta do modelo remoto."}
            if "diretoria" in said:
                message = {"role": "assistant", "content": "", "tool_calls": [{
                    "id": "c1", "type": "function",
                    "function": {"name": "transfer_call", "arguments": json.dumps({"target": "Diretoria"})}}]}
            elif "marcador" in said:
                message = {"role": "assistant", "content": "Claro, um momento. [TRANSFER: VENDAS]"}
            elif "desligar" in said:
                message = {"role": "assistant", "content": "", "tool_calls": [{
                    "id": "c2", "type": "function", "function": {"name": "end_call", "arguments": "{}"}}]}
            tools = [t["function"]["name"] for t in request.get("tools", [])]
            self.reply(200, {"choices": [{"index": 0, "message": message}], "x_tools": tools,
                             "usage": {"prompt_tokens": 5, "completion_tokens": 3}})
        else:
            self.reply(500, {"error": {"message": "fake outage"}})

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF
fake_port=$(free_port)
python3 "$work/fake_vendor.py" "$fake_port" "$work/auth" &
fake_pid=$!
fake_url="http://127.0.0.1:$fake_port"

"$bin" migrate >/dev/null 2>&1 && pass "migrate" || fail "migrate"
domain=$("$bin" domain add --name clinica.example.com | cut -f1)
other=$("$bin" domain add --name other.example.com | cut -f1)
call_token=$("$bin" token create --scope call 2>/dev/null)
admin_token=$("$bin" token create --scope admin 2>/dev/null)
start_daemon
for _ in $(seq 1 50); do (echo >"/dev/tcp/127.0.0.1/$fake_port") 2>/dev/null && break; sleep 0.1; done

# ---- the default secretary of a fresh domain ----

api "$call_token" GET /secretaries
expect_status "GET /secretaries on a fresh domain" 200
expect_eq "a fresh domain has exactly one secretary" "1" "$(jfield 'len(d["secretaries"])')"
expect_eq "… the default one" "true" "$(jfield 'd["secretaries"][0]["is_default"]')"
expect_eq "… in Portuguese" "pt-BR" "$(jfield 'd["secretaries"][0]["language"]')"
expect_eq "… with the offline model" "extractive" "$(jfield 'd["secretaries"][0]["providers"]["llm"][0]["vendor"]')"
default_id=$(jfield 'd["secretaries"][0]["id"]')
api "$call_token" GET /secretaries/default
expect_status "GET /secretaries/default" 200
expect_eq "/secretaries/default is that secretary" "$default_id" "$(jfield 'd["id"]')"
expect_contains "the greeting names the domain" "clinica.example.com" "$(jfield 'd["greeting"]')"
api "$call_token" GET /secretaries
expect_eq "listing twice does not create a second default" "1" "$(jfield 'len(d["secretaries"])')"

call1=$(new_uuid)
post_json "$call_token" /chat "{\"call_uuid\":\"$call1\",\"text\":\"Olá, qual o horário de vocês?\",\"caller_id\":\"5511999990000\"}"
expect_status "the default secretary answers /chat at once" 200
expect_eq "… continuing the call" "continue" "$(jfield 'd["action"]')"
expect_eq "… with the offline model" "extractive" "$(jfield 'd["provider"]')"
expect_contains "… in Portuguese" "Desculpe" "$(jfield 'd["text"]')"
expect_eq "… no transfer_to while continuing" "" "$(jfield 'd.get("transfer_to", "")')"
post_json "$call_token" /chat "{\"call_uuid\":\"$call1\",\"text\":\"   \"}"
expect_status "/chat with nothing said" 200
expect_contains "… asks to repeat" "repetir" "$(jfield 'd["text"]')"
post_json "$call_token" /chat "{\"call_uuid\":\"$call1\",\"text\":\"Era só isso, tchau!\"}"
expect_eq "goodbye → hangup" "hangup" "$(jfield 'd["action"]')"
api "$call_token" GET "/calls/$call1"
expect_status "GET /calls/{uuid}" 200
expect_eq "the call counts its turns" "3" "$(jfield 'd["turns"]')"
expect_eq "the transcript has both sides" "caller assistant caller assistant caller assistant" \
  "$(jfield '" ".join(m["role"] for m in d["transcript"])')"
expect_eq "the caller id is kept" "5511999990000" "$(jfield 'd["caller_id"]')"
expect_eq "the secretary is recorded" "$default_id" "$(jfield 'd["secretary_id"]')"
expect_eq "the last assistant turn records the hangup" "hangup" "$(jfield 'd["transcript"][-1]["action"]')"
post_json "$call_token" "/calls/$call1/end" '{"resolution":"resolved","duration_seconds":42.5}'
expect_status "POST /calls/{uuid}/end" 200
expect_eq "… completes the call" "completed" "$(jfield 'd["status"]')"
expect_eq "… with its resolution" "resolved" "$(jfield 'd["resolution"]')"
expect_eq "… and duration" "42.5" "$(jfield 'd["duration_seconds"]')"
post_json "$call_token" "/calls/$call1/end" '{"resolution":"abandoned"}'
expect_eq "ending twice is idempotent" "resolved" "$(jfield 'd["resolution"]')"
api "$call_token" GET "/calls/$(new_uuid)"
expect_status "unknown call → 404" 404
api "$call_token" GET /calls/not-a-uuid
expect_status "malformed call uuid → 400" 400
tenant=$other post_json "$call_token" /chat "{\"call_uuid\":\"$call1\",\"text\":\"oi\"}"
expect_status "another domain's call uuid → 409" 409
tenant=$other api "$call_token" GET "/calls/$call1"
expect_status "another domain cannot read the call" 404

# ---- /synthesize ----

for rate in 8000 16000; do
  code=$(curl -s -o "$work/tts_$rate.wav" -D "$work/tts_headers" -w '%{http_code}' -X POST \
    -H "X-Api-Key: $call_token" -H "X-Domain-UUID: $domain" -H 'Content-Type: application/json' \
    --data-binary "{\"text\":\"Bom dia. Em que posso ajudar?\",\"sample_rate\":$rate}" "$base_url/synthesize") || true
  expect_eq "/synthesize at $rate Hz" "200" "$code"
  expect_contains "… is audio/wav" "audio/wav" "$(tr -d '\r' <"$work/tts_headers" | grep -i '^content-type:')"
  expect_eq "… RIFF/WAVE PCM mono 16-bit at $rate Hz" "RIFF WAVE 1 1 $rate 16" "$(wav_header "$work/tts_$rate.wav")"
  size=$(stat -c %s "$work/tts_$rate.wav") || size=0
  data_bytes=$(od -An -tu4 -j40 -N4 "$work/tts_$rate.wav" | tr -d ' ') || data_bytes=0
  expect_eq "… data chunk size matches the file" "$((size - 44))" "$data_bytes"
  # At least half a second of speech: rate * 2 bytes * 0.5 s.
  if [ "$data_bytes" -gt "$rate" ]; then pass "… has speech ($data_bytes bytes)"; else fail "… too short: $data_bytes bytes"; fi
done
cached=$(curl -s -o /dev/null -D - -X POST -H "X-Api-Key: $call_token" -H "X-Domain-UUID: $domain" \
  -H 'Content-Type: application/json' --data-binary '{"text":"Bom dia. Em que posso ajudar?","sample_rate":8000}' \
  "$base_url/synthesize" | tr -d '\r' | grep -i '^x-cache:' || true)
expect_contains "a short phrase comes from the cache the second time" "hit" "$cached"
post_json "$call_token" /synthesize '{"text":"Olá","sample_rate":44100}'
expect_status "invalid sample rate → 422" 422
expect_eq "… naming sample_rate" "sample_rate" "$(jfield 'd["error"]["details"][0]["field"]')"
post_json "$call_token" /synthesize '{"text":"Olá","sample_rate":"8000"}'
expect_status "sample rate as a string → 422" 422
post_json "$call_token" /synthesize '{"text":"Olá","format":"mp3"}'
expect_status "unsupported format → 422" 422
expect_eq "… naming format" "format" "$(jfield 'd["error"]["details"][0]["field"]')"
post_json "$call_token" /synthesize '{"text":"   "}'
expect_status "blank text → 422" 422
expect_eq "… naming text" "text" "$(jfield 'd["error"]["details"][0]["field"]')"
long=$(python3 -c 'print("a" * 5001)')
post_json "$call_token" /synthesize "{\"text\":\"$long\"}"
expect_status "text over 5000 characters → 422 (within the JSON body limit)" 422
expect_contains "… naming the limit" "5000" "$(jfield 'd["error"]["message"]')"
huge=$(python3 -c 'print("a" * 70000)')
printf '{"text":"%s"}' "$huge" >"$work/huge.json"
api "$call_token" POST /synthesize -H 'Content-Type: application/json' --data-binary "@$work/huge.json"
expect_status "text over the JSON body limit → 413" 413
expect_eq "… payload_too_large" "payload_too_large" "$(jfield 'd["error"]["code"]')"
post_json "$call_token" /synthesize "{\"text\":\"Olá\",\"secretary_id\":\"$(new_uuid)\"}"
expect_status "/synthesize with an unknown secretary → 404" 404

# ---- bad input ----

wav "$work/tone_8k.wav" 8000 1
printf 'this is not audio at all' >"$work/text.bin"
api "$call_token" POST /transcribe -H 'Content-Type: audio/wav' --data-binary "@$work/text.bin"
expect_status "non-WAV body → 415" 415
expect_contains "… saying a WAV is expected" "WAV" "$(jfield 'd["error"]["message"]')"
head -c 30 "$work/tone_8k.wav" >"$work/truncated.wav"
api "$call_token" POST /transcribe -H 'Content-Type: audio/wav' --data-binary "@$work/truncated.wav"
expect_status "WAV cut inside its header → 422" 422
expect_contains "… saying it is truncated" "truncated" "$(jfield 'd["error"]["message"]')"
python3 - "$work/pcm24.wav" <<'EOF'
import struct, sys
data = b"\x00\x10\x00" * 8000
fmt = struct.pack("<HHIIHH", 1, 1, 8000, 24000, 3, 24)
open(sys.argv[1], "wb").write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" +
                              b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)
EOF
api "$call_token" POST /transcribe -H 'Content-Type: audio/wav' --data-binary "@$work/pcm24.wav"
expect_status "24-bit WAV → 422" 422
expect_contains "… naming the encodings accepted" "16-bit PCM" "$(jfield 'd["error"]["message"]')"
head -c 4000 "$work/tone_8k.wav" >"$work/cut_data.wav"
api "$call_token" POST /transcribe -H 'Content-Type: audio/wav' --data-binary "@$work/cut_data.wav"
expect_status "WAV cut inside its data (a recorder killed mid-write) is accepted" 200
expect_eq "… too short to be speech: silence, no provider asked" "true" "$(jfield 'd["silence"]')"
api "$call_token" POST /transcribe -H 'Content-Type: audio/wav' --data-binary ''
expect_status "empty audio → 422" 422
wav "$work/quiet.wav" 8000 1 50
api "$call_token" POST /transcribe -H 'Content-Type: audio/wav' --data-binary "@$work/quiet.wav"
expect_status "quiet audio" 200
expect_eq "… is silence" "true" "$(jfield 'd["silence"]')"
expect_eq "… of one second" "1000" "$(jfield 'd["duration_ms"]')"
api "$call_token" POST /transcribe -H 'Content-Type: audio/wav' --data-binary "@$work/tone_8k.wav"
expect_status "speech with no STT configured → 503" 503
expect_contains "… telling how to configure one" "providers.stt" "$(jfield 'd["error"]["message"]')"
head -c $((17 * 1024 * 1024)) /dev/zero >"$work/big.wav"
api "$call_token" POST /transcribe -H 'Content-Type: audio/wav' --data-binary "@$work/big.wav"
expect_status "audio over the 16 MiB limit → 413" 413
rm -f "$work/big.wav"
api "$call_token" POST /transcribe -H 'Content-Type: text/plain' --data-binary "@$work/tone_8k.wav"
expect_status "/transcribe with a text/plain body → 415" 415
api "$call_token" POST /transcribe -F "other=@$work/tone_8k.wav"
expect_status "multipart without a 'file' part → 400" 400
expect_contains "… naming the part" "file" "$(jfield 'd["error"]["message"]')"
api "$call_token" POST "/transcribe?secretary_id=$(new_uuid)" -F "file=@$work/tone_8k.wav;type=audio/wav"
expect_status "/transcribe with an unknown secretary → 404" 404
api "$call_token" POST /chat -H 'Content-Type: text/plain' --data-binary '{"call_uuid":"x","text":"oi"}'
expect_status "/chat with a text/plain body → 415" 415
api "$admin_token" POST /secretaries -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'name=x'
expect_status "/secretaries with a form body → 415" 415
post_json "$call_token" /chat '{"call_uuid": '
expect_status "malformed JSON → 400" 400
expect_eq "… invalid_json" "invalid_json" "$(jfield 'd["error"]["code"]')"
post_json "$admin_token" /secretaries '{"name": "x",}'
expect_status "malformed JSON on /secretaries → 400" 400
post_json "$call_token" /chat '["oi"]'
expect_status "a JSON array instead of an object → 422" 422
post_json "$call_token" /chat '{"text":"oi"}'
expect_status "/chat without call_uuid → 422" 422
expect_eq "… naming call_uuid" "call_uuid" "$(jfield 'd["error"]["details"][0]["field"]')"
post_json "$call_token" /chat "{\"call_uuid\":\"$(new_uuid)\",\"text\":42}"
expect_eq "/chat with text not a string names text" "text" "$(jfield 'd["error"]["details"][0]["field"]')"
post_json "$call_token" /chat "{\"call_uuid\":\"$(new_uuid)\",\"text\":\"$long\"}"
expect_status "/chat text over 4000 characters → 422" 422
post_json "$call_token" /chat "{\"call_uuid\":\"$(new_uuid)\",\"text\":\"oi\",\"secretary_id\":\"$(new_uuid)\"}"
expect_status "/chat with an unknown secretary → 404" 404
expect_eq "… not_found" "not_found" "$(jfield 'd["error"]["code"]')"
api "$call_token" GET "/secretaries/$(new_uuid)"
expect_status "GET an unknown secretary → 404" 404
api "$call_token" GET /secretaries/not-a-uuid
expect_status "GET a malformed secretary id → 404" 404

# Scopes: a FreeSWITCH (call) token cannot change settings.
post_json "$call_token" /secretaries '{"name":"Intrusa"}'
expect_status "call token on POST /secretaries → 403" 403
expect_eq "… forbidden" "forbidden" "$(jfield 'd["error"]["code"]')"
put_json "$call_token" "/secretaries/$default_id" '{"greeting":"x"}'
expect_status "call token on PUT /secretaries/{id} → 403" 403
api "$call_token" DELETE "/secretaries/$default_id"
expect_status "call token on DELETE /secretaries/{id} → 403" 403
api "$call_token" GET /webhooks/deliveries
expect_status "call token on GET /webhooks/deliveries → 403" 403
api "$admin_token" GET /webhooks/deliveries
expect_status "admin token on GET /webhooks/deliveries" 200
expect_eq "… a list" "[]" "$(jfield 'd["deliveries"]')"

# ---- secretaries CRUD ----

post_json "$admin_token" /secretaries '{"language":"en"}'
expect_status "POST without a name → 422" 422
expect_eq "… naming name" "name" "$(jfield 'd["error"]["details"][0]["field"]')"
post_json "$admin_token" /secretaries '{"name":"X","language":"english","max_turns":0,"providers":{"llm":[{"vendor":"skynet"}]}}'
expect_status "POST with bad fields → 422" 422
expect_eq "… naming every bad field" "language max_turns providers.llm[0].vendor" \
  "$(jfield '" ".join(sorted(e["field"] for e in d["error"]["details"]))')"
code=$(curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' -X POST -H "X-Api-Key: $admin_token" \
  -H "X-Domain-UUID: $domain" -H 'Content-Type: application/json' --data-binary '{
    "name": "Sales", "language": "en", "greeting": "Hello!",
    "transfer_targets": [{"name": "Sales", "extension": "1001"}, {"name": "Financeiro", "extension": "1002"}],
    "fallback_extension": "1000", "max_turns": 2,
    "faq": [{"question": "What are your opening hours?", "answer": "We open from 9 to 5."}]}' \
  "$base_url/secretaries") || true
body=$(cat "$work/body" 2>/dev/null) || body=""
expect_status "POST /secretaries" 201
sales_id=$(jfield 'd["id"]')
expect_contains "… Location names the new secretary" "/secretaries/$sales_id" "$(tr -d '\r' <"$work/headers" | grep -i '^location:')"
expect_eq "… not the default" "false" "$(jfield 'd["is_default"]')"
expect_eq "… with its targets" "true" "$(jfield 'd["transfer_targets"] == {"Sales": "1001", "Financeiro": "1002"}')"
post_json "$admin_token" /secretaries '{"name":"Sales"}'
expect_status "a second secretary with the same name → 409" 409
api "$call_token" GET "/secretaries/$sales_id"
expect_status "GET /secretaries/{id}" 200
expect_eq "… its greeting" "Hello!" "$(jfield 'd["greeting"]')"
put_json "$admin_token" "/secretaries/$sales_id" '{"greeting":"Hi there!"}'
expect_status "PUT /secretaries/{id}" 200
expect_eq "… changes what is given" "Hi there!" "$(jfield 'd["greeting"]')"
expect_eq "… keeps the rest" "2" "$(jfield 'd["max_turns"]')"
put_json "$admin_token" "/secretaries/$sales_id" '{"max_turns":0}'
expect_status "PUT with a bad field → 422" 422
expect_eq "… naming it" "max_turns" "$(jfield 'd["error"]["details"][0]["field"]')"
api "$call_token" GET "/secretaries/$sales_id"
expect_eq "a refused PUT changes nothing" "2" "$(jfield 'd["max_turns"]')"
put_json "$admin_token" "/secretaries/$(new_uuid)" '{"greeting":"x"}'
expect_status "PUT an unknown secretary → 404" 404
api "$admin_token" PATCH "/secretaries/$sales_id" -H 'Content-Type: application/json' --data-binary '{"greeting":"x"}'
expect_status "PATCH is not a method of /secretaries/{id} → 405" 405
tenant=$other api "$call_token" GET "/secretaries/$sales_id"
expect_status "another domain cannot see the secretary" 404
api "$call_token" GET /secretaries
expect_eq "the list has both secretaries" "2" "$(jfield 'len(d["secretaries"])')"

# Transfers and max turns with the offline model (English).
call2=$(new_uuid)
post_json "$call_token" /chat "{\"call_uuid\":\"$call2\",\"secretary_id\":\"$sales_id\",\"text\":\"Can I talk to sales, please?\"}"
expect_status "/chat with a named secretary" 200
expect_eq "asking for an allowed target → transfer" "transfer" "$(jfield 'd["action"]')"
expect_eq "… to its extension" "1001" "$(jfield 'd["transfer_to"]')"
expect_eq "… naming the target" "Sales" "$(jfield 'd["transfer_target"]')"
expect_contains "… in English" "transfer" "$(jfield 'd["text"]')"
post_json "$call_token" /chat "{\"call_uuid\":\"$(new_uuid)\",\"secretary_id\":\"$sales_id\",\"text\":\"I want to talk to a real person\"}"
expect_eq "asking for a person → the first target, in the order given (kept by storage)" "1001" "$(jfield 'd.get("transfer_to")')"
call3=$(new_uuid)
for turn in 1 2; do
  post_json "$call_token" /chat "{\"call_uuid\":\"$call3\",\"secretary_id\":\"$sales_id\",\"text\":\"What are your opening hours?\"}"
  expect_eq "turn $turn of 2 continues" "continue" "$(jfield 'd["action"]')"
done
expect_contains "the FAQ answers" "9 to 5" "$(jfield 'd["text"]')"
post_json "$call_token" /chat "{\"call_uuid\":\"$call3\",\"secretary_id\":\"$sales_id\",\"text\":\"And on Saturdays?\"}"
expect_eq "past max_turns → transfer" "transfer" "$(jfield 'd["action"]')"
expect_eq "… to the fallback extension" "1000" "$(jfield 'd["transfer_to"]')"
expect_eq "… target 'fallback'" "fallback" "$(jfield 'd["transfer_target"]')"
expect_contains "… said in English" "someone who can help" "$(jfield 'd["text"]')"

api "$admin_token" DELETE "/secretaries/$sales_id"
expect_status "DELETE /secretaries/{id} → 204" 204
api "$call_token" GET "/secretaries/$sales_id"
expect_status "… then it is gone" 404
api "$admin_token" DELETE "/secretaries/$sales_id"
expect_status "DELETE again → 404" 404

# ---- a remote model, its key sealed at rest ----

post_json "$admin_token" /secretaries "{
  \"name\": \"Remota\", \"transfer_targets\": {\"Vendas\": \"1001\"},
  \"providers\": {\"llm\": [{\"vendor\": \"openai\", \"base_url\": \"$fake_url/v1\", \"model\": \"fake\", \"api_key\": \"$secret\"}]}}"
expect_status "POST a secretary with an API key" 201
remote_id=$(jfield 'd["id"]')
expect_absent "the answer never carries the key" "$secret" "$body"
expect_eq "… only that there is one" "true" "$(jfield 'd["providers"]["llm"][0]["has_api_key"]')"
expect_eq "… and its last 4 characters" "…-xyz" "$(jfield 'd["providers"]["llm"][0]["api_key_hint"]')"
stored=$(psql -h 127.0.0.1 -p "$IVR_PG_PORT" -U postgres -d "$e2e_db" -qtA \
  -c "SELECT settings::text FROM secretaries WHERE secretary_id = '$remote_id'")
expect_contains "the secretary is stored" "api_key_sealed" "$stored"
expect_absent "the key is encrypted at rest" "$secret" "$stored"
clear_rows=$(psql -h 127.0.0.1 -p "$IVR_PG_PORT" -U postgres -d "$e2e_db" -qtA \
  -c "SELECT count(*) FROM secretaries WHERE row_to_json(secretaries)::text LIKE '%$secret%'")
expect_eq "no column of any secretary holds the key in clear" "0" "$clear_rows"

call4=$(new_uuid)
post_json "$call_token" /chat "{\"call_uuid\":\"$call4\",\"secretary_id\":\"$remote_id\",\"text\":\"Bom dia\"}"
expect_status "/chat through the remote model" 200
expect_eq "… answered by it" "openai" "$(jfield 'd["provider"]')"
expect_eq "… its text" "Resposta do modelo remoto." "$(jfield 'd["text"]')"
expect_contains "the vendor got the decrypted key" "/v1/chat/completions Bearer $secret" "$(cat "$work/auth")"
post_json "$call_token" /chat "{\"call_uuid\":\"$call4\",\"secretary_id\":\"$remote_id\",\"text\":\"me passa para a diretoria\"}"
expect_status "the model asks for a target the secretary does not allow" 200
expect_eq "… no transfer" "continue" "$(jfield 'd["action"]')"
expect_contains "… the caller is told the allowed targets" "Posso transferir para: Vendas" "$(jfield 'd["text"]')"
post_json "$call_token" /chat "{\"call_uuid\":\"$call4\",\"secretary_id\":\"$remote_id\",\"text\":\"use o marcador\"}"
expect_eq "a [TRANSFER:…] marker transfers (case-insensitive)" "transfer" "$(jfield 'd["action"]')"
expect_eq "… to the target's extension" "1001" "$(jfield 'd["transfer_to"]')"
expect_eq "… the marker is not spoken" "Claro, um momento." "$(jfield 'd["text"]')"
post_json "$call_token" /chat "{\"call_uuid\":\"$call4\",\"secretary_id\":\"$remote_id\",\"text\":\"pode desligar\"}"
expect_eq "end_call → hangup" "hangup" "$(jfield 'd["action"]')"
expect_contains "… with a goodbye when the model said nothing" "Até logo" "$(jfield 'd["text"]')"

# GET → edit → PUT keeps the stored key.
api "$call_token" GET "/secretaries/$remote_id"
edited=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["greeting"]="Editada"; print(json.dumps(d))' "$body")
put_json "$admin_token" "/secretaries/$remote_id" "$edited"
expect_status "PUT back what GET returned" 200
expect_eq "… keeps the key" "true" "$(jfield 'd["providers"]["llm"][0]["has_api_key"]')"
: >"$work/auth"
post_json "$call_token" /chat "{\"call_uuid\":\"$(new_uuid)\",\"secretary_id\":\"$remote_id\",\"text\":\"Bom dia\"}"
expect_contains "… which still opens" "Bearer $secret" "$(cat "$work/auth")"

# ---- provider chains that fail all the way down ----

closed="http://127.0.0.1:1"
post_json "$admin_token" /secretaries "{
  \"name\": \"Fora do ar\",
  \"providers\": {
    \"stt\": [{\"vendor\": \"openai\", \"base_url\": \"$closed\", \"api_key\": \"$secret\", \"timeout_ms\": 2000},
              {\"vendor\": \"deepgram\", \"base_url\": \"$closed\", \"api_key\": \"$secret\", \"timeout_ms\": 2000}],
    \"llm\": [{\"vendor\": \"openai\", \"base_url\": \"$closed\", \"api_key\": \"$secret\", \"timeout_ms\": 2000}],
    \"tts\": [{\"vendor\": \"openai\", \"base_url\": \"$closed\", \"api_key\": \"$secret\", \"timeout_ms\": 2000}]}}"
expect_status "POST a secretary whose vendors are unreachable" 201
down_id=$(jfield 'd["id"]')
api "$call_token" POST "/transcribe?secretary_id=$down_id" -H 'Content-Type: audio/wav' --data-binary "@$work/tone_8k.wav"
expect_status "every STT unreachable → 503 (errors.hpp: a provider unreachable)" 503
expect_eq "… unavailable" "unavailable" "$(jfield 'd["error"]["code"]')"
expect_contains "… listing the providers tried" "openai, deepgram" "$(jfield 'd["error"]["message"]')"
expect_absent "… without the key" "$secret" "$body"
post_json "$call_token" /chat "{\"call_uuid\":\"$(new_uuid)\",\"secretary_id\":\"$down_id\",\"text\":\"Olá\"}"
expect_status "every remote LLM unreachable: the offline model still answers" 200
expect_eq "… extractive" "extractive" "$(jfield 'd["provider"]')"
expect_absent "… without the key" "$secret" "$body"
code=$(curl -s -o "$work/down.wav" -D "$work/down_headers" -w '%{http_code}' -X POST \
  -H "X-Api-Key: $call_token" -H "X-Domain-UUID: $domain" -H 'Content-Type: application/json' \
  --data-binary "{\"text\":\"Um momento.\",\"secretary_id\":\"$down_id\",\"sample_rate\":16000}" "$base_url/synthesize") || true
expect_eq "every remote TTS unreachable: espeak still speaks" "200" "$code"
expect_contains "… espeak" "espeak" "$(tr -d '\r' <"$work/down_headers" | grep -i '^x-provider:')"
expect_eq "… a 16 kHz WAV" "RIFF WAVE 1 1 16000 16" "$(wav_header "$work/down.wav")"

post_json "$admin_token" /secretaries "{
  \"name\": \"Com defeito\",
  \"providers\": {\"stt\": [{\"vendor\": \"openai\", \"base_url\": \"$fake_url\", \"api_key\": \"$secret\"}]}}"
broken_id=$(jfield 'd["id"]')
api "$call_token" POST "/transcribe?secretary_id=$broken_id" -F "file=@$work/tone_8k.wav;type=audio/wav"
expect_status "every STT answering 500 → 502" 502
expect_eq "… upstream_error" "upstream_error" "$(jfield 'd["error"]["code"]')"
expect_contains "… listing the providers tried" "openai" "$(jfield 'd["error"]["message"]')"
expect_absent "… without the key" "$secret" "$body"
expect_absent "the daemon's log never shows the key" "$secret" "$(cat "$daemon_log")"

# Without the master key, secrets are refused with a clear error and stored ones cannot be used.
stop_daemon
unset VOICE_AI_SECURITY_MASTER_KEY
start_daemon
post_json "$admin_token" /secretaries "{\"name\":\"Sem chave\",\"providers\":{\"llm\":[{\"vendor\":\"openai\",\"api_key\":\"$secret\"}]}}"
expect_status "an API key without a master key → 422" 422
expect_eq "… naming the field" "providers.llm[0].api_key" "$(jfield 'd["error"]["details"][0]["field"]')"
expect_contains "… and the setting" "VOICE_AI_SECURITY_MASTER_KEY" "$(jfield 'd["error"]["message"]')"
expect_absent "… without echoing the key" "$secret" "$body"
post_json "$call_token" /chat "{\"call_uuid\":\"$(new_uuid)\",\"secretary_id\":\"$remote_id\",\"text\":\"Bom dia\"}"
expect_status "a stored key that cannot be opened → 422" 422
expect_absent "… without the key" "$secret" "$body"

exit $((failures > 0))
