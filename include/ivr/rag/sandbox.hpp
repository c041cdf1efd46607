#pragma once
// Document extraction out of the daemon's process. Poppler, libzip and pugixml parse whatever admins
// upload; a crafted or damaged file could crash them, loop for ever or eat the machine's memory. So the
// daemon runs each extraction in a child process (`voice-ai-ivr extract-document`, this same binary) with
// an address-space limit, a CPU limit and a wall-clock deadline; the child's crash, kill or timeout
// becomes a `failed` document with a reason, and the daemon (and its calls) never notice.
//
// Blocking: run on a worker thread (the ingestion pool), never the io thread.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ivr/knowledge/extract_error.hpp"
#include "ivr/rag/ingestion.hpp"

namespace ivr::rag {

struct SandboxLimits {
  std::chrono::milliseconds wall{60'000};           // killed (SIGKILL) past this
  std::size_t memory_bytes = std::size_t{1} << 30;  // RLIMIT_AS of the child; 0 = no limit
  std::size_t max_output_bytes = 256u << 20;        // more output than this: killed
};

struct SandboxOutcome {
  bool started = false;
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it (SIGKILL after a timeout, SIGSEGV, SIGXCPU…)
  bool timed_out = false;
  bool output_overflow = false;
  std::string output;  // its stdout
  std::string error;   // why it could not be started (errno text)
};

// Runs argv[0] (a path) with `input` on its stdin and collects its stdout, under `limits`. stderr is
// discarded; no other descriptor is inherited. Never throws for the child's misbehaviour.
SandboxOutcome run_sandboxed(const std::vector<std::string>& argv, std::string_view input,
                             const SandboxLimits& limits);

// What `voice-ai-ivr extract-document` does in the child: reads the document from stdin, runs
// prepare_document() and writes the result as JSON to stdout. Returns the exit code.
int extract_document_child(const knowledge::ExtractLimits& limits, const knowledge::ChunkerOptions& chunker);

// The arguments of extract_document_child() as command-line options, and back.
std::vector<std::string> extract_child_arguments(const knowledge::ExtractLimits& limits,
                                                 const knowledge::ChunkerOptions& chunker);

// prepare_document() in a child process: `executable` is this daemon's binary (/proc/self/exe).
// Reasons added to the extractors' own: "extracting the document took longer than N s", "the document
// needs more than N MB of memory to extract", "the extractor crashed on this document (damaged file?)".
knowledge::ExtractResult<PreparedDocument> prepare_document_sandboxed(
    const std::string& executable, std::string_view bytes, const knowledge::ExtractLimits& limits,
    const knowledge::ChunkerOptions& chunker, const SandboxLimits& sandbox);

}  // namespace ivr::rag
