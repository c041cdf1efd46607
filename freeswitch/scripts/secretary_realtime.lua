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
  local api = freeswitch.API()
  local reply = api:executeString('uuid_audio_stream ' .. start_args(call)) or ''
  if not reply:match('^%+OK') then
    return fallback(call, 'uuid_audio_stream start failed: ' .. reply:sub(1, 200))
  end
  va.log(call, 'INFO', 'streaming to the daemon')

  -- Keep the channel (and this thread) alive. session:sleep still lets the daemon's uuid_broadcast
  -- play; ready() turns false when the daemon transfers the call or anyone hangs up.
  while session:ready() do session:sleep(500) end

  -- Stop listening once the call leaves us (a transferred caller talks to a person now). When the
  -- channel is already gone the module has closed the socket and this answers -ERR, harmlessly.
  api:executeString('uuid_audio_stream ' .. call.uuid .. ' stop')
  va.log(call, 'INFO', 'stream stopped')
end

main()
