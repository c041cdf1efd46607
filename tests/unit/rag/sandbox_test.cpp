#include "ivr/rag/sandbox.hpp"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace ivr::rag {
namespace {

using namespace std::chrono_literals;

SandboxOutcome sh(const std::string& script, std::string_view input = {}, SandboxLimits limits = {}) {
  return run_sandboxed({"/bin/sh", "-c", script}, input, limits);
}

// A stand-in for `voice-ai-ivr extract-document`: a script that ignores its arguments and does `body`.
class FakeExtractor : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("ivr-fake-extractor-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove(path_); }
  knowledge::ExtractResult<PreparedDocument> run(const std::string& body, SandboxLimits limits = {}) {
    {
      std::ofstream script(path_);
      script << "#!/bin/sh\ncat >/dev/null\n" << body << "\n";
    }
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all);
    return prepare_document_sandboxed(path_.string(), "document bytes", {}, {}, limits);
  }
  std::filesystem::path path_;
};

TEST(SandboxTest, FeedsStdinAndCollectsStdout) {
  const std::string input(3 << 20, 'x');  // larger than any socket buffer: writing and reading interleave
  const auto out = sh("cat", input);
  EXPECT_TRUE(out.started);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.signal, 0);
  EXPECT_EQ(out.output.size(), input.size());
  EXPECT_EQ(out.output, input);
}

TEST(SandboxTest, ReportsExitCodesAndSignals) {
  EXPECT_EQ(sh("exit 3").exit_code, 3);
  const auto crashed = sh("kill -SEGV $$");
  EXPECT_EQ(crashed.signal, SIGSEGV);
}

TEST(SandboxTest, KillsAChildPastItsDeadline) {
  SandboxLimits limits;
  limits.wall = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const auto out = sh("sleep 10", {}, limits);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(out.timed_out);
  EXPECT_EQ(out.signal, SIGKILL);
}

TEST(SandboxTest, AChildThatStopsReadingDoesNotHurtTheParent) {
  // The child exits without reading 8 MB of input: the parent's writes fail quietly (no SIGPIPE).
  const auto out = sh("exit 0", std::string(8 << 20, 'y'));
  EXPECT_EQ(out.exit_code, 0);
}

TEST(SandboxTest, StopsAChildThatWritesTooMuch) {
  SandboxLimits limits;
  limits.max_output_bytes = 1 << 20;
  const auto out = sh("yes", {}, limits);
  EXPECT_TRUE(out.output_overflow);
  EXPECT_EQ(out.signal, SIGKILL);
}

#if !defined(__SANITIZE_ADDRESS__)
TEST(SandboxTest, LimitsTheChildsMemory) {
  // 400 MB: fine without a limit, refused under a 256 MB address-space limit (python3 is what the test
  // suite already needs; its MemoryError is the allocation failing, not the interpreter).
  const std::string allocate = "python3 -c 'b = bytearray(400_000_000); print(len(b))'";
  SandboxLimits unlimited;
  unlimited.memory_bytes = 0;
  const auto free_run = sh(allocate, {}, unlimited);
  ASSERT_EQ(free_run.exit_code, 0);
  EXPECT_EQ(free_run.output, "400000000\n");
  SandboxLimits limits;
  limits.memory_bytes = 256u << 20;
  const auto limited = sh(allocate, {}, limits);
  EXPECT_NE(limited.exit_code, 0);
  EXPECT_EQ(limited.output.find("400000000"), std::string::npos);
}
#endif

TEST(SandboxTest, ReportsAProgramThatCannotStart) {
  const auto out = run_sandboxed({"/nonexistent/extractor"}, "", {});
  EXPECT_TRUE(out.started);  // forked; exec failed in the child
  EXPECT_EQ(out.exit_code, 127);
}

TEST_F(FakeExtractor, ParsesTheChildsChunks) {
  auto out =
      run(R"(printf '{"ok":true,"pages":3,"chunks":[{"text":"Olá","page":2,"heading":"","tokens":1}]}')");
  ASSERT_TRUE(out) << out.error().reason;
  EXPECT_EQ(out->pages, 3);
  ASSERT_EQ(out->chunks.size(), 1u);
  EXPECT_EQ(out->chunks[0].text, "Olá");
  EXPECT_EQ(out->chunks[0].page, 2);
  EXPECT_EQ(out->chunks[0].tokens, 1u);
}

TEST_F(FakeExtractor, PassesTheExtractorsReasonThrough) {
  auto out = run(R"(printf '{"ok":false,"code":"unprocessable","reason":"the PDF is encrypted"}')");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Errc::unprocessable);
  EXPECT_EQ(out.error().reason, "the PDF is encrypted");
}

TEST_F(FakeExtractor, ACrashIsAFailedDocumentNotADeadDaemon) {
  auto out = run("kill -SEGV $$");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Errc::unprocessable);
  EXPECT_NE(out.error().reason.find("crashed"), std::string::npos) << out.error().reason;
}

TEST_F(FakeExtractor, ATimeoutSaysHowLong) {
  SandboxLimits limits;
  limits.wall = 1200ms;
  auto out = run("sleep 10", limits);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().reason, "extracting the document took longer than 1200 ms");
}

TEST_F(FakeExtractor, RunningOutOfMemoryIsNamed) {
  SandboxLimits limits;
  limits.memory_bytes = 256u << 20;
  auto out = run(R"(printf '{"ok":false,"out_of_memory":true}')", limits);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().reason, "the document needs more than 256 MB of memory to extract");
}

TEST_F(FakeExtractor, GarbageOutputIsACrash) {
  auto out = run("echo not json");
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().reason.find("crashed"), std::string::npos);
}

}  // namespace
}  // namespace ivr::rag
