-- The realtime AI secretary (v2 flow). Run from the dialplan:
--   <action application="lua" data="voice_ai/secretary_realtime.lua [secretary_id]"/>
-- Answers, then lets mod_audio_stream carry the caller's audio to the daemon's /stream/{uuid} WebSocket.
-- The daemon speaks, transfers (uuid_transfer) or hangs up (uuid_kill) over the Event Socket; this script
-- only keeps the channel alive until then, and stops the stream when the call leaves it.
local dir = (debug.getinfo(1, 'S').source or ''):match('^@(.*[/\\])') or './'
local va = dofile(dir .. 'voice_ai.lua')

-- FreeSWITCH strips or escapes ' and \ in API arguments: keep them out of the metadata.
local function clean(s)
  return (tostring(s or ''):gsub("['\\]", ''))
end

-- ws://host:port/stream/<uuid>?domain_uuid=…&secretary_id=… . The tenant is in the URL as well as in
-- the metadata frame because the module does not guarantee the metadata arrives before the audio.
local function stream_url(call)
  local base = call.cfg.stream_url
  if base == '' then base = call.base_url:gsub('^http', 'ws') end
  local url = base:gsub('/+$', '') .. '/stream/' .. call.uuid .. '?domain_uuid=' .. va.url_encode(call.domain_uuid)
  if call.secretary_id ~= '' then url = url .. '&secretary_id=' .. va.url_encode(call.secretary_id) end
  return url
end

-- The start command: uuid_audio_stream <uuid> start <url> <mix> <rate> <metadata JSON>.
local function start_args(call)
  local metadata = va.json.encode({
    domain_uuid = clean(call.domain_uuid),
    domain_name = clean(call.domain_name),
    secretary_id = clean(call.secretary_id),
    caller_id = clean(call.caller_id),
    call_uuid = clean(call.uuid),
  })
  return table.concat({ call.uuid, 'start', stream_url(call), call.cfg.stream_mix, call.cfg.stream_rate,
    metadata }, ' ')
end

-- The daemon cannot take the call: a prompt from disk, then a person.
local function fallback(call, reason)
  va.log(call, 'WARNING', 'fallback: ' .. reason)
  if not call.session:ready() then return end
  call.session:streamFile(call.cfg.fallback_prompt)
  if call.session:ready() then
    va.log(call, 'INFO', 'transfer to ' .. call.fallback_extension .. '@' .. call.context)
    call.session:transfer(call.fallback_extension, 'XML', call.context)
  end
end

-- mod_audio_stream reports on the connection with CUSTOM events carrying the channel's Unique-ID:
-- ::connect, ::error (the daemon unreachable or refusing the handshake: `{"status":"error","message":
-- {"http_status":503,…}}`) and ::disconnect (`{"message":{"code":1000,…}}`). The start command answers
-- +OK before it connects, so these are the only way to learn that nobody will speak to the caller.
local STREAM_EVENTS = { 'mod_audio_stream::connect', 'mod_audio_stream::error', 'mod_audio_stream::disconnect' }

-- nil (and a warning) where mod_lua has no EventConsumer: the script then only learns of the end of the
-- call from the channel itself, as it did before.
local function stream_events(call)
  local ok, consumer = false, nil
  if freeswitch.EventConsumer ~= nil then -- a function or a callable table, by SWIG version
    ok, consumer = pcall(freeswitch.EventConsumer, 'CUSTOM', STREAM_EVENTS[1])
  end
  if not ok or not consumer then
    va.log(call, 'WARNING', 'no freeswitch.EventConsumer: a refused or dropped stream goes unnoticed')
    return nil
  end
  for i = 2, #STREAM_EVENTS do consumer:bind('CUSTOM', STREAM_EVENTS[i]) end
  return consumer
end

-- This call's next stream event, without blocking: the channel's own thread must keep running (in
-- session:sleep) for the daemon's audio and uuid_broadcast to play. Returns subclass, decoded body.
local function next_event(call, consumer)
  while consumer do
    local event = consumer:pop(0)
    if not event then return nil end
    if event:getHeader('Unique-ID') == call.uuid then
      return event:getHeader('Event-Subclass'), va.decode(event:getBody() or '') or {}
    end
  end
  return nil
end

-- Detaches the module from the channel. When it is gone already this answers -ERR, harmlessly.
local function stop_stream(api, call)
  api:executeString('uuid_audio_stream ' .. call.uuid .. ' stop')
end

local function main()
  local call = va.new_call(session, argv, dir)
  if not session:ready() then return end
  session:answer()
  if call.domain_uuid == '' then return fallback(call, 'no domain_uuid on the channel') end

  -- The token and tenant travel as WebSocket handshake headers (lower-cased on arrival), checked by the
  -- daemon exactly like REST requests.
  session:setVariable('STREAM_EXTRA_HEADERS', va.json.encode({
    ['X-Api-Key'] = call.cfg.token,
    ['X-Domain-UUID'] = call.domain_uuid,
  }))
  local consumer = stream_events(call) -- before the start, so no event is missed
  local api = freeswitch.API()
  local reply = api:executeString('uuid_audio_stream ' .. start_args(call)) or ''
  if not reply:match('^%+OK') then
    return fallback(call, 'uuid_audio_stream start failed: ' .. reply:sub(1, 200))
  end
  va.log(call, 'INFO', 'streaming to the daemon')

  -- Keep the channel (and this thread) alive. session:sleep still lets the daemon's uuid_broadcast
  -- play; ready() turns false when the daemon transfers the call or anyone hangs up.
  -- A poll of 0 would spin on the channel's thread and never let the grace run out.
  local poll_ms = math.max(20, tonumber(call.cfg.stream_poll_ms) or 200)
  local grace_ms = math.max(0, tonumber(call.cfg.stream_closed_grace_ms) or 3000)
  local closed_at -- ms slept when the daemon closed the stream normally
  local stopped = false
  local slept = 0
  while session:ready() do
    local kind, body = next_event(call, consumer)
    if kind == 'mod_audio_stream::error' then
      local m = type(body.message) == 'table' and body.message or {}
      stop_stream(api, call)
      return fallback(call, string.format('the daemon did not take the stream (HTTP %s: %s)',
        tostring(m.http_status or '?'), tostring(m.error or m.reason or 'no reason')))
    elseif kind == 'mod_audio_stream::disconnect' then
      local m = type(body.message) == 'table' and body.message or {}
      if tonumber(m.code) ~= 1000 then
        -- Refused after the handshake (1008 tenant, 1013 busy), failed (1011) or dropped (1006): the
        -- daemon will not act on this call any more.
        stop_stream(api, call)
        return fallback(call, string.format('the daemon closed the stream (%s %s)', tostring(m.code),
          tostring(m.reason or '')))
      end
      -- The daemon is done with this call: detach the module at once, so it cannot reconnect and open a
      -- second session while the transfer or hangup reaches the channel.
      if not closed_at then
        closed_at = slept
        stop_stream(api, call)
        stopped = true
      end
    elseif kind == nil then
      if closed_at and slept - closed_at >= grace_ms then
        return fallback(call, 'the daemon ended the stream but the call is still here')
      end
      session:sleep(poll_ms)
      slept = slept + poll_ms
    end
  end

  -- Stop listening once the call leaves us (a transferred caller talks to a person now).
  if not stopped then stop_stream(api, call) end
  va.log(call, 'INFO', 'stream stopped')
end

main()
