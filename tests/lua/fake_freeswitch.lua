-- A stand-in for FreeSWITCH's mod_lua world: the `freeswitch` global (API, consoleLog) and a `session`
-- object, recording every call in order. mod_curl's `curl` API is emulated faithfully enough to catch
-- wire mistakes: arguments are split on spaces into at most 10 words like switch_separate_string, the
-- post data is URL-decoded, and the request really goes to the daemon over loopback with the system curl.
-- The reply is mod_curl's `json` envelope. os.execute and io.popen are wrapped to record the system curl
-- commands the scripts run (they still run for real).
local cjson = require('cjson')

local F = { events = {}, commands = {}, consumers = {} }

local function record(kind, fields)
  fields = fields or {}
  fields.kind = kind
  F.events[#F.events + 1] = fields
  return fields
end
F.record = record

function F.reset()
  F.events = {}
  F.commands = {}
  F.consumers = {}
  F.on_stream_start = nil
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local data = f:read('*a')
  f:close()
  return data
end

local function is_wav(path)
  local data = read_file(path)
  return data ~= nil and data:sub(1, 4) == 'RIFF' and data:sub(9, 12) == 'WAVE' and #data > 44
end
F.is_wav = is_wav

-- switch_separate_string(buf, ' ', argv, max): at most max words, the last one keeping the rest.
-- Quotes and backslashes get special treatment there; report them instead of guessing.
local function separate(s, max)
  local words, pos = {}, 1
  while pos <= #s and #words < max - 1 do
    local space = s:find(' ', pos, true)
    if not space then break end
    if space > pos then words[#words + 1] = s:sub(pos, space - 1) end
    pos = space + 1
  end
  if pos <= #s then words[#words + 1] = s:sub(pos) end
  return words
end

local function url_decode(s)
  return (s:gsub('%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end

-- mod_curl's `curl` API: parse like curl_function(), perform with the system curl, answer like print_json().
local function mod_curl(args)
  local argv = separate(args, 10)
  local req = record('curl', { args = args, argc = #argv, headers = {}, method = 'get',
    mangled = args:find("['\\\"]") ~= nil })
  req.url = argv[1]
  local i = 2
  while i <= #argv do
    local w = argv[i]:lower()
    if w == 'json' then
      req.json = true
    elseif w == 'headers' then
      req.with_headers = true
    elseif w == 'get' or w == 'head' then
      req.method = w
    elseif w == 'post' or w == 'put' or w == 'delete' or w == 'patch' then
      req.method = w
      i = i + 1
      req.data = argv[i] and url_decode(argv[i]) or ''
    elseif w == 'content-type' then
      i = i + 1
      req.content_type = argv[i]
    elseif w == 'timeout' or w == 'connect-timeout' then
      i = i + 1
      req[w] = tonumber(argv[i])
    elseif w == 'append_headers' then
      i = i + 1
      req.headers[#req.headers + 1] = argv[i]
    end
    i = i + 1
  end

  local tmp = os.tmpname()
  local parts = { 'curl', '-s', '-o', shell_quote(tmp .. '.body'), '-D', shell_quote(tmp .. '.head'),
    '-w', "'%{http_code}'", '-X', req.method:upper(), '-A', 'freeswitch-curl/1.0' }
  if req.timeout then parts[#parts + 1] = '--max-time ' .. req.timeout end
  if req['connect-timeout'] then parts[#parts + 1] = '--connect-timeout ' .. req['connect-timeout'] end
  for _, h in ipairs(req.headers) do parts[#parts + 1] = '-H ' .. shell_quote(h) end
  if req.data then
    -- Without content-type mod_curl's post goes out as a form, like curl's own default.
    local ct = req.content_type or 'application/x-www-form-urlencoded'
    parts[#parts + 1] = '-H ' .. shell_quote('Content-Type: ' .. ct)
    local f = io.open(tmp .. '.data', 'wb')
    f:write(req.data)
    f:close()
    parts[#parts + 1] = '--data-binary ' .. shell_quote('@' .. tmp .. '.data')
  end
  parts[#parts + 1] = shell_quote(req.url)
  local pipe = F.real_popen(table.concat(parts, ' ') .. ' 2>/dev/null')
  local status = pipe:read('*a')
  local _, _, exit_code = pipe:close()
  local body = read_file(tmp .. '.body') or ''
  for _, suffix in ipairs({ '', '.body', '.head', '.data' }) do os.remove(tmp .. suffix) end

  req.status = tonumber(status) or 0
  req.response = body
  local envelope = { exit_code = tostring(exit_code or 0), status_code = tostring(req.status), headers = {} }
  if body ~= '' then envelope.body = body end
  if not req.json then return body end
  return cjson.encode(envelope)
end

-- ---- freeswitch global ----

local Api = {}
Api.__index = Api

function Api:execute(cmd, args)
  return self:executeString(cmd .. ' ' .. (args or ''))
end

function Api:executeString(command)
  local cmd, args = command:match('^(%S+)%s*(.*)$')
  if cmd == 'curl' then return mod_curl(args) end
  record('api', { command = command })
  if cmd == 'uuid_audio_stream' then
    if args:match('^%S+ start ') then
      if F.on_stream_start then F.on_stream_start(args:match('^(%S+)')) end
      return F.stream_start_reply or '+OK Success'
    end
    return '+OK Success'
  end
  return '-ERR ' .. tostring(cmd) .. ' Command not found!'
end

-- ---- the event bus: freeswitch.EventConsumer ----

local Event = {}
Event.__index = Event
function Event:getHeader(name) return self.headers[name] end
function Event:getBody() return self.body end

local Consumer = {}
Consumer.__index = Consumer

function Consumer:bind(event_name, subclass)
  self.bound[(event_name or '') .. '/' .. (subclass or '')] = true
  return true
end

-- mod_lua's pop(block, timeout). A blocking pop would stall the channel's own thread (no media, no
-- uuid_broadcast), so it is recorded for the tests to refuse.
function Consumer:pop(block, timeout)
  if block and block ~= 0 then record('blocking_pop', { timeout = timeout }) end
  return table.remove(self.queue, 1)
end

-- Fires a CUSTOM event as FreeSWITCH would: every consumer bound to its subclass by then gets it.
-- mod_audio_stream's events carry the channel's Unique-ID and a JSON body.
function F.fire(subclass, unique_id, body)
  local headers = { ['Event-Name'] = 'CUSTOM', ['Event-Subclass'] = subclass, ['Unique-ID'] = unique_id }
  for _, c in ipairs(F.consumers) do
    if c.bound['CUSTOM/' .. subclass] then
      c.queue[#c.queue + 1] = setmetatable({ headers = headers, body = body }, Event)
    end
  end
end

function F.install()
  F.real_popen = F.real_popen or io.popen
  F.real_execute = F.real_execute or os.execute
  io.popen = function(cmd, mode)
    F.commands[#F.commands + 1] = cmd
    return F.real_popen(cmd, mode)
  end
  os.execute = function(cmd)
    F.commands[#F.commands + 1] = cmd
    return F.real_execute(cmd)
  end
  _G.freeswitch = {
    API = function() return setmetatable({}, Api) end,
    consoleLog = function(level, message) record('log', { level = level, message = message }) end,
    getGlobalVariable = function() return nil end,
    EventConsumer = function(event_name, subclass)
      local c = setmetatable({ bound = {}, queue = {} }, Consumer)
      c:bind(event_name, subclass)
      F.consumers[#F.consumers + 1] = c
      return c
    end,
  }
end

-- ---- session ----

local Session = {}
Session.__index = Session

-- opts.vars: channel variables; opts.recordings: one entry per recordFile call — a WAV path to "say",
-- false for nothing written, 'hangup' for a caller who hangs up while recording; opts.on_sleep(session, n).
function F.new_session(opts)
  local s = setmetatable({ vars = opts.vars or {}, alive = true, recordings = opts.recordings or {},
    on_sleep = opts.on_sleep, sleeps = 0 }, Session)
  return s
end

function Session:ready() return self.alive end
function Session:get_uuid() return self.vars.uuid end
function Session:getVariable(name) return self.vars[name] end

function Session:setVariable(name, value)
  record('setVariable', { name = name, value = value })
  self.vars[name] = value
end

function Session:answer()
  record('answer')
  self.answered = true
end

function Session:streamFile(path)
  -- What the caller would hear: a WAV we can check now, before the script deletes it.
  record('streamFile', { path = path, wav = is_wav(path), size = #(read_file(path) or '') })
end

function Session:recordFile(path, max_secs, threshold, silence_secs)
  local what = table.remove(self.recordings, 1)
  record('recordFile', { path = path, max_secs = max_secs, threshold = threshold, silence_secs = silence_secs,
    what = what })
  if what == 'hangup' or what == nil then
    self.alive = false
    return false
  end
  if what then
    local data = read_file(what)
    local f = io.open(path, 'wb')
    if f then
      f:write(data)
      f:close()
    end
  end
  return true
end

function Session:transfer(dest, dialplan, context)
  record('transfer', { dest = dest, dialplan = dialplan, context = context })
  self.alive = false
end

function Session:hangup(cause)
  record('hangup', { cause = cause })
  self.alive = false
end

function Session:sleep(ms)
  self.sleeps = self.sleeps + 1
  record('sleep', { ms = ms })
  if self.on_sleep then self.on_sleep(self, self.sleeps) end
end

function Session:execute(app, args)
  record('execute', { app = app, args = args })
end

-- Runs a kit script as mod_lua does: globals session and argv, dofile of the script's full path.
function F.run(script_path, sess, args)
  _G.session = sess
  _G.argv = args or {}
  local ok, err = pcall(dofile, script_path)
  if not ok then record('script_error', { message = tostring(err) }) end
  return ok, err
end

-- Events of one kind, in order.
function F.find(kind)
  local out = {}
  for _, e in ipairs(F.events) do
    if e.kind == kind then out[#out + 1] = e end
  end
  return out
end

-- The sequence of call-control events ("answer streamFile recordFile …"), the caller's view of the call.
function F.timeline()
  local names = {}
  for _, e in ipairs(F.events) do
    if e.kind == 'answer' or e.kind == 'streamFile' or e.kind == 'recordFile' or e.kind == 'transfer'
      or e.kind == 'hangup' then
      names[#names + 1] = e.kind
    end
  end
  return table.concat(names, ' ')
end

return F
