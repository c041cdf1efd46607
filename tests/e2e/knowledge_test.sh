#!/usr/bin/env bash
# The knowledge base end to end against the built daemon and the real Postgres and Redis: uploads (PDF,
# DOCX, TXT; duplicates; bad input), background ingestion to `ready` or `failed` with a reason, search
# through POST /documents/search and through /chat, delete, tenant isolation, a restart in the middle of
# an ingestion (resumed), a change of embedding model (re-embedded) and a second instance told over Redis
# pub/sub to drop its copy of an index.
source "$(dirname "$0")/lib.sh"

work=$(mktemp -d /tmp/ivr-e2e-kb.XXXXXX)
second_pid=""
cleanup_knowledge() {
  local rc=$?
  if [ "$rc" != 0 ] || [ "$failures" != 0 ]; then
    if [ -n "${daemon_log:-}" ] && [ -f "$daemon_log" ]; then
      echo "--- last lines of the daemon log:" >&2
      tail -n 40 "$daemon_log" >&2
    fi
  fi
  if [ -n "$second_pid" ] && kill -0 "$second_pid" 2>/dev/null; then kill "$second_pid" && wait "$second_pid" || true; fi
  cleanup_e2e
  rm -rf "$work"
}
trap cleanup_knowledge EXIT
new_database
export VOICE_AI_RATE_LIMIT_ENABLED=false
export VOICE_AI_KNOWLEDGE_POLL_INTERVAL_MS=200
export VOICE_AI_KNOWLEDGE_LEASE_MS=1500
export VOICE_AI_KNOWLEDGE_MAX_UPLOAD_BYTES=1000000
data="$IVR_SOURCE_DIR/tests/data/knowledge"

"$bin" migrate >/dev/null 2>&1 && pass "migrate" || fail "migrate"
domain=$("$bin" domain add --name clinica.example.com | cut -f1)
other=$("$bin" domain add --name outra.example.com | cut -f1)
admin_token=$("$bin" token create --scope admin 2>/dev/null)
call_token=$("$bin" token create --scope call 2>/dev/null)
start_daemon

db() { psql -h 127.0.0.1 -p "$IVR_PG_PORT" -U postgres -d "$e2e_db" -qtA -c "$1"; }
# upload <file> [extra curl -F args…]: POST /documents/upload as the admin of $tenant/$domain.
upload() {
  local file=$1
  shift
  api "$admin_token" POST /documents/upload -F "file=@$file" "$@"
}
# wait_status <id> <status>: polls GET /documents/{id} for up to 15 s; leaves the last answer in $body.
wait_status() {
  local id=$1 want=$2
  for _ in $(seq 1 75); do
    api "$admin_token" GET "/documents/$id"
    if [ "$(jfield 'd["status"]')" == "$want" ]; then return 0; fi
    sleep 0.2
  done
  return 1
}
search() {  # search <query> [top_k]
  post_json "$admin_token" /documents/search "{\"query\":\"$1\",\"top_k\":${2:-4}}"
}

# ---- documents of three kinds ----
cat >"$work/horarios.txt" <<'EOF'
Horário de atendimento

A clínica atende de segunda a sexta-feira, das 7h às 19h, e aos sábados das 8h às 12h.
Não abrimos aos domingos nem nos feriados nacionais.

Estacionamento

Há estacionamento gratuito para pacientes na Rua das Acácias, 120, ao lado da recepção.
EOF
printf 'Convênios aceitos: Unimed, Bradesco Saúde, SulAmérica e Amil. Para usar o convênio traga a carteirinha e um documento com foto.\n' |
  iconv -f UTF-8 -t LATIN1 >"$work/convenios.txt"

upload "$work/horarios.txt"
expect_status "upload a TXT → 202" 202
txt_id=$(jfield 'd["id"]')
expect_eq "… processing at once" "processing" "$(jfield 'd["status"]')"
expect_eq "… titled by the file name" "horarios" "$(jfield 'd["title"]')"
expect_eq "… its SHA-256" "$(sha256sum "$work/horarios.txt" | cut -d' ' -f1)" "$(jfield 'd["sha256"]')"
wait_status "$txt_id" ready && pass "the TXT becomes ready" || fail "the TXT is not ready: $body"
expect_eq "… with one chunk" "1" "$(jfield 'd["chunks"]')"
expect_eq "… embedded with the hash model" "hash-v1-384" "$(jfield 'd["embedding_model"]')"

upload "$work/horarios.txt" -F "title=Outro nome"
expect_status "the same bytes again → 200" 200
expect_eq "… the existing document" "$txt_id" "$(jfield 'd["id"]')"
expect_eq "… marked as a duplicate" "true" "$(jfield 'd["duplicate"]')"

upload "$work/convenios.txt" -F "title=Convênios"
expect_status "upload a Latin-1 TXT with a title" 202
latin_id=$(jfield 'd["id"]')
upload "$data/tecnosul_planos.pdf"
expect_status "upload a PDF" 202
pdf_id=$(jfield 'd["id"]')
expect_eq "… detected as a PDF" "pdf" "$(jfield 'd["type"]')"
cp "$data/clinica_precos.docx" "$work/precos.bin"  # the name says nothing: the bytes decide
upload "$work/precos.bin" -F "title=Tabela de preços"
expect_status "upload a DOCX named .bin" 202
docx_id=$(jfield 'd["id"]')
expect_eq "… detected as a DOCX" "docx" "$(jfield 'd["type"]')"
wait_status "$pdf_id" ready && pass "the PDF becomes ready" || fail "the PDF is not ready: $body"
[ "$(jfield 'd["pages"]')" -ge 1 ] 2>/dev/null && pass "… with its pages counted" || fail "… pages: $body"
wait_status "$docx_id" ready && pass "the DOCX becomes ready" || fail "the DOCX is not ready: $body"
[ "$(jfield 'd["chunks"]')" -ge 1 ] 2>/dev/null && pass "… with its chunks counted" || fail "… chunks: $body"
wait_status "$latin_id" ready && pass "the Latin-1 TXT becomes ready" || fail "the Latin-1 TXT: $body"
# A long text: about 5,000 estimated tokens → several ~1000-token chunks that overlap.
python3 -c '
for i in range(1, 41):
    print(f"Seção {i}. " + " ".join(f"O procedimento número {i}.{j} exige preparo específico e jejum de oito horas." for j in range(1, 9)))
    print()' >"$work/manual.txt"
upload "$work/manual.txt"
long_id=$(jfield 'd["id"]')
wait_status "$long_id" ready && pass "a long TXT becomes ready" || fail "the long TXT: $body"
chunks=$(jfield 'd["chunks"]')
tokens=$(jfield 'd["tokens"]')
[ "${chunks:-0}" -ge 5 ] && [ "${chunks:-0}" -le 9 ] && pass "… in $chunks chunks" || fail "… chunks: $body"
# Overlap: the chunks' tokens add up to more than the text's own estimate.
text_tokens=$(python3 -c 'import sys; t=open(sys.argv[1], encoding="utf-8").read().strip(); print(-(-len(t)//4))' "$work/manual.txt")
[ "${tokens:-0}" -gt "$text_tokens" ] && pass "… which overlap ($tokens tokens in chunks, $text_tokens in the text)" ||
  fail "… no overlap: $tokens vs $text_tokens"

api "$admin_token" GET /documents
expect_status "GET /documents" 200
expect_eq "… lists the five documents" "5" "$(jfield 'len(d["documents"])')"

# ---- search ----
search "A clínica abre no sábado?"
expect_status "POST /documents/search" 200
expect_eq "… the opening hours first" "horarios" "$(jfield 'd["results"][0]["document_title"]')"
expect_contains "… with the passage" "sábados das 8h às 12h" "$(jfield 'd["results"][0]["text"]')"
search "Quanto custa a consulta de cardiologia?"
expect_eq "prices are found in the DOCX" "Tabela de preços" "$(jfield 'd["results"][0]["document_title"]')"
search "Vocês aceitam o convênio Unimed?"
expect_eq "the Latin-1 text was read as text" "Convênios" "$(jfield 'd["results"][0]["document_title"]')"
expect_contains "… accents intact" "Saúde" "$(jfield 'd["results"][0]["text"]')"
search "Quanto custa a consulta de cardiologia?" 1
expect_eq "top_k limits the results" "1" "$(jfield 'len(d["results"])')"
search "Какая погода в Москве завтра"
expect_eq "nothing alike → no results (minimum score)" "0" "$(jfield 'len(d["results"])')"
post_json "$admin_token" /documents/search '{"query":"A clínica abre no sábado?","min_score":0.99}'
expect_eq "… and min_score is the caller's to raise" "0" "$(jfield 'len(d["results"])')"

call=$(new_uuid)
post_json "$call_token" /chat "{\"call_uuid\":\"$call\",\"text\":\"Onde fica o estacionamento?\"}"
expect_status "/chat with the knowledge base" 200
expect_eq "… cites the document it used" "horarios" "$(jfield 'd["sources"][0]["document_title"]')"
expect_contains "… and answers from it" "Acácias" "$(jfield 'd["text"]')"

# ---- bad input ----
api "$admin_token" POST /documents/upload -H 'Content-Type: text/plain' --data-binary 'oi'
expect_status "a text/plain body → 415" 415
api "$admin_token" POST /documents/upload -F "title=sem arquivo"
expect_status "multipart without a file → 400" 400
api "$admin_token" POST /documents/upload -H 'Content-Type: multipart/form-data; boundary=xyz' --data-binary $'--xyz\r\nbroken'
expect_status "malformed multipart → 400" 400
: >"$work/empty.txt"
upload "$work/empty.txt"
expect_status "an empty file → 422" 422
cp /bin/true "$work/programa.pdf"
upload "$work/programa.pdf"
expect_status "an executable renamed .pdf → 415" 415
expect_contains "… saying what it is" "executable" "$body"
head -c 1500000 /dev/zero | tr '\0' 'a' >"$work/big.txt"
upload "$work/big.txt"
expect_status "over the upload limit → 413" 413
api "$call_token" POST /documents/upload -F "file=@$work/horarios.txt"
expect_status "a call token cannot upload → 403" 403
api "$call_token" GET /documents
expect_status "… nor list documents → 403" 403
upload "$work/horarios.txt" -F "secretary_id=$(new_uuid)"
expect_status "another domain's or an unknown secretary → 404" 404
head -c 3000 "$data/tecnosul_planos.pdf" >"$work/cortado.pdf"
upload "$work/cortado.pdf"
expect_status "a truncated PDF is accepted…" 202
cut_id=$(jfield 'd["id"]')
wait_status "$cut_id" failed && pass "… and ends failed" || fail "… the truncated PDF: $body"
expect_contains "… with a reason" "PDF" "$(jfield 'd["reason"]')"
head -c 4000 "$data/clinica_precos.docx" >"$work/cortado.docx"
upload "$work/cortado.docx"
docx_cut=$(jfield 'd["id"]')
wait_status "$docx_cut" failed && pass "a truncated DOCX ends failed" || fail "the truncated DOCX: $body"
expect_contains "… as damaged" "damaged" "$(jfield 'd["reason"]')"
post_json "$admin_token" /documents/search '{"query":""}'
expect_status "search with an empty query → 422" 422
post_json "$admin_token" /documents/search '{"query":"oi","top_k":500}'
expect_status "search with top_k 500 → 422" 422
expect_eq "the daemon is healthy after all that" "200" "$(status "$base_url/health")"

# ---- isolation ----
tenant=$other
api "$admin_token" GET /documents
expect_eq "another domain lists none of them" "0" "$(jfield 'len(d["documents"])')"
api "$admin_token" GET "/documents/$txt_id"
expect_status "… cannot read one by id → 404" 404
api "$admin_token" DELETE "/documents/$txt_id"
expect_status "… cannot delete one → 404" 404
search "A clínica abre no sábado?"
expect_eq "… cannot find them by search" "0" "$(jfield 'len(d["results"])')"
post_json "$call_token" /chat "{\"call_uuid\":\"$(new_uuid)\",\"text\":\"Onde fica o estacionamento?\"}"
expect_eq "… its calls cite nothing of them" "0" "$(jfield 'len(d["sources"])')"
upload "$work/horarios.txt"
expect_status "… uploads the same bytes as a new document of its own" 202
other_doc=$(jfield 'd["id"]')
[ "$other_doc" != "$txt_id" ] && pass "… with another id" || fail "… the same id across domains"
unset tenant
api "$admin_token" GET "/documents/$txt_id"
expect_status "the first domain still has its document" 200

# ---- a second instance drops its index when the first changes the domain (Redis pub/sub) ----
second_port=$(free_port)
VOICE_AI_SERVER_PORT=$second_port "$bin" serve >"$work/second.log" 2>&1 &
second_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$second_port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
second_search() {
  code=$(curl -s -o "$work/body2" -w '%{http_code}' -H "X-Api-Key: $admin_token" -H "X-Domain-UUID: $domain" \
    -H 'Content-Type: application/json' --data-binary "{\"query\":\"$1\"}" "http://127.0.0.1:$second_port/documents/search")
  body=$(cat "$work/body2")
}
second_search "Onde fica o estacionamento?"
expect_eq "the second instance searches the same documents" "horarios" "$(jfield 'd["results"][0]["document_title"]')"

# ---- delete ----
api "$admin_token" DELETE "/documents/$txt_id"
expect_status "DELETE /documents/{id}" 200
api "$admin_token" GET "/documents/$txt_id"
expect_status "… then it is gone" 404
search "Onde fica o estacionamento?"
expect_absent "… and no longer found here" "horarios" "$body"
expect_eq "… its chunks are gone from Postgres" "0" "$(db "SELECT count(*) FROM document_chunks WHERE document_id = '$txt_id'")"
second_search "Onde fica o estacionamento?"
expect_absent "… nor by the second instance (told over Redis)" "horarios" "$body"
kill "$second_pid" && wait "$second_pid" || true
second_pid=""

# ---- a restart in the middle of an ingestion: resumed ----
kill -KILL "$daemon_pid" && wait "$daemon_pid" 2>/dev/null || true
daemon_pid=""
# What a crash leaves: the row claimed (lease still running), no chunks.
db "DELETE FROM document_chunks WHERE document_id = '$pdf_id'; UPDATE documents SET status = 'processing', chunk_count = 0, lease_until = now() + interval '1 second' WHERE document_id = '$pdf_id'" >/dev/null
start_daemon
wait_status "$pdf_id" ready && pass "a document left processing by a crash is resumed after a restart" ||
  fail "not resumed: $body"
search "planos de internet"
expect_contains "… and searchable again" "tecnosul" "$body"

# ---- extraction runs in a child process with a deadline: a slow document fails, the daemon lives on ----
stop_daemon
VOICE_AI_KNOWLEDGE_EXTRACT_TIMEOUT_MS=1 start_daemon
python3 -c 'print("Texto novo para o prazo de extração. " * 200)' >"$work/prazo.txt"
upload "$work/prazo.txt"
slow_id=$(jfield 'd["id"]')
wait_status "$slow_id" failed && pass "… ends failed" || fail "… under the deadline: $body"
expect_eq "… saying why" "extracting the document took longer than 1 ms" "$(jfield 'd["reason"]')"
expect_eq "… and the daemon is healthy" "200" "$(status "$base_url/health")"

# ---- a new embedding model: documents re-embedded in the background ----
stop_daemon
VOICE_AI_KNOWLEDGE_EMBEDDING_DIMENSION=512 start_daemon
wait_status "$docx_id" ready
for _ in $(seq 1 75); do
  api "$admin_token" GET "/documents/$docx_id"
  [ "$(jfield 'd["embedding_model"]')" == "hash-v1-512" ] && break
  sleep 0.2
done
expect_eq "a model change re-embeds the documents" "hash-v1-512" "$(jfield 'd["embedding_model"]')"
search "Quanto custa a consulta de cardiologia?"
expect_eq "… and search uses the new vectors" "Tabela de preços" "$(jfield 'd["results"][0]["document_title"]')"
expect_eq "no vectors of the old model are left for it" "0" \
  "$(db "SELECT count(*) FROM document_chunks WHERE document_id = '$docx_id' AND embedding_model <> 'hash-v1-512'")"

exit $((failures > 0))
