-- Shared helpers of the Voice AI IVR scripts: settings, JSON, HTTP to the daemon (mod_curl for JSON, the
-- system curl for WAV files), temp files and logging. Loaded with dofile() from the scripts' own folder, so
-- it works wherever the kit is installed and never collides with other modules on package.path.
-- Written for Lua 5.2-5.4 (FreeSWITCH's mod_lua): no bitwise operators, no integer division.
local M = {}

-- ---- JSON ----

-- lua-cjson (Debian package lua-cjson) when the host has it; otherwise the small codec below, which
-- covers what the daemon sends (objects, arrays, strings with \u escapes, numbers, booleans, null).
local function bundled_json()
  local J = {}

  local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n',
    ['\r'] = '\\r', ['\t'] = '\\t' }

  local function encode_string(s)
    return '"' .. s:gsub('[%c"\\]', function(c)
      return escapes[c] or string.format('\\u%04x', c:byte())
    end) .. '"'
  end

  -- A table is an array when its keys are exactly 1..n with n > 0; the empty table is an object.
  local function is_array(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    if n == 0 then return false end
    for i = 1, n do
      if t[i] == nil then return false end
    end
    return true
  end

  local function encode(v)
    local kind = type(v)
    if kind == 'string' then return encode_string(v) end
    if kind == 'number' then
      if v ~= v or v == math.huge or v == -math.huge then error('cannot encode ' .. tostring(v)) end
      if math.floor(v) == v and math.abs(v) < 1e15 then return string.format('%d', v) end
      return string.format('%.14g', v)
    end
    if kind == 'boolean' then return tostring(v) end
    if kind == 'nil' then return 'null' end
    if kind ~= 'table' then error('cannot encode a ' .. kind) end
    local parts = {}
    if is_array(v) then
      for i = 1, #v do parts[#parts + 1] = encode(v[i]) end
      return '[' .. table.concat(parts, ',') .. ']'
    end
    for k, item in pairs(v) do
      parts[#parts + 1] = encode_string(tostring(k)) .. ':' .. encode(item)
    end
    return '{' .. table.concat(parts, ',') .. '}'
  end

  local function utf8_char(c)
    if c < 0x80 then return string.char(c) end
    if c < 0x800 then return string.char(0xC0 + math.floor(c / 64), 0x80 + c % 64) end
    if c < 0x10000 then
      return string.char(0xE0 + math.floor(c / 4096), 0x80 + math.floor(c / 64) % 64, 0x80 + c % 64)
    end
    return string.char(0xF0 + math.floor(c / 262144), 0x80 + math.floor(c / 4096) % 64,
      0x80 + math.floor(c / 64) % 64, 0x80 + c % 64)
  end

  local decode_value

  local function skip(s, i)
    return s:find('[^ \t\r\n]', i) or #s + 1
  end

  local function decode_string(s, i)
    local out, pos = {}, i + 1
    while true do
      local stop = s:find('["\\]', pos)
      if not stop then error('unterminated string') end
      out[#out + 1] = s:sub(pos, stop - 1)
      if s:sub(stop, stop) == '"' then return table.concat(out), stop + 1 end
      local e = s:sub(stop + 1, stop + 1)
      local simple = { b = '\b', f = '\f', n = '\n', r = '\r', t = '\t', ['"'] = '"', ['\\'] = '\\',
        ['/'] = '/' }
      if simple[e] then
        out[#out + 1] = simple[e]
        pos = stop + 2
      elseif e == 'u' then
        local code = tonumber(s:sub(stop + 2, stop + 5), 16)
        if not code then error('bad \\u escape') end
        pos = stop + 6
        -- A surrogate pair encodes one code point above U+FFFF.
        if code >= 0xD800 and code < 0xDC00 and s:sub(pos, pos + 1) == '\\u' then
          local low = tonumber(s:sub(pos + 2, pos + 5), 16)
          if low and low >= 0xDC00 and low < 0xE000 then
            code = 0x10000 + (code - 0xD800) * 1024 + (low - 0xDC00)
            pos = pos + 6
          end
        end
        out[#out + 1] = utf8_char(code)
      else
        error('bad escape')
      end
    end
  end

  local function decode_list(s, i, close, read_item)
    i = skip(s, i + 1)
    if s:sub(i, i) == close then return i + 1 end
    while true do
      i = skip(s, read_item(i))
      local c = s:sub(i, i)
      if c == close then return i + 1 end
      if c ~= ',' then error('expected , or ' .. close .. ' at ' .. i) end
      i = skip(s, i + 1)
    end
  end

  decode_value = function(s, i)
    i = skip(s, i)
    local c = s:sub(i, i)
    if c == '"' then return decode_string(s, i) end
    if c == '{' then
      local obj = {}
      local stop = decode_list(s, i, '}', function(j)
        if s:sub(j, j) ~= '"' then error('expected a key at ' .. j) end
        local key, after = decode_string(s, j)
        after = skip(s, after)
        if s:sub(after, after) ~= ':' then error('expected : at ' .. after) end
        local value, next_i = decode_value(s, after + 1)
        obj[key] = value
        return next_i
      end)
      return obj, stop
    end
    if c == '[' then
      local arr = {}
      local stop = decode_list(s, i, ']', function(j)
        local value, next_i = decode_value(s, j)
        arr[#arr + 1] = value
        return next_i
      end)
      return arr, stop
    end
    for word, value in pairs({ ['true'] = true, ['false'] = false }) do
      if s:sub(i, i + #word - 1) == word then return value, i + #word end
    end
    if s:sub(i, i + 3) == 'null' then return nil, i + 4 end
    local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', i)
    if num and num ~= '' then return tonumber(num), i + #num end
    error('unexpected character at ' .. i)
  end

  J.encode = encode
  function J.decode(s)
    local value, stop = decode_value(s, 1)
    if skip(s, stop) <= #s then error('trailing characters') end
    return value
  end
  J.name = 'bundled'
  return J
end

local function choose_json()
  if os.getenv('VOICE_AI_BUNDLED_JSON') ~= '1' then
    local ok, cjson = pcall(require, 'cjson')
    if ok and type(cjson) == 'table' then
      return { encode = cjson.encode, decode = cjson.decode, null = cjson.null, name = 'cjson' }
    end
  end
  return bundled_json()
end

M.json = choose_json()

-- Decodes JSON text; nil and a reason when it is not JSON (never throws).
function M.decode(text)
  if type(text) ~= 'string' or text == '' then return nil, 'empty' end
  local ok, value = pcall(M.json.decode, text)
  if not ok then return nil, tostring(value) end
  return value
end

-- A JSON field as a non-empty string, or nil (lua-cjson turns JSON null into a sentinel, not nil).
function M.str(v)
  if type(v) == 'number' then return tostring(v) end
  if type(v) ~= 'string' or v == '' then return nil end
  return v
end

-- ---- small utilities ----

-- Percent-encodes every byte but the unreserved ones: mod_curl splits its arguments on spaces and strips
-- quotes and backslashes before it URL-decodes the body, so nothing else may survive in clear.
function M.url_encode(s)
  return (tostring(s):gsub('[^%w%-%._~]', function(c) return string.format('%%%02X', c:byte()) end))
end

-- One argument for /bin/sh, whatever it contains.
function M.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- 64-bit content hash in hex (two 32-bit polynomial hashes): names cache files, not a security measure.
function M.hash(s)
  local a, b = 5381, 7919
  for i = 1, #s do
    local c = s:byte(i)
    a = (a * 33 + c) % 4294967296
    b = (b * 131 + c) % 4294967291
  end
  return string.format('%08x%08x', math.floor(a), math.floor(b))
end

function M.file_size(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local size = f:seek('end')
  f:close()
  return size
end

-- True when the file exists and starts like a WAV with at least some audio after the header.
function M.is_wav(path)
  local f = io.open(path, 'rb')
  if not f then return false end
  local head = f:read(12) or ''
  local size = f:seek('end')
  f:close()
  return head:sub(1, 4) == 'RIFF' and head:sub(9, 12) == 'WAVE' and size > 44
end

function M.write_file(path, data)
  local f, err = io.open(path, 'wb')
  if not f then return nil, err end
  f:write(data)
  f:close()
  return true
end

function M.read_file(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local data = f:read('*a')
  f:close()
  return data
end

function M.mkdir(path)
  os.execute('mkdir -p ' .. M.shell_quote(path))
end

-- The folder this kit lives in ("/usr/share/freeswitch/scripts/voice_ai/"), from the caller's source path.
function M.script_dir(level)
  local source = debug.getinfo(level or 2, 'S').source or ''
  return source:match('^@(.*[/\\])') or './'
end

-- ---- settings ----

-- config.lua's table, then per-call overrides from channel variables voice_ai_<key>. Numbers stay
-- numbers, so a bad override falls back to the file's value instead of breaking the call.
function M.load_config(dir, session)
  local cfg = dofile(dir .. 'config.lua')
  for key, default in pairs(cfg) do
    local override = session and session:getVariable('voice_ai_' .. key)
    if override and override ~= '' then
      if type(default) == 'number' then
        cfg[key] = tonumber(override) or default
      else
        cfg[key] = override
      end
    end
  end
  return cfg
end

-- ---- the call ----

-- Everything the scripts need to know about this call, read once.
function M.new_call(session, args, dir)
  local cfg = M.load_config(dir, session)
  local call = {
    session = session,
    cfg = cfg,
    uuid = session:get_uuid() or session:getVariable('uuid'),
    domain_uuid = session:getVariable('domain_uuid') or '',
    domain_name = session:getVariable('domain_name') or '',
    caller_id = session:getVariable('caller_id_number') or '',
    secretary_id = (args and args[1] and args[1] ~= '') and args[1] or cfg.secretary_id,
    fallback_extension = cfg.fallback_extension,
    started = os.time(),
    files = {},
    turns = 0,
  }
  call.context = cfg.transfer_context ~= '' and cfg.transfer_context
    or (call.domain_name ~= '' and call.domain_name or 'default')
  call.base_url = cfg.daemon_url:gsub('/+$', '')
  M.mkdir(cfg.temp_dir)
  return call
end

function M.log(call, level, message)
  freeswitch.consoleLog(level, string.format('[voice_ai] %s %s\n', call.uuid or '-', message))
end

-- A temp file path for this call, remembered so cleanup() removes it whatever happens.
function M.temp_path(call, name)
  local path = string.format('%s/%s-%s', call.cfg.temp_dir, call.uuid, name)
  call.files[#call.files + 1] = path
  return path
end

function M.cleanup(call)
  for _, path in ipairs(call.files) do os.remove(path) end
  call.files = {}
end

-- ---- HTTP: JSON through mod_curl ----

-- mod_curl's API splits its arguments into at most 10 words (anything beyond is glued onto the 10th), so
-- a POST carries the tenant as domain_uuid in the body instead of a second append_headers.
-- Returns the HTTP status (0 when nothing answered), the decoded JSON body (or nil) and the raw body.
function M.rest(call, method, path, body)
  local cfg = call.cfg
  local words = { call.base_url .. path, 'json', 'timeout', tostring(math.floor(cfg.request_timeout)),
    'append_headers', 'X-Api-Key:' .. cfg.token }
  if method == 'get' then
    words[#words + 1] = 'append_headers'
    words[#words + 1] = 'X-Domain-UUID:' .. call.domain_uuid
    words[#words + 1] = 'get'
  else
    body = body or {}
    body.domain_uuid = call.domain_uuid
    words[#words + 1] = 'content-type'
    words[#words + 1] = 'application/json'
    words[#words + 1] = 'post'
    words[#words + 1] = M.url_encode(M.json.encode(body))
  end
  local reply = freeswitch.API():execute('curl', table.concat(words, ' '))
  local envelope = M.decode(reply)
  if type(envelope) ~= 'table' then
    return 0, nil, 'mod_curl gave no JSON (is mod_curl loaded?): ' .. tostring(reply):sub(1, 120)
  end
  local status = tonumber(envelope.status_code) or 0
  local raw = M.str(envelope.body) or ''
  return status, M.decode(raw), raw
end

-- ---- HTTP: WAV files through the system curl ----

-- The token goes in a header file (curl -H @file) so it never shows in the process list.
local function header_file(call)
  if call.header_file then return call.header_file end
  local path = M.temp_path(call, 'headers')
  local ok = M.write_file(path, 'X-Api-Key: ' .. call.cfg.token .. '\nX-Domain-UUID: ' .. call.domain_uuid .. '\n')
  if not ok then return nil end
  call.header_file = path
  return path
end

-- POSTs the file at data_path with the given content type, saving the answer to out_path.
-- Returns the HTTP status (0 when nothing answered).
function M.curl_post_file(call, path, data_path, content_type, out_path, timeout)
  local headers = header_file(call)
  if not headers then return 0 end
  local cfg = call.cfg
  local cmd = table.concat({
    M.shell_quote(cfg.curl), '-sS', '-o', M.shell_quote(out_path), '-w', "'%{http_code}'",
    '--connect-timeout', tostring(cfg.connect_timeout), '--max-time', tostring(timeout),
    '-H', M.shell_quote('@' .. headers), '-H', M.shell_quote('Content-Type: ' .. content_type),
    '--data-binary', M.shell_quote('@' .. data_path), M.shell_quote(call.base_url .. path),
  }, ' ') .. ' 2>/dev/null'
  local pipe = io.popen(cmd)
  if not pipe then return 0 end
  local status = pipe:read('*a')
  pipe:close()
  return tonumber(status) or 0
end

-- ---- the daemon's API ----

-- The secretary's settings (GET /secretaries/{id|default}); nil and a reason on failure.
function M.fetch_secretary(call)
  if call.domain_uuid == '' then return nil, 'no domain_uuid on the channel' end
  local id = call.secretary_id ~= '' and call.secretary_id or 'default'
  local status, body, raw = M.rest(call, 'get', '/secretaries/' .. M.url_encode(id))
  if status ~= 200 or type(body) ~= 'table' then
    return nil, string.format('GET /secretaries/%s: HTTP %d %s', id, status, raw:sub(1, 200))
  end
  return body
end

-- What the caller said in the WAV at wav_path: the text ("" for nothing said), or nil and a reason.
function M.transcribe(call, wav_path)
  local out = M.temp_path(call, 'transcript.json')
  local path = '/transcribe'
  if call.secretary_id ~= '' then path = path .. '?secretary_id=' .. M.url_encode(call.secretary_id) end
  local status = M.curl_post_file(call, path, wav_path, 'audio/wav', out, call.cfg.transcribe_timeout)
  local raw = M.read_file(out) or ''
  os.remove(out)
  local body = M.decode(raw)
  if status ~= 200 or type(body) ~= 'table' then
    return nil, string.format('POST /transcribe: HTTP %d %s', status, raw:sub(1, 200))
  end
  return M.str(body.text) or ''
end

-- The daemon's answer to what the caller said: {text, action, transfer_to?}, or nil and a reason.
function M.chat(call, text)
  local request = { call_uuid = call.uuid, text = text, caller_id = call.caller_id }
  if call.secretary_id ~= '' then request.secretary_id = call.secretary_id end
  local status, body, raw = M.rest(call, 'post', '/chat', request)
  if status ~= 200 or type(body) ~= 'table' then
    return nil, string.format('POST /chat: HTTP %d %s', status, raw:sub(1, 200))
  end
  return body
end

-- Synthesises text into a WAV at out_path; true, or nil and a reason.
function M.synthesize(call, text, out_path)
  local request = { text = text, sample_rate = math.floor(call.cfg.sample_rate) }
  if call.secretary_id ~= '' then request.secretary_id = call.secretary_id end
  local json_path = M.temp_path(call, 'synthesize.json')
  M.write_file(json_path, M.json.encode(request))
  local status = M.curl_post_file(call, '/synthesize', json_path, 'application/json', out_path,
    call.cfg.synthesize_timeout)
  os.remove(json_path)
  if status ~= 200 or not M.is_wav(out_path) then
    local detail = (M.read_file(out_path) or ''):sub(1, 200)
    os.remove(out_path)
    return nil, string.format('POST /synthesize: HTTP %d %s', status, detail)
  end
  return true
end

-- A WAV of text from the on-disk cache, synthesised on first use (greeting, reprompt). Written under a
-- per-call name and renamed, so concurrent calls never play a half-written file.
function M.cached_speech(call, text, voice_key)
  local cfg = call.cfg
  M.mkdir(cfg.cache_dir)
  local key = M.hash(table.concat({ call.domain_uuid, call.secretary_id, voice_key or '',
    tostring(cfg.sample_rate), text }, '|'))
  local path = string.format('%s/%s.wav', cfg.cache_dir, key)
  if M.is_wav(path) then return path end
  local part = string.format('%s/%s.%s.part', cfg.cache_dir, key, call.uuid)
  local ok, err = M.synthesize(call, text, part)
  if not ok then return nil, err end
  if not os.rename(part, path) then
    os.remove(part)
    return nil, 'cannot write the cache file ' .. path
  end
  return path
end

-- Reports the outcome: POST /calls/{uuid}/end. Best effort: failures are logged, never raised.
function M.end_call(call)
  if call.domain_uuid == '' then return false end
  local request = {
    resolution = call.resolution or 'abandoned',
    duration_seconds = os.time() - call.started,
    caller_id = call.caller_id,
  }
  if call.transferred_to then request.transferred_to = call.transferred_to end
  local status, _, raw = M.rest(call, 'post', '/calls/' .. M.url_encode(call.uuid) .. '/end', request)
  if status ~= 200 then
    M.log(call, 'WARNING', string.format('POST /calls/%s/end: HTTP %d %s', call.uuid, status, raw:sub(1, 200)))
    return false
  end
  return true
end

return M
