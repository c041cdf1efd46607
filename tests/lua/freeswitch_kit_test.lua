-- Runs the FreeSWITCH Lua kit (freeswitch/scripts) in a fake mod_lua against the real daemon started by
-- tests/e2e/freeswitch_lua_test.sh, which passes everything through the environment. Usage:
--   lua5.3 freeswitch_kit_test.lua <case>…   (cases below; prints ok/FAIL lines, exits 1 on any failure)
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
package.path = here .. '?.lua;' .. package.path
local F = require('fake_freeswitch')
local cjson = require('cjson')

local env = setmetatable({}, { __index = function(_, k)
  local v = os.getenv(k)
  if not v then error('missing environment variable ' .. k) end
  return v
end })
local kit = env.KIT_DIR .. '/'
local failures = 0

local function check(what, ok, detail)
  if ok then
    print('ok: ' .. what)
  else
    failures = failures + 1
    print('FAIL: ' .. what .. (detail and (': ' .. tostring(detail)) or ''))
  end
end
local function check_eq(what, expected, actual)
  check(what, expected == actual, string.format("expected '%s', got '%s'", tostring(expected), tostring(actual)))
end

-- The test's own commands bypass the fake's recording (F.real_popen), so only the kit's are checked.
local function sh(cmd)
  local p = (F.real_popen or io.popen)(cmd)
  local out = p:read('*a')
  p:close()
  return out
end
local function uuid() return (sh('cat /proc/sys/kernel/random/uuid'):gsub('%s', '')) end
local function files_in(dir)
  local out = {}
  for line in sh('find ' .. dir .. ' -type f 2>/dev/null'):gmatch('[^\n]+') do out[#out + 1] = line end
  return out
end

-- GET /calls/{uuid} as an operator would, with the system curl.
local function get_call(call_uuid)
  local body = sh(string.format("curl -s -H 'X-Api-Key: %s' -H 'X-Domain-UUID: %s' '%s/calls/%s'",
    env.TOKEN, env.DOMAIN, env.IVR_URL, call_uuid))
  local ok, value = pcall(cjson.decode, body)
  return ok and value or {}
end

-- What the fake STT will hear next, one transcript per request.
local function stt_says(lines)
  local f = io.open(env.STT_QUEUE, 'w')
  f:write(table.concat(lines, '\n'), #lines > 0 and '\n' or '')
  f:close()
end
local function stt_requests()
  local n = 0
  local f = io.open(env.STT_LOG)
  if not f then return 0 end
  for _ in f:lines() do n = n + 1 end
  f:close()
  return n
end

-- Channel variables FusionPBX would set, plus the kit's overrides pointing at the test daemon.
local function channel(call_uuid, overrides)
  local tmp = env.WORK .. '/fs-' .. call_uuid:sub(1, 8)
  local vars = {
    uuid = call_uuid,
    domain_uuid = env.DOMAIN,
    domain_name = env.DOMAIN_NAME,
    caller_id_number = '5511988887777',
    voice_ai_daemon_url = env.IVR_URL,
    voice_ai_token = env.TOKEN,
    voice_ai_temp_dir = tmp,
    voice_ai_cache_dir = env.WORK .. '/cache',
    voice_ai_fallback_prompt = env.FALLBACK_PROMPT,
    voice_ai_fallback_extension = '9000',
  }
  for k, v in pairs(overrides or {}) do vars[k] = v end
  return vars, tmp
end

-- Every mod_curl request must survive the real module: at most 10 words, nothing it would mangle, the
-- token as X-Api-Key:<token> without a space, JSON posts with their content type.
local function check_mod_curl_requests(label)
  local reqs = F.find('curl')
  check(label .. ': the script used mod_curl', #reqs > 0)
  for _, r in ipairs(reqs) do
    check(label .. ': mod_curl words <= 10 ' .. r.url, r.argc <= 10, r.argc)
    check(label .. ': nothing mod_curl would mangle ' .. r.url, not r.mangled, r.args)
    check(label .. ': X-Api-Key header ' .. r.url, r.headers[1] == 'X-Api-Key:' .. env.TOKEN, r.headers[1])
    if r.method == 'post' then
      check(label .. ': JSON content type ' .. r.url, r.content_type == 'application/json', r.content_type)
      check(label .. ': the body is one URL-encoded word at the end ' .. r.url, r.args:match(' post %S+$') ~= nil, r.args)
    end
  end
end

local cases = {}

-- (a) A whole call: greeting, a question answered, a request for sales transferred to 1001.
function cases.turn_call()
  F.reset()
  local call_uuid = uuid()
  local vars, tmp = channel(call_uuid)
  stt_says({ 'Qual é o horário de atendimento?', 'Quero falar com vendas, por favor.' })
  local before = stt_requests()
  local sess = F.new_session({ vars = vars, recordings = { env.SPEECH_1, env.SPEECH_2 } })
  local ok, err = F.run(kit .. 'secretary_ai.lua', sess, { env.SECRETARY })
  check('turn call: the script ran without error', ok, err)
  check_eq('turn call: what the caller went through',
    'answer streamFile recordFile streamFile recordFile streamFile transfer', F.timeline())
  local plays = F.find('streamFile')
  for i, p in ipairs(plays) do check('turn call: play ' .. i .. ' was a real WAV', p.wav, p.path) end
  check('turn call: the greeting came from the cache dir', plays[1] and plays[1].path:find(env.WORK .. '/cache/', 1, true) == 1,
    plays[1] and plays[1].path)
  local transfer = F.find('transfer')[1] or {}
  check_eq('turn call: transferred to sales', '1001', transfer.dest)
  check_eq('turn call: through the XML dialplan', 'XML', transfer.dialplan)
  check_eq("turn call: in the domain's context", env.DOMAIN_NAME, transfer.context)
  check_eq('turn call: never hung up after the transfer', 0, #F.find('hangup'))
  local rec = F.find('recordFile')[1] or {}
  check('turn call: recordFile with silence detection', rec.silence_secs and rec.threshold and rec.silence_secs > 0,
    cjson.encode({ rec.threshold or 0, rec.silence_secs or 0 }))
  check_eq('turn call: the fake STT heard both turns', before + 2, stt_requests())
  check_mod_curl_requests('turn call')

  local chats = {}
  for _, r in ipairs(F.find('curl')) do
    if r.url:match('/chat$') then chats[#chats + 1] = cjson.decode(r.data) end
  end
  check_eq('turn call: two /chat requests', 2, #chats)
  check_eq('turn call: /chat carries the call uuid', call_uuid, chats[1] and chats[1].call_uuid)
  check_eq('turn call: /chat carries the tenant', env.DOMAIN, chats[1] and chats[1].domain_uuid)
  check_eq('turn call: /chat carries the caller id', '5511988887777', chats[1] and chats[1].caller_id)
  check_eq('turn call: /chat carries the accents intact', 'Qual é o horário de atendimento?', chats[1] and chats[1].text)

  local ends = {}
  for _, r in ipairs(F.find('curl')) do
    if r.url:match('/calls/.*/end$') then ends[#ends + 1] = r end
  end
  check_eq('turn call: one end-of-call request', 1, #ends)
  check_eq('turn call: … answered 200', 200, ends[1] and ends[1].status)

  local stored = get_call(call_uuid)
  check_eq('turn call: the daemon has the call completed', 'completed', stored.status)
  check_eq('turn call: … resolution transferred', 'transferred', stored.resolution)
  check_eq('turn call: … to 1001', '1001', stored.transferred_to)
  check_eq('turn call: … two turns', 2, stored.turns)
  check_eq('turn call: … the caller id', '5511988887777', stored.caller_id)
  check('turn call: … a duration', type(stored.duration_seconds) == 'number', stored.duration_seconds)
  local said = {}
  for _, m in ipairs(stored.transcript or {}) do if m.role == 'caller' then said[#said + 1] = m.text end end
  check_eq('turn call: … the transcript has what the caller said', 'Quero falar com vendas, por favor.', said[2])
  check_eq('turn call: temp files removed', 0, #files_in(tmp))
  check_eq('turn call: the greeting is cached once', 1, #files_in(env.WORK .. '/cache'))
  local leaked = false
  for _, c in ipairs(F.commands) do if c:find(env.TOKEN, 1, true) then leaked = c end end
  check('turn call: the token never appears on a command line', not leaked, leaked)
  for _, e in ipairs(F.find('log')) do
    check('turn call: logs never show the token', not e.message:find(env.TOKEN, 1, true), e.message)
  end
end

-- (b) The daemon is down: a prompt from disk and the fallback extension, at once.
local function daemon_unusable(label, url, extra)
  F.reset()
  local call_uuid = uuid()
  local overrides = { voice_ai_daemon_url = url }
  for k, v in pairs(extra or {}) do overrides[k] = v end
  local vars, tmp = channel(call_uuid, overrides)
  local sess = F.new_session({ vars = vars, recordings = { env.SPEECH_1 } })
  local started = os.time()
  local ok, err = F.run(kit .. 'secretary_ai.lua', sess, { env.SECRETARY })
  check(label .. ': the script ran without error', ok, err)
  check_eq(label .. ': fallback prompt then transfer', 'answer streamFile transfer', F.timeline())
  check_eq(label .. ': the fallback prompt', env.FALLBACK_PROMPT, (F.find('streamFile')[1] or {}).path)
  local transfer = F.find('transfer')[1] or {}
  check_eq(label .. ': to the fallback extension', '9000', transfer.dest)
  check_eq(label .. ': in the domain context', env.DOMAIN_NAME, transfer.context)
  check_eq(label .. ': the resolution is set for the CDR', 'fallback', sess.vars.voice_ai_resolution)
  local warned = false
  for _, e in ipairs(F.find('log')) do if e.level == 'WARNING' and e.message:find('fallback') then warned = true end end
  check(label .. ': the reason is logged', warned)
  check_eq(label .. ': temp files removed', 0, #files_in(tmp))
  return os.time() - started
end

function cases.daemon_down()
  local seconds = daemon_unusable('daemon down', env.DEAD_URL)
  check('daemon down: the caller waited only a moment', seconds <= 2, seconds)
end

function cases.daemon_slow()
  local seconds = daemon_unusable('daemon slow', env.SLOW_URL, { voice_ai_request_timeout = '1' })
  -- 1 s for the settings, 1 s for the end-of-call report; never the default 15 s.
  check('daemon slow: the timeout bounds the wait', seconds <= 4, seconds)
end

-- The daemon answers but cannot transcribe (no STT on the default secretary): fallback mid-call.
function cases.daemon_error_mid_call()
  F.reset()
  local call_uuid = uuid()
  local vars, tmp = channel(call_uuid)
  local sess = F.new_session({ vars = vars, recordings = { env.SPEECH_1 } })
  local ok, err = F.run(kit .. 'secretary_ai.lua', sess, {})
  check('mid-call error: the script ran without error', ok, err)
  check_eq('mid-call error: greeting, turn, prompt, transfer', 'answer streamFile recordFile streamFile transfer',
    F.timeline())
  check_eq('mid-call error: the fallback prompt', env.FALLBACK_PROMPT, (F.find('streamFile')[2] or {}).path)
  check_eq('mid-call error: to the fallback extension', '9000', (F.find('transfer')[1] or {}).dest)
  check_eq('mid-call error: the daemon records the fallback', 'fallback', get_call(call_uuid).resolution)
  check_eq('mid-call error: temp files removed', 0, #files_in(tmp))
end

-- (d) Nothing said twice: ask again, then the secretary's fallback extension.
function cases.no_speech()
  F.reset()
  local call_uuid = uuid()
  local vars, tmp = channel(call_uuid)
  local before = stt_requests()
  -- First nothing written at all (silence detection stopped at once), then a silent WAV.
  local sess = F.new_session({ vars = vars, recordings = { false, env.SILENCE } })
  local ok, err = F.run(kit .. 'secretary_ai.lua', sess, { env.SECRETARY })
  check('no speech: the script ran without error', ok, err)
  check_eq('no speech: greeting, silence, reprompt, silence, prompt, transfer',
    'answer streamFile recordFile streamFile recordFile streamFile transfer', F.timeline())
  local plays = F.find('streamFile')
  check('no speech: the reprompt is speech from the cache', plays[2] and plays[2].wav
    and plays[2].path:find(env.WORK .. '/cache/', 1, true) == 1, plays[2] and plays[2].path)
  check_eq('no speech: then the fallback prompt', env.FALLBACK_PROMPT, plays[3] and plays[3].path)
  check_eq("no speech: to the secretary's fallback extension", '1000', (F.find('transfer')[1] or {}).dest)
  check_eq('no speech: silence never reached the STT vendor', before, stt_requests())
  local synth = 0
  for _, c in ipairs(F.commands) do if c:find('/synthesize', 1, true) then synth = synth + 1 end end
  check_eq('no speech: the greeting came from the cache (only the reprompt was synthesised)', 1, synth)
  local stored = get_call(call_uuid)
  check_eq('no speech: the daemon records no_input', 'no_input', stored.resolution)
  check_eq('no speech: … and the extension', '1000', stored.transferred_to)
  check_eq('no speech: temp files removed', 0, #files_in(tmp))
end

-- A caller who hangs up mid-call: no transfer, no hangup by us, the call still reported.
function cases.caller_hangs_up()
  F.reset()
  local call_uuid = uuid()
  local vars, tmp = channel(call_uuid)
  stt_says({ 'Qual é o horário de atendimento?' })
  local sess = F.new_session({ vars = vars, recordings = { env.SPEECH_1, 'hangup' } })
  local ok, err = F.run(kit .. 'secretary_ai.lua', sess, { env.SECRETARY })
  check('hang-up: the script ran without error', ok, err)
  check_eq('hang-up: greeting, one turn, then the caller left', 'answer streamFile recordFile streamFile recordFile',
    F.timeline())
  check_eq('hang-up: the daemon records the call as abandoned', 'abandoned', get_call(call_uuid).resolution)
  check_eq('hang-up: temp files removed', 0, #files_in(tmp))
end

-- (c) The realtime starter: the exact uuid_audio_stream command, the token in STREAM_EXTRA_HEADERS, the
-- channel kept alive until the daemon transfers, then the stream stopped.
function cases.realtime()
  F.reset()
  local call_uuid = uuid()
  local vars = channel(call_uuid)
  local sess = F.new_session({ vars = vars, on_sleep = function(s, n)
    if n == 1 then F.fire('mod_audio_stream::connect', call_uuid, '{"status":"connected"}') end
    if n == 2 then F.fire('mod_audio_stream::error', uuid(), '{"status":"error","message":{"http_status":503}}') end
    if n == 3 then -- the daemon's uuid_transfer, then its normal close
      s.alive = false
      F.fire('mod_audio_stream::disconnect', call_uuid, '{"status":"disconnected","message":{"code":1000}}')
    end
  end })
  local ok, err = F.run(kit .. 'secretary_realtime.lua', sess, { env.SECRETARY })
  check('realtime: the script ran without error', ok, err)
  check_eq('realtime: answered first', 'answer', F.events[1] and F.events[1].kind)
  local headers
  for _, e in ipairs(F.find('setVariable')) do
    if e.name == 'STREAM_EXTRA_HEADERS' then headers = cjson.decode(e.value) end
  end
  check('realtime: STREAM_EXTRA_HEADERS is set', headers ~= nil)
  headers = headers or {}
  check_eq('realtime: … with the token', env.TOKEN, headers['X-Api-Key'])
  check_eq('realtime: … and the tenant', env.DOMAIN, headers['X-Domain-UUID'])
  local api = F.find('api')
  local start = api[1] and api[1].command or ''
  local ws = env.IVR_URL:gsub('^http', 'ws')
  local prefix = string.format('uuid_audio_stream %s start %s/stream/%s?domain_uuid=%s&secretary_id=%s mono 16k ',
    call_uuid, ws, call_uuid, env.DOMAIN, env.SECRETARY)
  check_eq('realtime: the exact start command', prefix, start:sub(1, #prefix))
  local ok_meta, meta = pcall(cjson.decode, start:sub(#prefix + 1))
  check('realtime: the metadata is JSON', ok_meta, start)
  meta = ok_meta and meta or {}
  check_eq('realtime: metadata domain_uuid', env.DOMAIN, meta.domain_uuid)
  check_eq('realtime: metadata secretary_id', env.SECRETARY, meta.secretary_id)
  check_eq('realtime: metadata caller_id', '5511988887777', meta.caller_id)
  check('realtime: the metadata has no quote or backslash FreeSWITCH would strip', not start:find("['\\]"), start)
  check_eq('realtime: the channel was kept alive until the transfer', 3, sess.sleeps)
  check_eq('realtime: then the stream is stopped', 'uuid_audio_stream ' .. call_uuid .. ' stop', api[2] and api[2].command)
  check_eq('realtime: no other API command', 2, #api)
  check_eq('realtime: no hangup or transfer by the script', 0, #F.find('hangup') + #F.find('transfer'))
  check_eq('realtime: another call\'s stream error changes nothing', 'answer', F.timeline())
  local bound = F.consumers[1] and F.consumers[1].bound or {}
  check('realtime: listens to the module\'s connect, error and disconnect events',
    bound['CUSTOM/mod_audio_stream::connect'] and bound['CUSTOM/mod_audio_stream::error']
    and bound['CUSTOM/mod_audio_stream::disconnect'])
  check_eq('realtime: never blocks the channel thread waiting for events', 0, #F.find('blocking_pop'))
end

-- The daemon reached but not taking the call, or gone mid-call: the caller goes to a person, never sits in
-- silence. Each case: the events mod_audio_stream fires (at which sleep), and what the script must do.
local function realtime_failure(name, fire, expect_sleeps, overrides)
  F.reset()
  local call_uuid = uuid()
  local vars = channel(call_uuid, overrides)
  local sess = F.new_session({ vars = vars, on_sleep = function(s, n)
    fire(call_uuid, n)
    if n > 100 then s.alive = false end -- the test's own limit: the script should have acted long before
  end })
  if fire then F.on_stream_start = function(u) fire(u, 0) end end
  local ok, err = F.run(kit .. 'secretary_realtime.lua', sess, { env.SECRETARY })
  check(name .. ': the script ran without error', ok, err)
  check_eq(name .. ': prompt then transfer', 'answer streamFile transfer', F.timeline())
  check_eq(name .. ': to the fallback extension', '9000', (F.find('transfer')[1] or {}).dest)
  check_eq(name .. ': acted after ' .. expect_sleeps .. ' sleeps', expect_sleeps, sess.sleeps)
  local api = F.find('api')
  check_eq(name .. ': the stream is stopped', 'uuid_audio_stream ' .. call_uuid .. ' stop',
    api[#api] and api[#api].command)
end

function cases.realtime_stream_failures()
  -- The handshake refused (a full or overloaded daemon: 503), reported right after the start.
  realtime_failure('refused handshake', function(u, n)
    if n == 0 then
      F.fire('mod_audio_stream::error', u,
        '{"status":"error","message":{"retries":1,"error":"Expecting status 101","wait_time":0,"http_status":503}}')
    end
  end, 0)
  -- Accepted, then closed with 1013 (busy) or dropped (1006) mid-call.
  realtime_failure('closed with 1013', function(u, n)
    if n == 1 then F.fire('mod_audio_stream::connect', u, '{"status":"connected"}') end
    if n == 2 then
      F.fire('mod_audio_stream::disconnect', u, '{"status":"disconnected","message":{"code":1013,"reason":"busy"}}')
    end
  end, 2)
  realtime_failure('dropped', function(u, n)
    if n == 4 then F.fire('mod_audio_stream::disconnect', u, '{"status":"disconnected","message":{"code":1006}}') end
  end, 4)
  -- Closed normally, yet the channel stays: after the grace (1000 ms = 5 polls of 200 ms), a person.
  realtime_failure('closed but still here', function(u, n)
    if n == 2 then F.fire('mod_audio_stream::disconnect', u, '{"status":"disconnected","message":{"code":1000}}') end
  end, 7, { voice_ai_stream_closed_grace_ms = '1000' })
  check_eq('closed but still here: the stream stopped once, at the close', 2, #F.find('api'))
  -- A poll interval of 0 from a channel variable must not spin: it is raised to 20 ms.
  realtime_failure('poll of 0', function(u, n)
    if n == 2 then F.fire('mod_audio_stream::disconnect', u, '{"status":"disconnected","message":{"code":1000}}') end
  end, 52, { voice_ai_stream_closed_grace_ms = '1000', voice_ai_stream_poll_ms = '0' })
end

-- A mod_lua without EventConsumer: the script still runs the call to its end, and says what it cannot see.
function cases.realtime_without_event_consumer()
  F.reset()
  local saved = freeswitch.EventConsumer
  freeswitch.EventConsumer = nil
  local call_uuid = uuid()
  local sess = F.new_session({ vars = channel(call_uuid), on_sleep = function(s, n)
    if n == 2 then s.alive = false end
  end })
  local ok, err = F.run(kit .. 'secretary_realtime.lua', sess, { env.SECRETARY })
  freeswitch.EventConsumer = saved
  check('no EventConsumer: the script ran without error', ok, err)
  check_eq('no EventConsumer: kept alive until the call left', 2, sess.sleeps)
  local warned = false
  for _, e in ipairs(F.find('log')) do
    if e.message:find('EventConsumer') then warned = true end
  end
  check('no EventConsumer: a warning says so', warned)
end

-- mod_audio_stream missing or refusing: fallback prompt and transfer, never silence.
function cases.realtime_no_module()
  F.reset()
  F.stream_start_reply = '-ERR Command not found!'
  local vars = channel(uuid())
  local sess = F.new_session({ vars = vars })
  local ok, err = F.run(kit .. 'secretary_realtime.lua', sess, {})
  F.stream_start_reply = nil
  check('realtime without the module: the script ran without error', ok, err)
  check_eq('realtime without the module: prompt then transfer', 'answer streamFile transfer', F.timeline())
  check_eq('realtime without the module: to the fallback extension', '9000', (F.find('transfer')[1] or {}).dest)
end

-- The kit's JSON codec (cjson or the bundled one, whichever this process uses) on awkward input.
function cases.json_codec()
  local va = dofile(kit .. 'voice_ai.lua')
  local expected = os.getenv('VOICE_AI_BUNDLED_JSON') == '1' and 'bundled' or 'cjson'
  check_eq('json: the codec in use', expected, va.json.name)
  local text = 'Olá "mundo" \\ \n\t\1 ☎ 😀'
  local back = va.decode(va.json.encode({ t = text, n = 42, f = 1.5, b = true, a = { 1, 'x' } }))
  check_eq('json: strings round-trip', text, back and back.t)
  check_eq('json: integers', 42, back and back.n)
  check_eq('json: floats', 1.5, back and back.f)
  check_eq('json: arrays', 'x', back and back.a and back.a[2])
  local parsed = va.decode('{"s":"\\u00e9\\ud83d\\ude00\\/","e":[],"o":{},"z":null,"x":-1.5e2}')
  check_eq('json: \\u escapes and surrogate pairs', 'é😀/', parsed and parsed.s)
  check_eq('json: exponent numbers', -150, parsed and parsed.x)
  check('json: null is no string', va.str(parsed and parsed.z) == nil)
  check('json: garbage is nil, not an error', va.decode('{"a":') == nil and va.decode('<html>') == nil)
  check_eq('json: url_encode leaves nothing mod_curl splits on', 'a%20b%25%27%22%5C%2B%C3%A9',
    va.url_encode('a b%\'"\\+é'))
end

F.install()
local wanted = { ... }
if #wanted == 0 then
  wanted = { 'json_codec', 'turn_call', 'no_speech', 'caller_hangs_up', 'daemon_error_mid_call', 'daemon_down',
    'daemon_slow', 'realtime', 'realtime_stream_failures', 'realtime_without_event_consumer', 'realtime_no_module' }
end
for _, name in ipairs(wanted) do
  print('--- ' .. name)
  local fn = cases[name]
  if not fn then
    check('known case ' .. name, false)
  else
    local ok, err = xpcall(fn, debug.traceback)
    check(name .. ' finished', ok, err)
  end
end
if failures > 0 then
  print(failures .. ' failure(s)')
  os.exit(1)
end
