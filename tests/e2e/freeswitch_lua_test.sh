#!/usr/bin/env bash
# The FreeSWITCH/FusionPBX Lua kit (freeswitch/scripts) end to end: the real lua5.3 interpreter runs the
# scripts inside a fake mod_lua (tests/lua/fake_freeswitch.lua) whose mod_curl really calls the built
# daemon over loopback. The caller's speech is espeak-ng audio; speech-to-text is a fake OpenAI-compatible
# /v1/audio/transcriptions server on 127.0.0.1; the LLM is the offline `extractive` model; TTS is espeak.
# Also a daemon that is down (closed port) or slow (accepts, never answers). The setup below is the same
# sequence of commands freeswitch/README.md gives operators.
source "$(dirname "$0")/lib.sh"

work=$(mktemp -d /tmp/ivr-e2e-fslua.XXXXXX)
fake_pids=()
cleanup_fslua() {
  local rc=$?
  if [ "$rc" != 0 ] || [ "$failures" != 0 ]; then
    if [ -n "${daemon_log:-}" ] && [ -f "$daemon_log" ]; then
      echo "--- last lines of the daemon log:" >&2
      tail -n 30 "$daemon_log" >&2
    fi
  fi
  cleanup_e2e
  for pid in "${fake_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" && wait "$pid" || true; fi
  done
  rm -rf "$work"
  [ -n "${daemon_log:-}" ] && rm -f "$daemon_log"
}
trap cleanup_fslua EXIT
new_database
export VOICE_AI_RATE_LIMIT_ENABLED=false

# ---- install the kit as freeswitch/README.md says, into a stand-in for /usr/share/freeswitch/scripts ----
# (the cases below run this installed copy, so the scripts must find their helpers from their own folder)
scripts_dir="$work/usr/share/freeswitch/scripts"
install -d "$scripts_dir/voice_ai"
cp "$IVR_SOURCE_DIR"/freeswitch/scripts/*.lua "$scripts_dir/voice_ai/"
kit="$scripts_dir/voice_ai"
if luac5.3 -p "$kit"/*.lua; then pass "luac5.3 -p: the kit parses under the Lua mod_lua uses"; else fail "luac5.3 -p"; fi
# The FusionPBX file holds two sibling <extension> entries (pasted one by one into Dialplan Manager), so
# each file is checked wrapped in one root element.
cat >"$work/xml_ok.py" <<'EOF'
import sys, xml.dom.minidom
xml.dom.minidom.parseString("<r>" + open(sys.argv[1]).read() + "</r>")
EOF
for f in "$IVR_SOURCE_DIR"/freeswitch/dialplan/*.xml; do
  if python3 "$work/xml_ok.py" "$f" 2>/dev/null; then
    pass "well-formed XML: $(basename "$f")"
  else
    fail "malformed XML: $(basename "$f")"
  fi
done

# ---- fakes: an OpenAI-compatible STT and a daemon that never answers ----

# Answers each transcription with the next line of $work/stt_queue; logs one line per request (audio
# size, whether it was a WAV, the model) to $work/stt_log.
cat >"$work/fake_stt.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

queue_path, log_path = sys.argv[2], sys.argv[3]

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path != "/v1/audio/transcriptions":
            self.send_response(404); self.end_headers(); return
        with open(queue_path) as f:
            lines = f.read().splitlines()
        text = lines[0] if lines else ""
        with open(queue_path, "w") as f:
            f.write("".join(l + "\n" for l in lines[1:]))
        model = body.split(b'name="model"', 1)[1].split(b"\r\n\r\n", 1)[1].split(b"\r\n", 1)[0] if b'name="model"' in body else b""
        with open(log_path, "a") as f:
            f.write("%d %s %s %s\n" % (len(body), b"RIFF" in body, model.decode(), text))
        data = json.dumps({"text": text}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF
cat >"$work/black_hole.py" <<'EOF'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)  # read nothing, answer nothing
EOF
: >"$work/stt_queue"
stt_port=$(free_port)
python3 "$work/fake_stt.py" "$stt_port" "$work/stt_queue" "$work/stt_log" &
fake_pids+=($!)
slow_port=$(free_port)
python3 "$work/black_hole.py" "$slow_port" &
fake_pids+=($!)
for port in "$stt_port" "$slow_port"; do
  for _ in $(seq 1 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

# ---- the caller's audio: espeak-ng speech at 8 kHz (what FreeSWITCH records), silence, a prompt ----
to_8k() {  # to_8k <in.wav> <out.wav>: 16-bit mono at 8 kHz, like a recorded PSTN/G.711 call
  python3 -W ignore - "$1" "$2" <<'EOF'
import audioop, sys, wave
with wave.open(sys.argv[1]) as r:
    rate, frames = r.getframerate(), r.readframes(r.getnframes())
data, _ = audioop.ratecv(frames, 2, 1, rate, 8000, None)
with wave.open(sys.argv[2], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(data)
EOF
}
espeak-ng -v pt-br -w "$work/raw1.wav" "Qual é o horário de atendimento?"
espeak-ng -v pt-br -w "$work/raw2.wav" "Quero falar com vendas, por favor."
to_8k "$work/raw1.wav" "$work/speech1.wav"
to_8k "$work/raw2.wav" "$work/speech2.wav"
python3 - "$work/silence.wav" "$work/prompt.wav" <<'EOF'
import math, struct, sys, wave
for path, tone in ((sys.argv[1], False), (sys.argv[2], True)):
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(4000 * math.sin(2 * math.pi * 440 * i / 8000)) if tone else 0)
                               for i in range(12000)))
EOF
[ -s "$work/speech1.wav" ] && [ -s "$work/speech2.wav" ] && pass "espeak-ng speech for the caller" || fail "espeak-ng speech"

# ---- operator setup, as in freeswitch/README.md ----
"$bin" migrate >/dev/null 2>&1 && pass "migrate" || fail "migrate"
DOMAIN=$("$bin" domain add --name pbx.example.com | cut -f1)
TOKEN=$("$bin" token create --scope call --label fs1 2>/dev/null)
ADMIN=$("$bin" token create --scope admin --label ops 2>/dev/null)
start_daemon
DAEMON=$base_url

curl -s -o "$work/secretary.json" -w '%{http_code}\n' -X POST "$DAEMON/secretaries" \
  -H "X-Api-Key: $ADMIN" -H "X-Domain-UUID: $DOMAIN" -H 'Content-Type: application/json' \
  --data-binary @- >"$work/secretary.code" <<EOF
{
  "name": "Recepção",
  "language": "pt-BR",
  "greeting": "Olá! Você ligou para a clínica. Em que posso ajudar?",
  "transfer_targets": {"Vendas": "1001", "Financeiro": "1002"},
  "fallback_extension": "1000",
  "faq": [{"question": "Qual é o horário de atendimento?", "answer": "Atendemos de segunda a sexta, das 8 às 18 horas."}],
  "providers": {"stt": [{"vendor": "openai", "base_url": "http://127.0.0.1:$stt_port", "model": "whisper-1"}]}
}
EOF
expect_eq "POST /secretaries" "201" "$(cat "$work/secretary.code")"
SECRETARY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/secretary.json" 2>/dev/null) || SECRETARY=""
[ -n "$SECRETARY" ] && pass "the secretary has an id" || fail "no secretary id: $(cat "$work/secretary.json")"

# ---- the Lua cases ----
export KIT_DIR="$kit" IVR_URL="$DAEMON" TOKEN DOMAIN DOMAIN_NAME=pbx.example.com SECRETARY WORK="$work" \
  SPEECH_1="$work/speech1.wav" SPEECH_2="$work/speech2.wav" SILENCE="$work/silence.wav" \
  FALLBACK_PROMPT="$work/prompt.wav" STT_QUEUE="$work/stt_queue" STT_LOG="$work/stt_log" \
  DEAD_URL="http://127.0.0.1:1" SLOW_URL="http://127.0.0.1:$slow_port"
lua_tests="$IVR_SOURCE_DIR/tests/lua/freeswitch_kit_test.lua"
run_lua() {  # run_lua <label> [env…] -- <cases…>: the Lua cases' own ok/FAIL lines, one verdict here
  local label=$1
  shift
  if env "$@" lua5.3 "$lua_tests" "${cases[@]}" >"$work/lua.out" 2>&1; then
    cat "$work/lua.out"
    pass "$label"
  else
    cat "$work/lua.out"
    fail "$label (see the FAIL lines above)"
  fi
}
cases=()
run_lua "Lua kit cases with lua-cjson"
# Hosts without lua-cjson: the bundled JSON codec must carry a whole call too (the cache is warm now,
# so drop it to exercise the greeting synthesis again).
rm -rf "$work/cache"
cases=(json_codec turn_call daemon_down realtime)
run_lua "Lua kit cases with the bundled JSON codec" VOICE_AI_BUNDLED_JSON=1

# ---- what reached the daemon and the vendor ----
stt_wavs=$(awk '$2=="True" && $1>8000 && $3=="whisper-1"' "$work/stt_log" | wc -l)
expect_eq "the fake STT got 5 real WAV uploads with the secretary's model (2 calls x 2 turns + 1 turn)" "5" \
  "$(awk '{n++} END {print n+0}' "$work/stt_log")"
expect_eq "… each a WAV of speech" "5" "$stt_wavs"
completed=$(psql -h 127.0.0.1 -p "$IVR_PG_PORT" -U postgres -d "$e2e_db" -qtA -c \
  "SELECT count(*) FROM calls WHERE status = 'completed' AND resolution = 'transferred' AND transferred_to = '1001' AND turns = 2")
expect_eq "two completed calls transferred to 1001 in the database" "2" "$completed"
if grep -q "$TOKEN" "$daemon_log"; then fail "the daemon log shows the token"; else pass "the daemon log never shows the token"; fi

exit $((failures > 0))
