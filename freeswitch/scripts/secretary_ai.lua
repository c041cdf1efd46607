-- The turn-based AI secretary (v1 flow). Run from the dialplan:
--   <action application="lua" data="voice_ai/secretary_ai.lua [secretary_id]"/>
-- Reads domain_uuid, domain_name and caller_id_number from the channel (FusionPBX sets them), greets the
-- caller, then loops record -> /transcribe -> /chat -> /synthesize -> play until the daemon transfers or
-- hangs up. Whatever goes wrong, the caller ends up with a person (the fallback extension), never in
-- silence, and the daemon always hears how the call ended (POST /calls/{uuid}/end).
local dir = (debug.getinfo(1, 'S').source or ''):match('^@(.*[/\\])') or './'
local va = dofile(dir .. 'voice_ai.lua')

-- Sends the caller to an extension. session:transfer makes session:ready() false; the call must not be
-- hung up afterwards or the transferred call dies.
local function transfer(call, extension, resolution)
  call.resolution = resolution
  call.transferred_to = extension
  va.log(call, 'INFO', string.format('transfer to %s@%s (%s)', extension, call.context, resolution))
  call.session:transfer(extension, 'XML', call.context)
end

-- The daemon cannot help (unreachable, slow, an error, nothing understood): a prompt from disk, which
-- needs no daemon, then the fallback extension.
local function fallback(call, reason, resolution)
  va.log(call, 'WARNING', 'fallback: ' .. reason)
  if not call.session:ready() then
    call.resolution = call.resolution or 'abandoned'
    return
  end
  call.session:streamFile(call.cfg.fallback_prompt)
  if call.session:ready() then transfer(call, call.fallback_extension, resolution or 'fallback') end
end

-- Plays a WAV and deletes it when it was a one-turn temp file.
local function play(call, path, keep)
  if call.session:ready() then call.session:streamFile(path) end
  if not keep then os.remove(path) end
end

-- Records one caller turn; returns what was said ("" for nothing), or nil and a reason.
local function listen(call, turn)
  local cfg = call.cfg
  local wav = va.temp_path(call, string.format('turn-%d.wav', turn))
  call.session:recordFile(wav, cfg.record_max_seconds, cfg.record_silence_threshold,
    cfg.record_silence_seconds)
  -- Silence detection may stop before anything was written: that is "nothing said", not an error.
  local size = va.file_size(wav) or 0
  if size < cfg.min_recording_bytes then
    os.remove(wav)
    return ''
  end
  local text, err = va.transcribe(call, wav)
  os.remove(wav)
  return text, err
end

-- Speaks text synthesised for this turn; true when played.
local function say(call, text, turn)
  local wav = va.temp_path(call, string.format('reply-%d.wav', turn))
  local ok, err = va.synthesize(call, text, wav)
  if not ok then return nil, err end
  play(call, wav)
  return true
end

-- Acts on the daemon's answer; returns true when the conversation is over.
local function act(call, reply, turn)
  local action = va.str(reply.action) or 'continue'
  local text = va.str(reply.text)
  if text then
    local ok, err = say(call, text, turn)
    -- Without speech a continuing conversation cannot go on; a transfer or goodbye still can.
    if not ok and action == 'continue' then
      fallback(call, err)
      return true
    end
  end
  if action == 'transfer' then
    transfer(call, va.str(reply.transfer_to) or call.fallback_extension, 'transferred')
    return true
  end
  if action == 'hangup' then
    call.resolution = 'resolved'
    if call.session:ready() then call.session:hangup('NORMAL_CLEARING') end
    return true
  end
  return false
end

-- The conversation itself; sets call.resolution (and call.transferred_to) before it returns.
local function converse(call)
  local session, cfg = call.session, call.cfg
  if not session:ready() then return end
  session:answer()
  -- Media needs a moment after answer, or the first syllables of the greeting are lost.
  session:sleep(200)

  local secretary, err = va.fetch_secretary(call)
  if not secretary then return fallback(call, err) end
  call.secretary_id = va.str(secretary.id) or call.secretary_id
  call.fallback_extension = va.str(secretary.fallback_extension) or cfg.fallback_extension
  local voice_key = table.concat({ va.str(secretary.language) or '', va.str(secretary.voice) or '' }, '|')

  local greeting = va.str(secretary.greeting)
  if greeting then
    local wav, greet_err = va.cached_speech(call, greeting, voice_key)
    if not wav then return fallback(call, greet_err) end
    play(call, wav, true)
  end

  local silent = 0
  for turn = 1, cfg.max_turns do
    if not session:ready() then break end
    local text, listen_err = listen(call, turn)
    if not session:ready() then break end
    if not text then return fallback(call, listen_err) end
    if text:match('^%s*$') then
      -- Nothing said: ask once more, then hand the caller to a person.
      silent = silent + 1
      if silent >= 2 then return fallback(call, 'no speech twice', 'no_input') end
      local wav, again_err = va.cached_speech(call, cfg.reprompt_text, voice_key)
      if not wav then return fallback(call, again_err) end
      play(call, wav, true)
    else
      silent = 0
      call.turns = call.turns + 1
      local reply, chat_err = va.chat(call, text)
      if not reply then return fallback(call, chat_err) end
      if act(call, reply, turn) then return end
    end
  end
  if session:ready() then return fallback(call, 'too many turns') end
  call.resolution = call.resolution or 'abandoned'
end

local function main()
  local call = va.new_call(session, argv, dir)
  va.log(call, 'INFO', string.format('secretary_ai for %s (domain %s, secretary %s)', call.caller_id,
    call.domain_name, call.secretary_id ~= '' and call.secretary_id or 'default'))
  -- A bug here must not strand the caller: catch it, then still transfer and report.
  local ok, err = xpcall(function() converse(call) end, debug.traceback)
  if not ok then
    va.log(call, 'ERR', 'script error: ' .. tostring(err))
    if session:ready() then pcall(fallback, call, 'script error') end
  end
  if not call.resolution then call.resolution = 'abandoned' end
  session:setVariable('voice_ai_resolution', call.resolution)
  va.end_call(call)
  va.cleanup(call)
end

main()
