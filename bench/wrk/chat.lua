-- wrk script for bench/chat_bench.sh: POST /chat as many concurrent calls. wrk keeps one Lua state per
-- thread, not per connection, so the calls live in a ring of `calls_per_thread` slots that requests take in
-- turn. The ring is wider than a thread's connections, so a call's next turn starts after its last one was
-- answered, as on a phone (a shared call_uuid would instead put many turns of one call in flight at once).
-- A slot starts a new call (new call_uuid) every `turns_per_call` turns, staying under max_turns.
local turns_per_call = 20
local calls_per_thread = 64
local calls = {}
local next_slot = 0
local thread_seed = 0
-- IVR_CHAT_THINK_MS: each connection waits this long before its next turn (the caller listening and
-- speaking), which makes the offered load connections * 1000 / think_ms turns/s instead of "as fast as
-- the server answers", so latency can be read below saturation. The pause is drawn uniformly from
-- [0.5, 1.5] x think_ms: a fixed one keeps the connections in lockstep, arriving in bursts.
local think_ms = tonumber(os.getenv("IVR_CHAT_THINK_MS") or "0") or 0
if think_ms > 0 then
  function delay() return math.floor(think_ms * (0.5 + math.random())) end
end

local function new_uuid()
  local t = {}
  for i = 1, 16 do t[i] = math.random(0, 255) end
  t[7] = (t[7] % 16) + 64   -- version 4
  t[9] = (t[9] % 64) + 128  -- RFC 4122 variant
  local h = {}
  for i = 1, 16 do h[i] = string.format("%02x", t[i]) end
  local s = table.concat(h)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20) .. "-" .. s:sub(21, 32)
end

function setup(thread)
  thread_seed = thread_seed + 1
  thread:set("seed", thread_seed)
end

function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end

local phrases = {
  "Bom dia, gostaria de saber o horário de atendimento.",
  "Vocês abrem aos sábados?",
  "Qual é o endereço da loja?",
  "Preciso de uma segunda via do boleto.",
}

function request()
  next_slot = next_slot % calls_per_thread + 1
  local call = calls[next_slot]
  if call == nil or call.turns == turns_per_call then
    call = { uuid = new_uuid(), turns = 0 }
    calls[next_slot] = call
  end
  call.turns = call.turns + 1
  local body = string.format('{"call_uuid":"%s","text":"%s","caller_id":"1000"}', call.uuid,
                             phrases[(call.turns % #phrases) + 1])
  return wrk.format("POST", "/chat", nil, body)
end
