#pragma once
// The `pipeline` realtime agent (DESIGN §5): a RealtimeAgent built from a secretary's own turn-based
// providers, so every tenant has realtime calls, fully offline with the local ones (espeak, extractive).
//
//   caller pcm16 → local VAD (audio::VoiceActivityDetector) → utterance → SpeechToText → user_transcript
//   → LanguageModel (streaming, tools, the conversation so far) → sentences as they complete
//   → TextToSpeech per sentence → audio events (item "resp_<n>") → agent_transcript → audio_done
//   → tool_call events (if the model called tools)
//
// Events, in order for one turn: speech_started, speech_stopped, user_transcript, audio…, agent_transcript,
// audio_done, tool_call…. The first sentence is spoken while the model is still writing the rest.
//  - Greeting: start() speaks SessionConfig::greeting as item "greeting" (also kept in the history).
//  - Barge-in: speech_started while a response is being produced cancels it: no further sentence is
//    synthesised and no further event of that response is emitted (nor its tool calls). The history keeps
//    the sentences already emitted; truncate(item, ms) then keeps only the sentences whose audio had started
//    by `ms` (sentence granularity: a sentence cut in the middle stays whole; an item nobody heard is
//    removed from the history unless it called tools).
//  - Tools: SessionConfig::tools are offered to the model. Its calls become tool_call events after the
//    item's audio_done; when every call of the round has its send_tool_result, the model runs again with
//    the results (like OpenAI Realtime's function_call_output + response.create) — except when every
//    result is a successful transfer_call/end_call ({"ok":true}: the call is about to end, the model
//    already said its handover sentence), when the caller is speaking (their turn answers instead), or
//    after max_tool_rounds rounds in one turn. A call the model repeats in a later round of the same turn
//    (same name and arguments) is not emitted again.
//  - Utterances: transcribed one at a time, in order. An utterance with an empty transcript gets no
//    answer. When the caller starts speaking again before an utterance was answered, the transcripts are
//    joined and answered once they stop.
//  - Failures: a provider error (STT, LLM, TTS of a sentence) becomes an `error` event and the session goes
//    on (a failed sentence is skipped; a failed model run ends its response with what was spoken).
//  - SessionConfig::turn_detection is not used: the thresholds are PipelineOptions::vad (the OpenAI-style
//    probability threshold has no meaning for an energy detector).
//
// Formats: input and output pcm16 at PipelineOptions::sample_rate (16 kHz by default).
// Threading: io thread only (the executor given to make_pipeline_agent). send_audio runs the VAD inline
// (a few µs per 20 ms frame); providers are asynchronous already. Work in flight holds the agent's state
// alive: destroying the agent (or close()) makes that work finish silently.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "ivr/audio/voice_activity.hpp"
#include "ivr/providers/provider.hpp"
#include "ivr/providers/realtime/realtime_agent.hpp"

namespace ivr::conversation {

struct PipelineOptions {
  int sample_rate = 16'000;               // input and output rate (pcm16); vad.sample_rate is set from it
  audio::VoiceActivityConfig vad;         // silence_ms 600 by default
  std::size_t max_sentence_chars = 250;   // pieces handed to TTS (providers::split_sentences)
  int audio_chunk_ms = 100;               // audio events carry at most this much
  int max_tool_rounds = 3;                // model runs after tool results, per caller turn
  std::size_t max_history_messages = 40;  // sent to the model (older turns are dropped from the prompt)
  std::size_t max_queued_events = 4'096;  // beyond this, new audio events are dropped (counted)
  // What the offline extractive model needs (transfer targets, FAQ, goodbye phrases); language and greeting
  // default to the SessionConfig's. Knowledge passages are sent with every request (may be empty).
  providers::ConversationHints hints;
  std::vector<providers::KnowledgeSnippet> knowledge;
};

// Counters of one agent (for tests and the session's log line).
struct PipelineStats {
  std::uint64_t utterances = 0;
  std::uint64_t responses = 0;
  std::uint64_t cancelled_responses = 0;
  std::uint64_t dropped_audio_events = 0;
};

// Builds the agent. Null providers are accepted: start() then fails with Errc::unavailable (so a secretary
// without, say, a speech-to-text provider falls through to the next realtime agent or the fallback).
// `stats`, when not null, is updated as the agent works and may outlive it.
std::unique_ptr<providers::realtime::RealtimeAgent> make_pipeline_agent(
    boost::asio::any_io_executor executor, std::unique_ptr<providers::SpeechToText> stt,
    std::unique_ptr<providers::LanguageModel> llm, std::unique_ptr<providers::TextToSpeech> tts,
    PipelineOptions options = {}, std::shared_ptr<PipelineStats> stats = nullptr);

}  // namespace ivr::conversation
