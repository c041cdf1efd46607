#pragma once
// espeak-ng has process-wide state and EspeakEngine asserts there is one per process: every test file of
// this suite that needs espeak uses this one (an inline function's static is shared across files).

#include "ivr/providers/tts.hpp"

namespace ivr::test {

inline providers::EspeakEngine& espeak_engine() {
  static providers::EspeakEngine engine;
  return engine;
}

}  // namespace ivr::test
