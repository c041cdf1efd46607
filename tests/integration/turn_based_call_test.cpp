// A whole turn-based call against the real daemon binary ($IVR_BUILD_DIR/voice-ai-ivr), the real PostgreSQL
// and Redis that scripts/test.sh starts, with FakeVendorServers as the tenant's OpenAI-compatible Whisper
// server and as its helpdesk's webhook receiver. What the FreeSWITCH Lua script does on a call, step by
// step: transcribe, chat (turns, then a transfer), synthesize, end; then the signed call_completed webhook,
// also across a daemon restart. Each test has a database of its own (created through the postgres
// superuser, dropped at the end) and its own Redis key prefix.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "fakes/fake_vendor_server.hpp"
#include "ivr/audio/wav.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/multipart_reader.hpp"
#include "support/test_env.hpp"

extern char** environ;

namespace ivr {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using test::expected_signature;
using test::FakeResponse;
using test::RecordedRequest;
using test::with_params;

constexpr const char* kMasterKey = "8f3c2a1b9e7d6c5b4a3928171615141312111009080706050403020100fedcba";
constexpr const char* kWebhookSecret = "whsec-helpdesk-7d1e";
constexpr const char* kSttApiKey = "sk-test-whisper-key-9Q4Z";
constexpr const char* kSttModel = "whisper-large-v3";
constexpr const char* kHeard = "Qual o horário de funcionamento?";

// ---- small independent helpers (none of them reuses the code under test) ----

// A canonical 44-byte-header 16-bit PCM mono WAV, written by hand (not with audio::write_wav).
std::string pcm16_wav(int rate, const std::vector<std::int16_t>& samples) {
  std::string out;
  auto u32 = [&out](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto u16 = [&out](std::uint16_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
  };
  const auto data_bytes = static_cast<std::uint32_t>(samples.size() * 2);
  out += "RIFF";
  u32(36 + data_bytes);
  out += "WAVE";
  out += "fmt ";
  u32(16);
  u16(1);  // PCM
  u16(1);  // mono
  u32(static_cast<std::uint32_t>(rate));
  u32(static_cast<std::uint32_t>(rate * 2));
  u16(2);
  u16(16);
  out += "data";
  u32(data_bytes);
  for (std::int16_t s : samples) u16(static_cast<std::uint16_t>(s));
  return out;
}

// 1.5 s at 8 kHz of a voice-like signal: a 180 Hz fundamental with harmonics and a little noise.
std::string speech_like_wav() {
  constexpr int kRate = 8'000;
  std::vector<std::int16_t> samples(kRate * 3 / 2);
  std::uint32_t noise = 12345;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double t = static_cast<double>(i) / kRate;
    double v = 0;
    for (int h = 1; h <= 4; ++h) v += std::sin(2 * M_PI * 180.0 * h * t) / h;
    noise = noise * 1664525u + 1013904223u;
    v = v * 6'000 + (static_cast<double>(noise >> 20) - 2048.0);
    samples[i] = static_cast<std::int16_t>(v);
  }
  return pcm16_wav(kRate, samples);
}

std::string silent_wav() {
  return pcm16_wav(8'000, std::vector<std::int16_t>(8'000, 0));
}

struct ParsedWav {
  int format = 0;
  int channels = 0;
  int sample_rate = 0;
  int bits = 0;
  std::vector<std::int16_t> samples;
};

// Walks the RIFF chunks by hand; nullopt when the bytes are not a WAV with fmt and data chunks.
std::optional<ParsedWav> read_wav(const std::string& bytes) {
  auto u32 = [&bytes](std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  auto u16 = [&bytes](std::size_t at) {
    return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[at]) |
                                      (static_cast<unsigned char>(bytes[at + 1]) << 8));
  };
  if (bytes.size() < 12 || bytes.compare(0, 4, "RIFF") != 0 || bytes.compare(8, 4, "WAVE") != 0) {
    return std::nullopt;
  }
  ParsedWav wav;
  bool fmt = false;
  bool data = false;
  for (std::size_t at = 12; at + 8 <= bytes.size();) {
    const std::string id = bytes.substr(at, 4);
    const std::size_t size = u32(at + 4);
    const std::size_t body = at + 8;
    if (body + size > bytes.size()) return std::nullopt;
    if (id == "fmt " && size >= 16) {
      wav.format = u16(body);
      wav.channels = u16(body + 2);
      wav.sample_rate = static_cast<int>(u32(body + 4));
      wav.bits = u16(body + 14);
      fmt = true;
    } else if (id == "data") {
      for (std::size_t i = 0; i + 1 < size; i += 2)
        wav.samples.push_back(static_cast<std::int16_t>(u16(body + i)));
      data = true;
    }
    at = body + size + (size & 1);
  }
  if (!fmt || !data) return std::nullopt;
  return wav;
}

int peak_of(const std::vector<std::int16_t>& samples) {
  int peak = 0;
  for (std::int16_t s : samples) peak = std::max(peak, std::abs(static_cast<int>(s)));
  return peak;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return out;
    }
  }
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Polls `done` every 50 ms until it holds or `limit` passes; returns its last value.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// ---- the daemon as a child process ----

// argv/envp for posix_spawn from owned strings.
struct CStrings {
  std::vector<std::string> owned;
  std::vector<char*> pointers;
  explicit CStrings(std::vector<std::string> strings) : owned(std::move(strings)) {
    for (auto& s : owned) pointers.push_back(s.data());
    pointers.push_back(nullptr);
  }
};

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class DaemonProcess {
 public:
  DaemonProcess(std::string binary, std::map<std::string, std::string> env)
      : binary_(std::move(binary)), env_(std::move(env)) {}
  ~DaemonProcess() { kill_hard(); }

  // The inherited environment without any VOICE_AI_* (unknown ones are configuration errors), plus ours.
  std::vector<std::string> environment(const std::map<std::string, std::string>& extra) const {
    std::vector<std::string> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string entry(*e);
      if (entry.starts_with("VOICE_AI_") || entry.starts_with("no_proxy=") ||
          entry.starts_with("NO_PROXY=")) {
        continue;
      }
      out.push_back(entry);
    }
    out.push_back("no_proxy=127.0.0.1,localhost");  // a machine proxy must not capture loopback traffic
    out.push_back("NO_PROXY=127.0.0.1,localhost");
    for (const auto& [k, v] : env_) {
      if (!extra.contains(k)) out.push_back(k + "=" + v);
    }
    for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
    return out;
  }

  // Runs an administrative command (migrate, domain add, token create) to completion.
  CliResult cli(std::vector<std::string> args) const {
    std::array<int, 2> out_pipe{};
    std::array<int, 2> err_pipe{};
    if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0 || ::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe2 failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    args.insert(args.begin(), binary_);
    CStrings argv(std::move(args));
    CStrings envp(environment({}));
    pid_t pid = 0;
    const int rc =
        ::posix_spawn(&pid, binary_.c_str(), &actions, nullptr, argv.pointers.data(), envp.pointers.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    CliResult result;
    if (rc == 0) {
      // The outputs are a line or two: reading one pipe after the other cannot fill the other one.
      result.out = read_all(out_pipe[0]);
      result.err = read_all(err_pipe[0]);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    if (rc != 0) throw std::runtime_error("cannot run " + binary_ + ": " + std::strerror(rc));
    return result;
  }

  // `serve` on a free port, output appended to log_path(); waits for GET /ready. Returns false (log in
  // log_text()) when the daemon exits or is not ready in time.
  bool start(const std::string& log_path) {
    log_path_ = log_path;
    port_ = free_port();
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("cannot open " + log_path);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    CStrings argv({binary_, "serve"});
    CStrings envp(environment({{"VOICE_AI_SERVER_PORT", std::to_string(port_)}}));
    const int rc =
        ::posix_spawn(&pid_, binary_.c_str(), &actions, nullptr, argv.pointers.data(), envp.pointers.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(log_fd);
    if (rc != 0) throw std::runtime_error("cannot start " + binary_ + ": " + std::strerror(rc));
    return wait_ready();
  }

  // SIGTERM, then the exit status (a clean drain exits 0); -1 when it had to be killed.
  int terminate(std::chrono::milliseconds limit = 15s) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + limit;
    int status = 0;
    for (;;) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (Clock::now() >= deadline) {
        kill_hard();
        return -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  bool running() const { return pid_ > 0; }
  std::uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::string log_text() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  bool wait_ready() {
    const auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return false;
      }
      // A plain blocking probe: the test's HttpClient belongs to the test's io_context.
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(port_);
      const timeval patience{2, 0};  // a daemon that accepts but never answers must not hang the test
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
      bool ready = false;
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string probe = "GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if (::write(fd, probe.data(), probe.size()) == static_cast<ssize_t>(probe.size())) {
          ready = read_all(fd).starts_with("HTTP/1.1 200");
        }
      }
      ::close(fd);
      if (ready) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  std::string binary_;
  std::map<std::string, std::string> env_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = 0;
};

// ---- the fixture ----

struct Reply {
  int status = 0;
  net::Headers headers;
  std::string body;

  json as_json() const { return json::parse(body, nullptr, false); }
  std::string header(std::string_view name) const { return std::string(headers.get(name).value_or("")); }
};

class TurnBasedCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);  // the test's own HttpClient, too
    binary_ = daemon_binary();
    ASSERT_TRUE(std::filesystem::exists(binary_)) << binary_ << " is missing: build voice-ai-ivr";

    base_url_ = test::database_url();
    db_name_ = "test_call_" + random_uuid().substr(0, 8) + random_uuid().substr(24);
    {
      pqxx::connection conn(base_url_);
      pqxx::nontransaction tx(conn);
      owner_ = tx.exec("SELECT current_user")[0][0].as<std::string>();
    }
    {
      // The application role has no CREATEDB; the private test server trusts loopback for postgres.
      pqxx::connection conn(with_params(base_url_, {{"user", "postgres"}}));
      pqxx::nontransaction tx(conn);
      tx.exec("CREATE DATABASE " + tx.quote_name(db_name_) + " OWNER " + tx.quote_name(owner_));
      db_created_ = true;
    }
    db_url_ = with_params(base_url_, {{"dbname", db_name_}});
    log_path_ = (std::filesystem::temp_directory_path() / (db_name_ + ".log")).string();

    stt_.on("POST", "/v1/audio/transcriptions", [](const RecordedRequest&) {
      return FakeResponse::json(200, json{{"text", std::string(" ") + kHeard + " "}}.dump());
    });
    helpdesk_.on("POST", "/hooks/ivr", [this](const RecordedRequest&) {
      return FakeResponse::json(receiver_status_.load(), R"({"ok":true})");
    });

    daemon_ = std::make_unique<DaemonProcess>(
        binary_, std::map<std::string, std::string>{
                     {"VOICE_AI_DATABASE_URL", db_url_},
                     {"VOICE_AI_DATABASE_MIGRATIONS_DIR", test::source_dir() + "/migrations"},
                     {"VOICE_AI_REDIS_URL", test::redis_url()},
                     {"VOICE_AI_REDIS_KEY_PREFIX", db_name_ + ":"},
                     {"VOICE_AI_SECURITY_MASTER_KEY", kMasterKey},
                     {"VOICE_AI_LOG_LEVEL", "debug"},
                     {"VOICE_AI_SERVER_DRAIN_TIMEOUT_MS", "5000"},
                     // Generous limits: the test polls GET /webhooks/deliveries and must not meet a 429.
                     {"VOICE_AI_RATE_LIMIT_REQUESTS_PER_SECOND", "500"},
                     {"VOICE_AI_RATE_LIMIT_BURST", "1000"},
                     // Short retries, so a failed webhook is tried again within the test's time.
                     {"VOICE_AI_WEBHOOKS_POLL_INTERVAL_MS", "100"},
                     {"VOICE_AI_WEBHOOKS_INITIAL_BACKOFF_MS", "200"},
                     {"VOICE_AI_WEBHOOKS_MAX_BACKOFF_MS", "400"},
                     {"VOICE_AI_WEBHOOKS_REQUEST_TIMEOUT_MS", "3000"},
                 });

    CliResult migrated = daemon_->cli({"migrate"});
    ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
    CliResult domain = daemon_->cli({"domain", "add", "--name", "pbx.turn-test.example"});
    ASSERT_EQ(domain.exit_code, 0) << domain.err;
    domain_ = domain.out.substr(0, domain.out.find('\t'));
    ASSERT_TRUE(is_valid_uuid(domain_)) << domain.out;
    CliResult admin = daemon_->cli({"token", "create", "--scope", "admin"});
    ASSERT_EQ(admin.exit_code, 0) << admin.err;
    admin_token_ = trim(admin.out);
    CliResult call =
        daemon_->cli({"token", "create", "--scope", "call", "--domain", domain_, "--label", "fs1"});
    ASSERT_EQ(call.exit_code, 0) << call.err;
    call_token_ = trim(call.out);
    ASSERT_TRUE(admin_token_.starts_with("ivr_") && call_token_.starts_with("ivr_"));

    start_daemon();
  }

  void TearDown() override {
    http_.reset();
    if (daemon_ && daemon_->running()) {
      const int rc = daemon_->terminate();
      EXPECT_EQ(rc, 0) << "the daemon did not exit cleanly on SIGTERM";
    }
    if (HasFailure() && daemon_) {
      const std::string log = daemon_->log_text();
      std::cerr << "---- daemon log (last 6000 bytes) ----\n"
                << (log.size() > 6000 ? log.substr(log.size() - 6000) : log) << "\n";
    }
    daemon_.reset();
    std::error_code ignored;
    std::filesystem::remove(log_path_, ignored);
    if (db_created_) {
      try {
        pqxx::connection conn(with_params(base_url_, {{"user", "postgres"}}));
        pqxx::nontransaction tx(conn);
        tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(db_name_) + " WITH (FORCE)");
      } catch (const std::exception& e) {
        ADD_FAILURE() << "cannot drop " << db_name_ << ": " << e.what();
      }
    }
  }

  static std::string daemon_binary() {
    if (const char* dir = std::getenv("IVR_BUILD_DIR"); dir != nullptr && *dir != '\0') {
      return std::string(dir) + "/voice-ai-ivr";
    }
    // Built next to this test binary.
    return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "voice-ai-ivr").string();
  }

  void start_daemon() {
    ASSERT_TRUE(daemon_->start(log_path_)) << "the daemon did not become ready:\n" << daemon_->log_text();
    http_ = std::make_unique<net::HttpClient>(io_);
  }

  // SIGTERM and the exit status.
  int stop_daemon() {
    http_.reset();  // close our keep-alive connections first, as FreeSWITCH's would be by then
    return daemon_->terminate();
  }

  Reply send(const std::string& method, const std::string& path, std::string body = {},
             std::string content_type = "application/json", const std::string& token = {}) {
    if (!http_) throw std::runtime_error("the daemon is not running");
    net::ClientRequest request;
    request.method = method;
    request.url = daemon_->base_url() + path;
    request.headers.set("X-Api-Key", token.empty() ? call_token_ : token);
    request.headers.set("X-Domain-UUID", domain_);
    if (!body.empty() || method == "POST") request.headers.set("Content-Type", content_type);
    request.body = std::move(body);
    request.total_timeout = 15s;
    Result<net::ClientResponse> response = test::run(io_, http_->send(std::move(request)));
    if (!response) throw std::runtime_error(method + " " + path + ": " + response.error().message());
    return Reply{response->status, std::move(response->headers), std::move(response->body)};
  }

  Reply post_json(const std::string& path, const json& body, const std::string& token = {}) {
    return send("POST", path, body.dump(), "application/json", token);
  }
  Reply get(const std::string& path, const std::string& token = {}) {
    return send("GET", path, {}, {}, token);
  }

  // The secretary a tenant admin sets up: Whisper on their own server, offline LLM, espeak, transfer
  // targets, a FAQ answer and a signed webhook to their helpdesk.
  json secretary_settings() const {
    return {{"name", "Recepção"},
            {"language", "pt-BR"},
            {"greeting", "Olá! Você ligou para a Turn Test. Em que posso ajudar?"},
            {"is_default", true},
            {"providers",
             {{"stt", json::array({{{"vendor", "openai"},
                                    {"base_url", stt_.base_url() + "/v1"},
                                    {"model", kSttModel},
                                    {"api_key", kSttApiKey},
                                    {"timeout_ms", 5000}}})},
              {"llm", json::array({{{"vendor", "extractive"}}})},
              {"tts", json::array({{{"vendor", "espeak"}}})}}},
            {"transfer_targets", {{"vendas", "1001"}, {"financeiro", "1002"}}},
            {"fallback_extension", "1000"},
            {"faq", json::array({{{"question", "Qual o horário de funcionamento?"},
                                  {"answer", "Funcionamos de segunda a sexta, das 8h às 18h."}}})},
            {"webhook_url", helpdesk_.base_url() + "/hooks/ivr"},
            {"webhook_secret", kWebhookSecret}};
  }

  // POST /secretaries with the admin token; returns the created secretary's id.
  std::string create_secretary() {
    Reply created = post_json("/secretaries", secretary_settings(), admin_token_);
    EXPECT_EQ(created.status, 201) << created.body;
    const json s = created.as_json();
    EXPECT_TRUE(s.is_object()) << created.body;
    return s.is_object() ? s.value("id", "") : "";
  }

  std::vector<RecordedRequest> webhook_requests() const {
    std::vector<RecordedRequest> out;
    for (auto& r : helpdesk_.requests()) {
      if (r.path == "/hooks/ivr") out.push_back(std::move(r));
    }
    return out;
  }

  // GET /webhooks/deliveries (admin) → the row with this id, or null.
  json delivery(const std::string& id) {
    Reply list = get("/webhooks/deliveries?limit=50", admin_token_);
    if (list.status != 200) return json();
    for (const auto& row : list.as_json().value("deliveries", json::array())) {
      if (row.contains("id") && std::to_string(row["id"].get<std::int64_t>()) == id) return row;
    }
    return json();
  }

  // Checks one webhook request the helpdesk received: headers, a valid signature, the call's payload.
  void expect_signed_call_completed(const RecordedRequest& hook, const std::string& call_uuid) {
    EXPECT_EQ(hook.method, "POST");
    EXPECT_EQ(hook.header("content-type"), "application/json");
    EXPECT_EQ(hook.header("x-webhook-event"), "call_completed");
    EXPECT_TRUE(hook.header("user-agent").starts_with("voice-ai-ivr/")) << hook.header("user-agent");
    const std::string timestamp = hook.header("x-webhook-timestamp");
    ASSERT_FALSE(timestamp.empty());
    const auto sent_at = std::stoll(timestamp);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    EXPECT_LE(std::llabs(now - sent_at), 60) << "the timestamp is this attempt's time";
    EXPECT_EQ(hook.header("x-webhook-signature"), expected_signature(kWebhookSecret, timestamp, hook.body))
        << "the signature must verify with the tenant's secret over timestamp.body";
    EXPECT_NE(hook.header("x-webhook-signature"), expected_signature("wrong-secret", timestamp, hook.body));
    const json body = json::parse(hook.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << hook.body;
    EXPECT_EQ(body.value("event", ""), "call_completed");
    EXPECT_EQ(body.value("call_uuid", ""), call_uuid);
    EXPECT_EQ(body.value("domain_uuid", ""), domain_);
    EXPECT_EQ(body.value("secretary_name", ""), "Recepção");
    EXPECT_TRUE(body["transcript"].is_array());
    EXPECT_FALSE(body.value("started_at", "").empty());
    EXPECT_FALSE(body.value("ended_at", "").empty());
    EXPECT_EQ(hook.body.find(kWebhookSecret), std::string::npos);
  }

  std::string binary_;
  std::string base_url_;
  std::string owner_;
  std::string db_name_;
  std::string db_url_;
  bool db_created_ = false;
  std::string log_path_;
  std::string domain_;
  std::string admin_token_;
  std::string call_token_;

  test::FakeVendorServer stt_;       // the tenant's OpenAI-compatible Whisper server
  test::FakeVendorServer helpdesk_;  // the tenant's webhook receiver
  std::atomic<int> receiver_status_{200};

  boost::asio::io_context io_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<net::HttpClient> http_;
};

TEST_F(TurnBasedCallTest, WholeCallFromTranscriptionToSignedWebhook) {
  // ---- 1. the secretary ----
  EXPECT_EQ(post_json("/secretaries", secretary_settings(), call_token_).status, 403)
      << "a call token must not change settings";
  const std::string secretary_id = create_secretary();
  ASSERT_TRUE(is_valid_uuid(secretary_id));

  Reply read = get("/secretaries/" + secretary_id);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body.find(kSttApiKey), std::string::npos) << "API key in clear: " << read.body;
  EXPECT_EQ(read.body.find(kWebhookSecret), std::string::npos) << "webhook secret in clear: " << read.body;
  EXPECT_EQ(read.body.find("sealed"), std::string::npos)
      << "sealed secrets are not for clients: " << read.body;
  Reply listed = get("/secretaries");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.body.find(secretary_id), std::string::npos);
  EXPECT_EQ(listed.body.find(kSttApiKey), std::string::npos) << listed.body;
  EXPECT_EQ(listed.body.find(kWebhookSecret), std::string::npos) << listed.body;
  const json secretary = read.as_json();
  const json stt = secretary["providers"]["stt"][0];
  EXPECT_EQ(stt.value("vendor", ""), "openai");
  EXPECT_EQ(stt.value("model", ""), kSttModel);
  EXPECT_EQ(stt.value("has_api_key", false), true);
  EXPECT_EQ(stt.value("api_key_hint", ""), "…9Q4Z");
  EXPECT_EQ(secretary.value("has_webhook_secret", false), true);
  EXPECT_EQ(secretary["transfer_targets"].value("vendas", ""), "1001");
  EXPECT_EQ(secretary.value("webhook_url", ""), helpdesk_.base_url() + "/hooks/ivr");
  {
    // Nor in clear at rest.
    pqxx::connection conn(db_url_);
    pqxx::work tx(conn);
    const std::string stored =
        tx.exec_params("SELECT settings::text FROM secretaries WHERE secretary_id = $1::uuid",
                       secretary_id)[0][0]
            .as<std::string>();
    EXPECT_EQ(stored.find(kSttApiKey), std::string::npos);
    EXPECT_EQ(stored.find(kWebhookSecret), std::string::npos);
  }

  // ---- 2. what the caller said ----
  const std::string spoken = speech_like_wav();
  Reply heard = send("POST", "/transcribe?secretary_id=" + secretary_id, spoken, "audio/wav");
  ASSERT_EQ(heard.status, 200) << heard.body;
  const json transcript = heard.as_json();
  EXPECT_EQ(transcript.value("text", ""), kHeard) << "trimmed as the vendor's text";
  EXPECT_EQ(transcript.value("language", ""), "pt-BR");
  EXPECT_EQ(transcript.value("duration_ms", 0), 1500);
  EXPECT_EQ(transcript.value("provider", ""), "openai");

  ASSERT_EQ(stt_.request_count(), 1u);
  const RecordedRequest whisper = stt_.requests().front();
  EXPECT_EQ(whisper.method, "POST");
  EXPECT_EQ(whisper.path, "/v1/audio/transcriptions");
  EXPECT_EQ(whisper.header("authorization"), std::string("Bearer ") + kSttApiKey);
  const auto boundary = net::multipart_boundary(whisper.header("content-type"));
  ASSERT_TRUE(boundary.has_value()) << whisper.header("content-type");
  EXPECT_TRUE(whisper.header("content-type").starts_with("multipart/form-data"));
  Result<std::vector<net::MultipartPart>> parts = net::parse_multipart(whisper.body, *boundary);
  ASSERT_TRUE(parts) << "not well-formed multipart";
  std::map<std::string, net::MultipartPart> by_name;
  for (const auto& p : *parts) by_name.emplace(p.name, p);
  ASSERT_TRUE(by_name.contains("file"));
  ASSERT_TRUE(by_name.contains("model"));
  EXPECT_EQ(by_name["model"].data, kSttModel);
  EXPECT_EQ(by_name["file"].filename, "audio.wav");
  EXPECT_EQ(by_name["file"].content_type, "audio/wav");
  EXPECT_EQ(by_name["language"].data, "pt") << "Whisper takes ISO-639-1";
  EXPECT_EQ(by_name["response_format"].data, "json");
  const std::optional<ParsedWav> uploaded = read_wav(std::string(by_name["file"].data));
  ASSERT_TRUE(uploaded.has_value()) << "the file part is not a WAV";
  EXPECT_EQ(uploaded->format, 1);
  EXPECT_EQ(uploaded->channels, 1);
  EXPECT_EQ(uploaded->bits, 16);
  EXPECT_TRUE(uploaded->sample_rate == 8'000 || uploaded->sample_rate == 16'000) << uploaded->sample_rate;
  const double uploaded_ms = 1000.0 * static_cast<double>(uploaded->samples.size()) / uploaded->sample_rate;
  EXPECT_NEAR(uploaded_ms, 1500.0, 50.0);
  EXPECT_GT(peak_of(uploaded->samples), 2'000) << "the caller's audio reached Whisper";

  // Silence (as a multipart upload this time) is answered at once, without paying the vendor.
  const std::string form_boundary = "turn-test-boundary-42";
  const std::string form = "--" + form_boundary +
                           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"silence.wav\""
                           "\r\nContent-Type: audio/wav\r\n\r\n" +
                           silent_wav() + "\r\n--" + form_boundary + "--\r\n";
  Reply quiet = send("POST", "/transcribe", form, "multipart/form-data; boundary=" + form_boundary);
  ASSERT_EQ(quiet.status, 200) << quiet.body;
  EXPECT_EQ(quiet.as_json().value("text", "x"), "");
  EXPECT_EQ(quiet.as_json().value("duration_ms", 0), 1000);
  EXPECT_EQ(stt_.request_count(), 1u) << "silence must not reach the provider";

  // ---- 3. the conversation ----
  const std::string call_uuid = random_uuid();
  const std::vector<std::string> said = {"Bom dia", transcript.value("text", ""), "Quero falar com vendas"};
  std::vector<json> replies;
  for (const std::string& text : said) {
    Reply turn = post_json("/chat", {{"call_uuid", call_uuid},
                                     {"secretary_id", secretary_id},
                                     {"text", text},
                                     {"caller_id", "+5511988887777"}});
    ASSERT_EQ(turn.status, 200) << turn.body;
    replies.push_back(turn.as_json());
    EXPECT_FALSE(replies.back().value("text", "").empty()) << turn.body;
    EXPECT_EQ(replies.back().value("provider", ""), "extractive") << turn.body;
  }
  EXPECT_EQ(replies[0].value("action", ""), "continue") << replies[0].dump();
  EXPECT_EQ(replies[1].value("action", ""), "continue") << replies[1].dump();
  EXPECT_NE(replies[1].value("text", "").find("segunda a sexta"), std::string::npos)
      << "the FAQ answers the question: " << replies[1].dump();
  EXPECT_EQ(replies[2].value("action", ""), "transfer") << replies[2].dump();
  EXPECT_EQ(replies[2].value("transfer_to", ""), "1001") << replies[2].dump();
  EXPECT_EQ(replies[2].value("transfer_target", ""), "vendas") << replies[2].dump();

  Reply stored = get("/calls/" + call_uuid);
  ASSERT_EQ(stored.status, 200) << stored.body;
  const json call = stored.as_json();
  EXPECT_EQ(call.value("status", ""), "active");
  EXPECT_EQ(call.value("domain_uuid", ""), domain_);
  EXPECT_EQ(call.value("secretary_id", ""), secretary_id);
  EXPECT_EQ(call.value("caller_id", ""), "+5511988887777");
  EXPECT_EQ(call.value("mode", ""), "turn");
  EXPECT_EQ(call.value("turns", 0), 3);
  ASSERT_EQ(call["transcript"].size(), 6u) << stored.body;
  for (std::size_t i = 0; i < said.size(); ++i) {
    EXPECT_EQ(call["transcript"][2 * i].value("role", ""), "caller");
    EXPECT_EQ(call["transcript"][2 * i].value("text", ""), said[i]);
    EXPECT_EQ(call["transcript"][2 * i + 1].value("role", ""), "assistant");
    EXPECT_EQ(call["transcript"][2 * i + 1].value("text", ""), replies[i].value("text", ""));
  }
  EXPECT_EQ(call["transcript"][5].value("action", ""), "transfer");
  EXPECT_EQ(call["transcript"][5].value("transfer_to", ""), "1001");
  {
    pqxx::connection conn(db_url_);
    pqxx::work tx(conn);
    EXPECT_EQ(
        tx.exec_params("SELECT count(*) FROM call_messages WHERE call_uuid = $1::uuid AND domain_uuid = "
                       "$2::uuid",
                       call_uuid, domain_)[0][0]
            .as<int>(),
        6);
  }

  // ---- 4. the secretary's answer as audio ----
  const json speak = {
      {"text", replies[2].value("text", "")}, {"secretary_id", secretary_id}, {"sample_rate", 8000}};
  Reply audio = post_json("/synthesize", speak);
  ASSERT_EQ(audio.status, 200) << audio.body;
  EXPECT_EQ(audio.header("content-type"), "audio/wav");
  EXPECT_EQ(audio.header("x-provider"), "espeak");
  EXPECT_EQ(audio.header("x-cache"), "miss");
  const std::optional<ParsedWav> wav = read_wav(audio.body);
  ASSERT_TRUE(wav.has_value()) << "not a WAV (" << audio.body.size() << " bytes)";
  EXPECT_EQ(wav->format, 1);
  EXPECT_EQ(wav->channels, 1);
  EXPECT_EQ(wav->sample_rate, 8000);
  EXPECT_EQ(wav->bits, 16);
  const double spoken_seconds = static_cast<double>(wav->samples.size()) / 8000.0;
  EXPECT_GT(spoken_seconds, 1.0) << "a whole sentence takes more than a second";
  EXPECT_LT(spoken_seconds, 20.0);
  EXPECT_GT(peak_of(wav->samples), 1'000) << "speech, not silence";
  Reply again = post_json("/synthesize", speak);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.header("x-cache"), "hit");
  EXPECT_EQ(again.body, audio.body);

  // ---- usage, metered per domain: written in groups off the request path, so polled ----
  // The silent upload and the cached phrase cost nothing; the extractive model reports no tokens.
  const std::string synthesized = replies[2].value("text", "");
  const auto code_points = std::count_if(synthesized.begin(), synthesized.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
  std::map<std::string, std::string> metered;  // "kind provider unit" -> total
  ASSERT_TRUE(eventually([&] {
    metered.clear();
    pqxx::connection conn(db_url_);
    pqxx::work tx(conn);
    for (const auto& row : tx.exec_params(
             "SELECT kind || ' ' || provider || ' ' || unit, sum(quantity)::text FROM usage_events "
             "WHERE domain_uuid = $1::uuid GROUP BY 1",
             domain_))
      metered[row[0].c_str()] = row[1].c_str();
    return metered.size() >= 2;
  })) << "no usage recorded";
  EXPECT_EQ(metered.size(), 2u);
  EXPECT_EQ(metered["stt openai seconds"], "1.5");
  EXPECT_EQ(metered["tts espeak characters"], std::to_string(code_points))
      << "characters, not UTF-8 bytes (" << synthesized.size() << ")";

  // ---- 5. hangup after the transfer: the helpdesk hears about it, signed ----
  EXPECT_EQ(get("/webhooks/deliveries").status, 403) << "deliveries are for admins";
  Reply ended =
      post_json("/calls/" + call_uuid + "/end",
                {{"resolution", "transferred"}, {"transferred_to", "1001"}, {"duration_seconds", 42}});
  ASSERT_EQ(ended.status, 200) << ended.body;
  EXPECT_EQ(ended.as_json().value("status", ""), "completed");
  EXPECT_EQ(ended.as_json().value("resolution", ""), "transferred");
  EXPECT_EQ(ended.as_json().value("transferred_to", ""), "1001");

  ASSERT_TRUE(eventually([&] { return !webhook_requests().empty(); })) << "no webhook arrived";
  const RecordedRequest hook = webhook_requests().front();
  expect_signed_call_completed(hook, call_uuid);
  const json payload = json::parse(hook.body, nullptr, false);
  EXPECT_EQ(payload.value("caller_id", ""), "+5511988887777");
  EXPECT_EQ(payload.value("resolution", ""), "transferred");
  EXPECT_EQ(payload.value("transferred_to", ""), "1001");
  EXPECT_EQ(payload.value("turns", 0), 3);
  EXPECT_DOUBLE_EQ(payload.value("duration_seconds", 0.0), 42.0);
  ASSERT_EQ(payload["transcript"].size(), 6u) << hook.body;
  EXPECT_EQ(payload["transcript"][0].value("role", ""), "caller");
  EXPECT_EQ(payload["transcript"][0].value("text", ""), "Bom dia");
  EXPECT_EQ(payload["transcript"][5].value("action", ""), "transfer");
  EXPECT_EQ(payload["transcript"][5].value("transfer_to", ""), "1001");

  const std::string webhook_id = hook.header("x-webhook-id");
  json row;
  ASSERT_TRUE(eventually([&] {
    row = delivery(webhook_id);
    return row.is_object() && row.value("status", "") == "delivered";
  })) << "delivery "
      << webhook_id << " not marked delivered: " << row.dump();
  EXPECT_EQ(row.value("event", ""), "call_completed");
  EXPECT_EQ(row.value("attempts", 0), 1);
  EXPECT_EQ(row.value("last_status_code", 0), 200);
  EXPECT_FALSE(row["delivered_at"].is_null());

  // Ending again (the Lua script retrying) neither changes the call nor sends a second webhook.
  Reply twice = post_json("/calls/" + call_uuid + "/end", {{"resolution", "hangup"}});
  ASSERT_EQ(twice.status, 200) << twice.body;
  EXPECT_EQ(twice.as_json().value("resolution", ""), "transferred");

  // Usage metered just before a shutdown is written by the shutdown, not lost with the process.
  const std::string farewell = "Até logo e obrigado!";
  Reply last = post_json("/synthesize", {{"text", farewell}, {"secretary_id", secretary_id}});
  ASSERT_EQ(last.status, 200) << last.body;
  EXPECT_EQ(stop_daemon(), 0) << "SIGTERM must drain and exit 0";
  EXPECT_EQ(webhook_requests().size(), 1u) << "one event, one delivery";
  {
    pqxx::connection conn(db_url_);
    pqxx::work tx(conn);
    EXPECT_EQ(
        tx.exec_params("SELECT sum(quantity)::bigint FROM usage_events WHERE domain_uuid = $1::uuid AND "
                       "kind = 'tts'",
                       domain_)[0][0]
            .as<long>(),
        code_points + 20)
        << "the last synthesis (20 characters) was not metered";
  }
}

TEST_F(TurnBasedCallTest, WebhookQueuedBeforeARestartIsDeliveredAfterIt) {
  const std::string secretary_id = create_secretary();
  ASSERT_TRUE(is_valid_uuid(secretary_id));

  // The helpdesk is down when the call ends.
  receiver_status_ = 500;
  const std::string call_uuid = random_uuid();
  // No secretary_id: the domain's default secretary (ours) takes the call.
  Reply turn = post_json("/chat", {{"call_uuid", call_uuid}, {"text", "Bom dia"}, {"caller_id", "2001"}});
  ASSERT_EQ(turn.status, 200) << turn.body;
  EXPECT_EQ(turn.as_json().value("action", ""), "continue");
  Reply ended = post_json("/calls/" + call_uuid + "/end", {{"resolution", "resolved"}});
  ASSERT_EQ(ended.status, 200) << ended.body;

  ASSERT_TRUE(eventually([&] { return !webhook_requests().empty(); })) << "no first attempt";
  const std::string webhook_id = webhook_requests().front().header("x-webhook-id");
  json row;
  ASSERT_TRUE(eventually([&] {
    row = delivery(webhook_id);
    return row.is_object() && row.value("status", "") == "pending" && row.value("last_status_code", 0) == 500;
  })) << "the failed attempt is not recorded for a retry: "
      << row.dump();
  EXPECT_GE(row.value("attempts", 0), 1);
  EXPECT_EQ(row.value("last_error", ""), "HTTP 500");

  ASSERT_EQ(stop_daemon(), 0) << "SIGTERM must drain and exit 0";
  const std::size_t attempts_before = webhook_requests().size();
  for (const auto& attempt : webhook_requests()) {
    EXPECT_EQ(attempt.header("x-webhook-id"), webhook_id) << "retries keep the event's id";
  }

  // The helpdesk is back; so is the daemon, a new process that knows about the event only from Postgres.
  receiver_status_ = 200;
  ASSERT_NO_FATAL_FAILURE(start_daemon());
  ASSERT_TRUE(eventually([&] { return webhook_requests().size() > attempts_before; }))
      << "the queued webhook was not sent after the restart";
  ASSERT_TRUE(eventually([&] {
    row = delivery(webhook_id);
    return row.is_object() && row.value("status", "") == "delivered";
  })) << "not marked delivered after the restart: "
      << row.dump();
  // Every attempt the helpdesk saw, less one that SIGTERM may have cut off mid-answer (released, not
  // counted).
  EXPECT_GE(row.value("attempts", 0), 2);
  EXPECT_LE(row.value("attempts", 0), static_cast<int>(webhook_requests().size()));
  EXPECT_EQ(row.value("last_status_code", 0), 200);

  const RecordedRequest delivered = webhook_requests().back();
  EXPECT_EQ(delivered.header("x-webhook-id"), webhook_id);
  expect_signed_call_completed(delivered, call_uuid);
  const json payload = json::parse(delivered.body, nullptr, false);
  EXPECT_EQ(payload.value("resolution", ""), "resolved");
  EXPECT_TRUE(payload["transferred_to"].is_null());
  EXPECT_EQ(payload.value("caller_id", ""), "2001");
  EXPECT_EQ(payload["transcript"].size(), 2u);

  // The call itself survived the restart too.
  Reply stored = get("/calls/" + call_uuid);
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(stored.as_json().value("status", ""), "completed");
  EXPECT_EQ(stored.as_json().value("secretary_id", ""), secretary_id);
  EXPECT_EQ(stored.as_json()["transcript"].size(), 2u);

  EXPECT_EQ(stop_daemon(), 0);
}

}  // namespace
}  // namespace ivr
