#include "ivr/rag/sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

namespace ivr::rag {
namespace {

using Clock = std::chrono::steady_clock;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// In the forked child, before exec: only async-signal-safe calls (the parent has threads).
[[noreturn]] void exec_child(const std::vector<char*>& argv, int stdin_fd, int stdout_fd,
                             const SandboxLimits& limits) {
#if !defined(__SANITIZE_ADDRESS__)
  // (AddressSanitizer reserves terabytes of address space: a sanitizer build runs without this limit.)
  if (limits.memory_bytes > 0) {
    const rlimit memory{limits.memory_bytes, limits.memory_bytes};
    ::setrlimit(RLIMIT_AS, &memory);
  }
#endif
  const rlim_t cpu = static_cast<rlim_t>(limits.wall.count() / 1000 + 1);
  const rlimit cpu_limit{cpu, cpu + 1};
  ::setrlimit(RLIMIT_CPU, &cpu_limit);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::dup2(stdin_fd, STDIN_FILENO);
  ::dup2(stdout_fd, STDOUT_FILENO);
  const int null_fd = ::open("/dev/null", O_WRONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDERR_FILENO);
  ::close_range(3, ~0U, 0);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

}  // namespace

SandboxOutcome run_sandboxed(const std::vector<std::string>& args, std::string_view input,
                             const SandboxLimits& limits) {
  SandboxOutcome out;
  if (args.empty()) {
    out.error = "no program";
    return out;
  }
  // Socket pairs rather than pipes: send(MSG_NOSIGNAL) to a child that died raises no SIGPIPE in the
  // daemon, which does not ignore it.
  int in_pair[2] = {-1, -1};
  int out_pair[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0 ||
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out_pair) != 0) {
    out.error = std::strerror(errno);
    for (int* fd : {&in_pair[0], &in_pair[1], &out_pair[0], &out_pair[1]}) close_fd(*fd);
    return out;
  }
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) {
    out.error = std::strerror(errno);
    for (int* fd : {&in_pair[0], &in_pair[1], &out_pair[0], &out_pair[1]}) close_fd(*fd);
    return out;
  }
  if (pid == 0) exec_child(argv, in_pair[1], out_pair[1], limits);
  out.started = true;
  close_fd(in_pair[1]);
  close_fd(out_pair[1]);
  int to_child = in_pair[0];
  int from_child = out_pair[0];
  ::fcntl(to_child, F_SETFL, ::fcntl(to_child, F_GETFL) | O_NONBLOCK);
  ::fcntl(from_child, F_SETFL, ::fcntl(from_child, F_GETFL) | O_NONBLOCK);

  const auto deadline = Clock::now() + limits.wall;
  std::size_t written = 0;
  if (input.empty()) ::shutdown(to_child, SHUT_WR);
  char buffer[65536];
  while (from_child >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      out.timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    fds[n++] = {from_child, POLLIN, 0};
    if (to_child >= 0 && written < input.size()) fds[n++] = {to_child, POLLOUT, 0};
    const int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (n == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t sent = ::send(to_child, input.data() + written, input.size() - written, MSG_NOSIGNAL);
      if (sent > 0) written += static_cast<std::size_t>(sent);
      if (sent < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // child stopped reading
      if (written >= input.size()) {
        ::shutdown(to_child, SHUT_WR);
        close_fd(to_child);
      }
    }
    if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      const ssize_t got = ::read(from_child, buffer, sizeof buffer);
      if (got > 0) {
        out.output.append(buffer, static_cast<std::size_t>(got));
        if (out.output.size() > limits.max_output_bytes) {
          out.output_overflow = true;
          break;
        }
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(from_child);
      }
    }
  }
  if (out.timed_out || out.output_overflow) ::kill(pid, SIGKILL);
  close_fd(to_child);
  close_fd(from_child);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return out;
}

std::vector<std::string> extract_child_arguments(const knowledge::ExtractLimits& limits,
                                                 const knowledge::ChunkerOptions& chunker) {
  return {"extract-document",
          "--max-pages",
          std::to_string(limits.max_pages),
          "--max-zip-entries",
          std::to_string(limits.max_zip_entries),
          "--max-uncompressed-bytes",
          std::to_string(limits.max_uncompressed_bytes),
          "--max-text-bytes",
          std::to_string(limits.max_text_bytes),
          "--chunk-tokens",
          std::to_string(chunker.target_tokens),
          "--overlap-tokens",
          std::to_string(chunker.overlap_tokens)};
}

int extract_document_child(const knowledge::ExtractLimits& limits, const knowledge::ChunkerOptions& chunker) {
  nlohmann::json answer;
  try {
    std::string bytes(std::istreambuf_iterator<char>(std::cin), {});
    auto prepared = prepare_document(bytes, limits, chunker);
    if (!prepared) {
      answer = {{"ok", false},
                {"code", prepared.error().code == Errc::unsupported_media_type ? "unsupported_media_type"
                                                                               : "unprocessable"},
                {"reason", prepared.error().reason}};
    } else {
      nlohmann::json chunks = nlohmann::json::array();
      for (const auto& c : prepared->chunks) {
        chunks.push_back({{"text", c.text}, {"page", c.page}, {"heading", c.heading}, {"tokens", c.tokens}});
      }
      answer = {{"ok", true},
                {"pages", prepared->pages ? nlohmann::json(*prepared->pages) : nlohmann::json()},
                {"chunks", chunks}};
    }
  } catch (const std::bad_alloc&) {
    answer = {{"ok", false}, {"out_of_memory", true}};
  }
  std::cout << answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::cout.flush();
  return std::cout ? 0 : 1;
}

knowledge::ExtractResult<PreparedDocument> prepare_document_sandboxed(
    const std::string& executable, std::string_view bytes, const knowledge::ExtractLimits& limits,
    const knowledge::ChunkerOptions& chunker, const SandboxLimits& sandbox) {
  std::vector<std::string> argv{executable};
  for (auto& a : extract_child_arguments(limits, chunker)) argv.push_back(std::move(a));
  const SandboxOutcome run = run_sandboxed(argv, bytes, sandbox);
  const auto mb = [](std::size_t bytes_) { return std::to_string(bytes_ >> 20); };
  if (!run.started) {
    // Not the document's fault: surfaces as an internal error to retry later.
    throw std::runtime_error("cannot start the extractor: " + run.error);
  }
  if (run.timed_out || run.signal == SIGXCPU) {
    const auto ms = sandbox.wall.count();
    const std::string limit =
        ms % 1000 == 0 || ms > 10'000 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
    return knowledge::extract_error(Errc::unprocessable, "extracting the document took longer than " + limit);
  }
  if (run.output_overflow) {
    return knowledge::extract_error(
        Errc::unprocessable, "the document has more than " + mb(sandbox.max_output_bytes) + " MB of text");
  }
  const nlohmann::json answer = nlohmann::json::parse(run.output, nullptr, false);
  if (run.signal != 0 || !answer.is_object()) {
    if (run.exit_code == 127) throw std::runtime_error("cannot run the extractor " + executable);
    return knowledge::extract_error(Errc::unprocessable,
                                    run.signal == SIGKILL || run.signal == SIGABRT
                                        ? "the document needs more than " + mb(sandbox.memory_bytes) +
                                              " MB of memory to extract, or the extractor crashed on it"
                                        : "the extractor crashed on this document (damaged file?)");
  }
  if (!answer.value("ok", false)) {
    if (answer.value("out_of_memory", false)) {
      return knowledge::extract_error(
          Errc::unprocessable,
          "the document needs more than " + mb(sandbox.memory_bytes) + " MB of memory to extract");
    }
    const Errc code = answer.value("code", "") == "unsupported_media_type" ? Errc::unsupported_media_type
                                                                           : Errc::unprocessable;
    return knowledge::extract_error(code, answer.value("reason", "the document cannot be read"));
  }
  PreparedDocument out;
  if (answer.contains("pages") && answer["pages"].is_number_integer()) out.pages = answer["pages"].get<int>();
  for (const auto& c : answer.value("chunks", nlohmann::json::array())) {
    knowledge::Chunk chunk;
    chunk.text = c.value("text", "");
    chunk.page = c.value("page", 0);
    chunk.heading = c.value("heading", "");
    chunk.tokens = c.value("tokens", std::size_t{0});
    out.chunks.push_back(std::move(chunk));
  }
  if (out.chunks.empty()) return knowledge::extract_error(Errc::unprocessable, "the document has no text");
  return out;
}

}  // namespace ivr::rag
