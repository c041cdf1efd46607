#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "ivr/store/redis.hpp"

namespace ivr::store {

namespace {

// Token bucket in one hash {tokens, ts}, updated atomically by one script. Time comes from the Redis server
// (TIME), so every daemon sharing the bucket agrees on it whatever their clocks say.
// KEYS[1] bucket; ARGV per_second, burst, cost. Returns {allowed 0|1, retry_after_seconds, remaining} with
// the numbers as strings (Lua numbers would be truncated to integers in the reply). Errors can only come from
// the reads and arithmetic before the first write, so retrying the script after an error never takes tokens
// twice.
constexpr std::string_view kScript = R"lua(
if redis.replicate_commands then pcall(redis.replicate_commands) end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = tokens + (now - ts) * rate
  ts = now
end
if tokens > burst then tokens = burst end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', ts))
-- An idle bucket is full again after burst/rate seconds, when it is the same as no key at all (capped at
-- 30 days for absurd settings).
redis.call('PEXPIRE', KEYS[1], math.min(2592000000, math.max(1000, math.ceil(2000 * burst / rate))))
return {allowed, string.format('%.17g', retry), string.format('%.17g', tokens)}
)lua";

std::string sha1_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const int ok = EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr);
  if (ok != 1) return {};  // EVALSHA with an empty digest fails, and the EVAL fallback still works
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

bool parse_number(const RedisReply& reply, double& out) {
  if (reply.type == RedisReply::Type::integer) {
    out = static_cast<double>(reply.integer);
    return true;
  }
  if (reply.type != RedisReply::Type::string) return false;
  const char* end = reply.str.data() + reply.str.size();
  const auto [ptr, ec] = std::from_chars(reply.str.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

Result<RateDecision> to_decision(const RedisReply& reply) {
  double allowed = 0;
  RateDecision decision;
  if (reply.type != RedisReply::Type::array || reply.elements.size() != 3 ||
      !parse_number(reply.elements[0], allowed) ||
      !parse_number(reply.elements[1], decision.retry_after_seconds) ||
      !parse_number(reply.elements[2], decision.remaining)) {
    return make_error_code(Errc::upstream_error);
  }
  decision.allowed = allowed != 0;
  return decision;
}

class RedisRateLimiter final : public RateLimiter {
 public:
  explicit RedisRateLimiter(RedisClient& redis) : redis_(redis), sha_(sha1_hex(kScript)) {}

  // Errors: Errc::bad_request (per_second or burst not positive, cost negative, or not finite), and those of
  // RedisClient::command.
  boost::asio::awaitable<Result<RateDecision>> acquire(std::string key, double per_second, double burst,
                                                       double cost) override {
    if (!std::isfinite(per_second) || !std::isfinite(burst) || !std::isfinite(cost) || per_second <= 0 ||
        burst <= 0 || cost < 0) {
      co_return make_error_code(Errc::bad_request);
    }
    std::vector<std::string> args{"EVALSHA",
                                  sha_,
                                  "1",
                                  std::move(key),
                                  fmt::format("{}", per_second),
                                  fmt::format("{}", burst),
                                  fmt::format("{}", cost)};
    Result<RedisReply> reply = co_await redis_.command(args);
    // An error reply here is NOSCRIPT (script cache empty after a restart, a failover or SCRIPT FLUSH) or a
    // script error before any write; EVAL loads the script again (or fails the same way). Timeouts are not
    // retried: the first call may have taken a token.
    if (!reply && reply.error() == Errc::upstream_error) {
      args[0] = "EVAL";
      args[1] = std::string(kScript);
      reply = co_await redis_.command(std::move(args));
    }
    if (!reply) co_return reply.error();
    co_return to_decision(*reply);
  }

 private:
  RedisClient& redis_;
  const std::string sha_;
};

}  // namespace

std::unique_ptr<RateLimiter> make_redis_rate_limiter(RedisClient& redis) {
  return std::make_unique<RedisRateLimiter>(redis);
}

}  // namespace ivr::store
