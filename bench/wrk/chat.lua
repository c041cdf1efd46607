-- wrk script for bench/chat_bench.sh: POST /chat as many concurrent calls. Each connection plays one call
-- at a time and starts a new call (new call_uuid) every `turns_per_call` turns, staying under max_turns.
local turns_per_call = 20
local counter = 0
local call_uuid = nil
local thread_seed = 0

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
  if call_uuid == nil or counter % turns_per_call == 0 then call_uuid = new_uuid() end
  counter = counter + 1
  local body = string.format('{"call_uuid":"%s","text":"%s","caller_id":"1000"}', call_uuid,
                             phrases[(counter % #phrases) + 1])
  return wrk.format("POST", "/chat", nil, body)
end
