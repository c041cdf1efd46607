-- wrk script for bench/chat_bench.sh: the same load straight at the fake LLM, to subtract its share.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench","stream":false,"messages":[{"role":"user","content":"Vocês abrem aos sábados?"}]}'
