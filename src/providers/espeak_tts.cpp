// Offline text-to-speech with libespeak-ng, in memory. espeak-ng keeps process-wide state and is not
// thread-safe, so EspeakEngine owns one worker thread and every espeak call (initialise, list voices, set
// voice and parameters, synthesise, terminate) runs there, one request at a time; adapters only validate on
// the io thread and co_await offload(). The worker also resamples, so the io thread does no audio work.

#include <atomic>
#include <cassert>
#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <espeak-ng/speak_lib.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "ivr/audio/resampler.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/core/offload.hpp"
#include "ivr/providers/tts.hpp"
#include "tts_common.hpp"

namespace ivr::providers {
namespace {

// Guards the one-engine-per-process rule in debug builds (espeak's state is global).
std::atomic<int> live_engines{0};

// Ten minutes at espeak's 22050 Hz: far beyond what kMaxSynthesisChars yields at any sane rate; a guard
// against a runaway synthesis, not a limit anyone should reach.
constexpr std::size_t kMaxOutputSamples = 22'050 * 600;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return std::string(text);
}

std::string_view last_path_part(std::string_view identifier) {
  const auto slash = identifier.rfind('/');
  return slash == std::string_view::npos ? identifier : identifier.substr(slash + 1);
}

struct Collector {
  std::vector<std::int16_t> samples;
  bool overflow = false;
};

// espeak's synth callback (synchronous mode: called on the worker, inside espeak_Synth). `wav` is null at
// the end of the text. Returning 1 aborts the synthesis.
int collect_samples(short* wav, int count, espeak_EVENT* events) {
  if (events == nullptr || events->user_data == nullptr) return 0;
  auto* collector = static_cast<Collector*>(events->user_data);
  if (wav == nullptr || count <= 0) return 0;
  if (collector->samples.size() + static_cast<std::size_t>(count) > kMaxOutputSamples) {
    collector->overflow = true;
    return 1;
  }
  collector->samples.insert(collector->samples.end(), wav, wav + count);
  return 0;
}

}  // namespace

class EspeakEngine::Impl {
 public:
  explicit Impl(EspeakSettings settings) : settings_(std::move(settings)) {}

  ~Impl() {
    // espeak_Terminate must run on the thread that initialised espeak; the pool's one thread is it.
    boost::asio::post(pool_, [this] {
      if (sample_rate_ > 0) espeak_Terminate();
    });
    pool_.join();
  }

  const EspeakSettings& settings() const noexcept { return settings_; }
  boost::asio::thread_pool& pool() noexcept { return pool_; }

  // Worker thread only. Mono 16-bit audio at `rate`, or unprocessable (unknown voice/language, runaway
  // output) / unavailable (espeak could not initialise or failed).
  Result<audio::PcmAudio> blocking_synthesize(const std::string& text, const std::string& voice,
                                              const std::string& language, int rate) {
    if (auto ec = blocking_initialise(); ec) return ec;
    auto chosen = pick_voice(voice, language);
    if (!chosen) return chosen.error();
    auto log = module_logger("providers");
    if (*chosen != current_voice_) {
      if (espeak_SetVoiceByName(chosen->c_str()) != EE_OK) {
        log->warn("espeak: voice {} failed to load", *chosen);
        return make_error_code(Errc::unprocessable);
      }
      current_voice_ = *chosen;
    }
    // Set every time: loading a voice may reset them.
    espeak_SetParameter(espeakRATE, settings_.rate_wpm, 0);
    espeak_SetParameter(espeakPITCH, settings_.pitch, 0);
    espeak_SetParameter(espeakVOLUME, settings_.volume, 0);

    Collector collector;
    collector.samples.reserve(static_cast<std::size_t>(sample_rate_) * 4);
    // No espeakSSML / espeakPHONEMES flags: text from callers and LLMs is spoken as text, never as markup.
    const espeak_ERROR result = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0,
                                             espeakCHARS_UTF8 | espeakENDPAUSE, nullptr, &collector);
    if (collector.overflow) {
      log->warn("espeak: output over {} samples, aborted", kMaxOutputSamples);
      return make_error_code(Errc::unprocessable);
    }
    if (result != EE_OK) {
      log->error("espeak: synthesis failed ({})", static_cast<int>(result));
      return make_error_code(Errc::unavailable);
    }
    audio::PcmAudio out;
    out.channels = 1;
    out.sample_rate = rate;
    out.samples = rate == sample_rate_ ? std::move(collector.samples)
                                       : audio::resample(collector.samples, sample_rate_, rate);
    log->debug("espeak: {} bytes of text with {} → {} ms", text.size(), *chosen, out.duration_ms());
    return out;
  }

 private:
  boost::system::error_code blocking_initialise() {
    if (sample_rate_ > 0) return {};
    if (init_failed_) return Errc::unavailable;
    auto log = module_logger("providers");
    // DONT_EXIT: without it espeak calls exit() when its data files are missing.
    const int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                       settings_.data_path.empty() ? nullptr : settings_.data_path.c_str(),
                                       espeakINITIALIZE_DONT_EXIT);
    if (rate <= 0) {
      init_failed_ = true;
      log->error("espeak: initialisation failed (data path '{}'); the espeak provider is unavailable",
                 settings_.data_path.empty() ? "default" : settings_.data_path);
      return Errc::unavailable;
    }
    sample_rate_ = rate;
    espeak_SetSynthCallback(collect_samples);
    load_voice_list();
    log->info("espeak: initialised at {} Hz with {} voices", sample_rate_, voice_by_name_.size());
    return {};
  }

  // Indexes espeak's voices: by name, identifier and file name (what espeak_SetVoiceByName accepts), and by
  // each language they declare (lowest priority number wins, as espeak ranks them). Values are identifiers
  // ("roa/pt-BR"), which espeak_SetVoiceByName matches exactly.
  void load_voice_list() {
    std::map<std::string, int> language_priority;
    for (const espeak_VOICE** v = espeak_ListVoices(nullptr); v != nullptr && *v != nullptr; ++v) {
      const espeak_VOICE& voice = **v;
      if (voice.identifier == nullptr) continue;
      const std::string identifier = voice.identifier;
      voice_by_name_.emplace(lower(identifier), identifier);
      voice_by_name_.emplace(lower(last_path_part(identifier)), identifier);
      if (voice.name != nullptr) voice_by_name_.emplace(lower(voice.name), identifier);
      // languages: repeated {priority byte, NUL-terminated name}, ended by a 0 priority byte.
      for (const char* p = voice.languages; p != nullptr && *p != 0;) {
        const int priority = static_cast<unsigned char>(*p++);
        const std::string language = lower(p);
        p += language.size() + 1;
        auto it = language_priority.find(language);
        if (it == language_priority.end() || priority < it->second) {
          language_priority[language] = priority;
          voice_by_language_[language] = identifier;
        }
      }
    }
    espeak_VOICE variant_spec{};
    variant_spec.languages = "variant";
    for (const espeak_VOICE** v = espeak_ListVoices(&variant_spec); v != nullptr && *v != nullptr; ++v) {
      if ((*v)->identifier == nullptr) continue;
      const std::string file(last_path_part((*v)->identifier));  // "!v/Alicia" → "Alicia"
      variants_.emplace(lower(file), file);
      if ((*v)->name != nullptr) variants_.emplace(lower((*v)->name), file);
    }
  }

  // The voice to load: the request's voice ("name" or "name+variant"), else by language tag, else the
  // configured default. Errc::unprocessable when none of them is known.
  Result<std::string> pick_voice(const std::string& requested, const std::string& language) const {
    const std::string voice = trimmed(requested);
    if (!voice.empty()) return resolve_voice_name(voice);

    std::string tag = lower(trimmed(language));
    for (char& c : tag) {
      if (c == '_') c = '-';
    }
    if (tag.empty()) {
      auto by_name = resolve_voice_name(settings_.default_voice);
      if (by_name) return by_name;
      tag = lower(settings_.default_voice);
    }
    if (auto it = voice_by_language_.find(tag); it != voice_by_language_.end()) return it->second;
    const std::string primary = tag.substr(0, tag.find('-'));
    // espeak ranks pt (Portugal) first for "pt" and en-gb for "en"; our callers mean Brazil and the US.
    const std::string preferred = primary == "pt" ? "pt-br" : primary == "en" ? "en-us" : primary;
    if (auto it = voice_by_language_.find(preferred); it != voice_by_language_.end()) return it->second;
    if (auto it = voice_by_language_.find(primary); it != voice_by_language_.end()) return it->second;
    module_logger("providers")->info("espeak: no voice for language '{}'", language);
    return make_error_code(Errc::unprocessable);
  }

  Result<std::string> resolve_voice_name(std::string_view voice) const {
    const auto plus = voice.find('+');
    const std::string base = lower(voice.substr(0, plus));
    const auto it = voice_by_name_.find(base);
    if (it == voice_by_name_.end()) return make_error_code(Errc::unprocessable);
    if (plus == std::string_view::npos) return it->second;
    const auto variant = variants_.find(lower(voice.substr(plus + 1)));
    if (variant == variants_.end()) return make_error_code(Errc::unprocessable);
    return it->second + "+" + variant->second;
  }

  const EspeakSettings settings_;
  // Worker-thread state: only the pool's single thread touches it, so no mutex.
  int sample_rate_ = 0;  // espeak's output rate once initialised
  bool init_failed_ = false;
  std::string current_voice_;
  std::map<std::string, std::string> voice_by_name_;      // lower-case name/identifier/file → identifier
  std::map<std::string, std::string> voice_by_language_;  // lower-case language → identifier
  std::map<std::string, std::string> variants_;           // lower-case variant name/file → file
  boost::asio::thread_pool pool_{1};
};

EspeakEngine::EspeakEngine(EspeakSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {
  [[maybe_unused]] const int before = live_engines.fetch_add(1);
  assert(before == 0 && "one EspeakEngine per process: espeak-ng state is global");
}

EspeakEngine::~EspeakEngine() {
  impl_.reset();
  live_engines.fetch_sub(1);
}

const EspeakSettings& EspeakEngine::settings() const noexcept {
  return impl_->settings();
}

namespace {

class EspeakTextToSpeech final : public TextToSpeech {
 public:
  explicit EspeakTextToSpeech(EspeakEngine& engine) : engine_(engine) {}

  std::string_view name() const override { return "espeak"; }

  boost::asio::awaitable<Result<Synthesis>> synthesize(SynthesisRequest request) override {
    if (auto ec = tts_detail::validate_request(request, kMaxSynthesisChars); ec) co_return ec;
    EspeakEngine::Impl& impl = engine_.impl();
    // Named before co_await (GCC 12: no capturing lambda inside a co_await expression).
    auto job = [&impl, request = std::move(request)]() -> Result<audio::PcmAudio> {
      try {
        return impl.blocking_synthesize(request.text, request.voice, request.language, request.sample_rate);
      } catch (const std::exception& e) {  // bad_alloc, or the resampler refusing: never past the edge
        module_logger("providers")->error("espeak: {}", e.what());
        return make_error_code(Errc::internal);
      }
    };
    auto audio = co_await offload(impl.pool(), std::move(job));
    if (!audio) co_return audio.error();
    Synthesis out;
    out.audio = std::move(*audio);
    out.provider = "espeak";
    co_return out;
  }

 private:
  EspeakEngine& engine_;
};

}  // namespace

std::unique_ptr<TextToSpeech> make_espeak_tts(EspeakEngine& engine) {
  return std::make_unique<EspeakTextToSpeech>(engine);
}

}  // namespace ivr::providers
