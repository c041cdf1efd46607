-- Settings of the Voice AI IVR scripts. Edit the values here once per FreeSWITCH host; any of them can be
-- overridden per call by a channel variable named voice_ai_<key> (e.g. voice_ai_daemon_url,
-- voice_ai_secretary_id, voice_ai_fallback_extension), set in the dialplan before the lua action.
return {
  -- Where the daemon listens and the token it gave this host (`voice-ai-ivr token create --scope call`).
  daemon_url = "http://127.0.0.1:8100",
  token = "",
  -- WebSocket base for the realtime script; empty means daemon_url with http(s) turned into ws(s).
  stream_url = "",

  -- Seconds. REST calls through mod_curl (settings, /chat, /calls/…/end): a slow daemon must not leave the
  -- caller in silence for long, so keep these short.
  connect_timeout = 3,
  request_timeout = 15,
  -- Seconds for the WAV upload (/transcribe) and download (/synthesize) done by the system curl.
  transcribe_timeout = 20,
  synthesize_timeout = 20,

  -- Recorded and downloaded audio lives here for one turn and is deleted at once; the greeting cache
  -- keeps one WAV per distinct greeting (named by a hash of its text and voice settings).
  temp_dir = "/tmp/voice_ai",
  cache_dir = "/tmp/voice_ai/cache",
  -- The system curl binary (WAV upload and download; mod_curl cuts bodies at 64 kB).
  curl = "curl",

  -- Which secretary answers: empty means the domain's default one. Also settable as the script's first
  -- argument (`lua voice_ai/secretary_ai.lua <secretary_id>`).
  secretary_id = "",
  -- Where callers go when the AI cannot help or the daemon is unreachable. The secretary's own
  -- fallback_extension wins when the daemon answers.
  fallback_extension = "0",
  -- Dialplan context for transfers; empty means the call's domain_name (FusionPBX), else "default".
  transfer_context = "",
  -- Played (from disk, no daemon needed) before the fallback transfer. A path relative to the sound
  -- prefix or an absolute WAV.
  fallback_prompt = "ivr/ivr-one_moment_please.wav",
  -- Said (synthesised by the daemon, cached like the greeting) when the caller said nothing.
  reprompt_text = "Desculpe, não consegui ouvir. Pode repetir, por favor?",

  -- Recording of each caller turn: session:recordFile(path, max_seconds, silence_threshold,
  -- silence_seconds). The threshold is FreeSWITCH's energy level (higher ignores more line noise).
  record_max_seconds = 15,
  record_silence_threshold = 200,
  record_silence_seconds = 2,
  -- A turn shorter than this many bytes of WAV counts as nothing said (44-byte header + ~0.1 s at 8 kHz).
  min_recording_bytes = 1644,
  -- Sample rate asked from /synthesize (8000 or 16000); match the call's codec.
  sample_rate = 8000,
  -- Upper bound on turns, in case the secretary's own max_turns is not reached.
  max_turns = 20,
  -- Realtime: mix and rate for uuid_audio_stream (mono = caller only).
  stream_mix = "mono",
  stream_rate = "16k",
  -- How often the realtime script looks at mod_audio_stream's events while it keeps the channel alive.
  stream_poll_ms = 200,
  -- After the daemon closes the stream normally it has transferred or hung up the call; if the channel is
  -- still here this much later (no Event Socket, a lost command), the caller goes to the fallback extension.
  stream_closed_grace_ms = 3000,
}
