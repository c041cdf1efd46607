// WebhookSender: one claim loop per instance on the io thread, plus one coroutine per delivery. Rows are
// claimed in Postgres (FOR UPDATE SKIP LOCKED) with a lease kept in next_attempt_at, so any number of
// instances share the outbox and a dead instance's rows are taken over once their lease runs out.

#include <algorithm>
#include <cassert>
#include <exception>
#include <map>
#include <random>
#include <stdexcept>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "../store/pg_pool.hpp"  // Database::Impl::run: the store's pool is the one way to Postgres
#include "ivr/core/logging.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/core/secret_box.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/store/database.hpp"
#include "ivr/webhooks/outbox.hpp"

namespace ivr::webhooks {
namespace {

namespace asio = boost::asio;

// Claims up to $1 due rows: pending ones whose time has come and delivering ones whose lease ran out (their
// sender died mid-delivery). The attempt is counted here, so a row that crashes its sender every time
// still fails after max_attempts. While delivering, next_attempt_at holds the lease expiry.
constexpr const char* kClaimSql =
    "UPDATE webhook_outbox SET status = 'delivering', attempts = attempts + 1,"
    " next_attempt_at = now() + $2::double precision * interval '1 millisecond'"
    " WHERE id IN (SELECT id FROM webhook_outbox"
    "              WHERE status IN ('pending', 'delivering') AND next_attempt_at <= now()"
    "              ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, domain_uuid::text, event, target_url, secret_sealed, payload::text, attempts";

constexpr const char* kDeliveredSql =
    "UPDATE webhook_outbox SET status = 'delivered', delivered_at = now(), last_status_code = $2,"
    " last_error = NULL WHERE id = $1 AND status = 'delivering'";

// A failed attempt: back to pending after the backoff, or failed for good when the attempts are used up or
// the next try would come after the row's max age.
constexpr const char* kFailedAttemptSql =
    "UPDATE webhook_outbox SET"
    " status = CASE WHEN attempts >= $2"
    "   OR created_at + $3::double precision * interval '1 millisecond'"
    "      <= now() + $4::double precision * interval '1 millisecond'"
    "   THEN 'failed' ELSE 'pending' END,"
    " next_attempt_at = now() + $4::double precision * interval '1 millisecond',"
    " last_status_code = $5, last_error = $6"
    " WHERE id = $1 AND status = 'delivering' RETURNING status";

// Stopping: the attempt did not happen (or its answer was not waited for), so it is not counted.
constexpr const char* kReleaseSql =
    "UPDATE webhook_outbox SET status = 'pending', attempts = greatest(attempts - 1, 0),"
    " next_attempt_at = now() WHERE id = $1 AND status = 'delivering'";

struct ClaimedRow {
  std::int64_t id = 0;
  std::string domain_uuid;  // lower-case text, as the secret's associated data expects
  std::string event;
  std::string target_url;
  std::optional<std::string> secret_sealed;
  std::string payload;
  int attempts = 0;  // including this one
};

struct Attempt {
  bool delivered = false;
  std::optional<int> status_code;
  std::string error;  // when not delivered; never contains the secret or the payload
};

const char* nullable(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

std::string describe(const boost::system::error_code& ec) {
  if (ec == Errc::timeout) return "timeout: no complete answer in time";
  if (ec == Errc::unavailable) return "connection failed (DNS, connect or TLS)";
  if (ec == Errc::payload_too_large) return "response too large";
  return "request failed: " + ec.message();
}

}  // namespace

class WebhookSender::Impl : public std::enable_shared_from_this<WebhookSender::Impl> {
 public:
  Impl(asio::io_context& io, store::Database& db, net::HttpClient& http, WebhookSenderConfig config,
       const SecretBox* secrets, MetricsRegistry* metrics)
      : io_(io),
        db_(db),
        http_(http),
        config_(std::move(config)),
        secrets_(secrets),
        metrics_(metrics),
        log_(module_logger("webhooks")),
        wake_timer_(io),
        rng_(std::random_device{}()) {}

  ~Impl() { assert(!started_ || (!loop_running_ && deliveries_.empty())); }

  bool stopped_or_idle() const { return !started_ || (stopping_ && !loop_running_ && deliveries_.empty()); }

  void start() {
    assert(io_.get_executor().running_in_this_thread() || !started_);
    if (started_) throw std::logic_error("WebhookSender::start called twice");
    started_ = true;
    loop_running_ = true;
    asio::co_spawn(io_, loop(), [self = shared_from_this()](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          self->log_->critical("webhook sender loop ended by an exception: {}", ex.what());
        }
      }
      self->loop_running_ = false;
      self->notify_stop_waiters();
    });
  }

  void notify() {
    if (io_.get_executor().running_in_this_thread()) {
      wake();
      return;
    }
    asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->wake();
    });
  }

  asio::awaitable<Result<std::optional<std::int64_t>>> enqueue(OutboxEntry entry) {
    Result<std::optional<std::int64_t>> id = co_await webhooks::enqueue(db_, std::move(entry));
    if (id && id->has_value()) wake();
    co_return id;
  }

  asio::awaitable<Result<std::vector<DeliveryRecord>>> list(std::string domain_uuid, std::size_t limit) {
    co_return co_await recent_deliveries(db_, std::move(domain_uuid), limit);
  }

  asio::awaitable<void> stop() {
    auto self = shared_from_this();  // the waits below must not outlive us
    stopping_ = true;
    wake_timer_.cancel();
    for (auto& [id, signal] : deliveries_) signal->emit(asio::cancellation_type::terminal);
    if (!started_) co_return;
    // One timer per caller: stop() may be awaited by more than one coroutine.
    asio::steady_timer waiter(io_, asio::steady_timer::time_point::max());
    stop_waiters_.push_back(&waiter);
    while (loop_running_ || !deliveries_.empty()) {
      waiter.expires_at(asio::steady_timer::time_point::max());
      co_await waiter.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    std::erase(stop_waiters_, &waiter);
  }

  std::size_t in_flight() const { return deliveries_.size(); }

 private:
  void wake() {
    if (stopping_) return;
    wake_requested_ = true;
    wake_timer_.cancel();
  }

  void notify_stop_waiters() {
    for (asio::steady_timer* waiter : stop_waiters_) waiter->cancel();
  }

  asio::awaitable<void> loop() {
    while (!stopping_) {
      wake_requested_ = false;
      const std::size_t room = config_.max_in_flight - std::min(config_.max_in_flight, deliveries_.size());
      if (room == 0) {
        starved_ = true;  // a finishing delivery wakes us
      } else {
        Result<std::vector<ClaimedRow>> claimed = co_await claim(room);
        if (claimed) {
          if (claim_failures_ > 0) {
            log_->info("webhook outbox reachable again after {} failed claims", claim_failures_);
          }
          claim_failures_ = 0;
          // A full batch means more rows may be due: claim again as soon as a slot frees up.
          starved_ = claimed->size() == room;
          // Spawned even when stopping: deliver() then hands the rows straight back.
          for (ClaimedRow& row : *claimed) spawn_delivery(std::move(row));
        } else {
          // Once per outage at warn level: the database being down is logged by the pool already.
          if (claim_failures_++ == 0) {
            log_->warn("cannot claim webhook outbox rows: {}; retrying every {} ms",
                       claimed.error().message(), config_.poll_interval.count());
          }
        }
      }
      if (stopping_ || wake_requested_) continue;
      wake_timer_.expires_after(config_.poll_interval);
      co_await wake_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<Result<std::vector<ClaimedRow>>> claim(std::size_t limit) {
    const auto n = static_cast<long>(limit);
    const auto lease_ms = static_cast<double>(config_.lease.count());
    auto query = [n, lease_ms](pqxx::connection& conn) {
      pqxx::work tx(conn);
      const pqxx::result rows = tx.exec_params(kClaimSql, n, lease_ms);
      tx.commit();
      std::vector<ClaimedRow> out;
      out.reserve(rows.size());
      for (const pqxx::row& row : rows) {
        ClaimedRow r;
        r.id = row[0].as<std::int64_t>();
        r.domain_uuid = row[1].as<std::string>();
        r.event = row[2].as<std::string>();
        r.target_url = row[3].as<std::string>();
        if (!row[4].is_null()) r.secret_sealed = row[4].as<std::string>();
        r.payload = row[5].as<std::string>();
        r.attempts = row[6].as<int>();
        out.push_back(std::move(r));
      }
      return out;
    };
    co_return co_await db_.impl().run(std::move(query));
  }

  void spawn_delivery(ClaimedRow row) {
    const std::int64_t id = row.id;
    auto [it, inserted] = deliveries_.try_emplace(id, std::make_unique<asio::cancellation_signal>());
    if (!inserted) {
      // Only if our own claim's lease ran out while we still deliver it (a lease shorter than a request).
      // Sending it twice at once helps nobody: leave it to the lease.
      log_->error("webhook {} claimed again while still in flight here; check webhooks.lease", id);
      return;
    }
    asio::cancellation_signal& signal = *it->second;
    asio::co_spawn(io_, deliver(std::move(row), signal),
                   [self = shared_from_this(), id](std::exception_ptr e) { self->delivery_ended(id, e); });
  }

  void delivery_ended(std::int64_t id, std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log_->error("webhook {} delivery ended by an exception: {}; the lease hands it over", id, ex.what());
      }
    }
    deliveries_.erase(id);
    if (starved_) {
      starved_ = false;
      wake();
    }
    if (stopping_) notify_stop_waiters();
  }

  // `signal` lives in deliveries_ until delivery_ended() for this row.
  asio::awaitable<void> deliver(ClaimedRow row, asio::cancellation_signal& signal) {
    const LogContext ctx{{}, row.domain_uuid, {}};
    if (stopping_) {
      co_await release(row, ctx);
      co_return;
    }
    Attempt attempt;
    std::optional<std::string> secret;
    bool can_send = true;
    if (row.secret_sealed) {
      Result<std::string> opened = secrets_ != nullptr ? secrets_->open(*row.secret_sealed, row.domain_uuid)
                                                       : Result<std::string>(Errc::config_invalid);
      if (opened) {
        secret = std::move(*opened);
      } else {
        // Never send unsigned what the tenant wants signed; retried in case the master key gets fixed.
        can_send = false;
        attempt.error = "signing secret cannot be opened (no master key, wrong master key or wrong owner)";
      }
    }
    if (can_send) {
      net::ClientRequest request = build_request(row, secret);
      std::optional<Result<net::ClientResponse>> response;
      try {
        auto send = http_.send(std::move(request));
        // Its own coroutine with our slot, so stop() can cancel the request and nothing else.
        response = co_await asio::co_spawn(io_, std::move(send),
                                           asio::bind_cancellation_slot(signal.slot(), asio::use_awaitable));
      } catch (const boost::system::system_error& e) {
        response = Result<net::ClientResponse>(stopping_ ? make_error_code(Errc::cancelled) : e.code());
      }
      if (!*response && (*response).error() == Errc::cancelled && stopping_) {
        co_await release(row, ctx);
        co_return;
      }
      if (*response) {
        const int status = (*response)->status;
        attempt.status_code = status;
        attempt.delivered = status >= 200 && status < 300;
        if (!attempt.delivered) attempt.error = "HTTP " + std::to_string(status);
      } else {
        attempt.error = describe((*response).error());
      }
    }
    co_await record(row, attempt, ctx);
  }

  net::ClientRequest build_request(const ClaimedRow& row, const std::optional<std::string>& secret) const {
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    net::ClientRequest request;
    request.method = "POST";
    request.url = row.target_url;
    request.headers.set("Content-Type", "application/json");
    request.headers.set("User-Agent", "voice-ai-ivr/" + config_.version);
    request.headers.set("X-Webhook-Event", row.event);
    request.headers.set("X-Webhook-Id", std::to_string(row.id));
    request.headers.set("X-Webhook-Timestamp", std::to_string(now));
    if (secret) request.headers.set("X-Webhook-Signature", webhook_signature(*secret, now, row.payload));
    request.body = row.payload;
    request.connect_timeout = config_.connect_timeout;
    request.total_timeout = config_.request_timeout;
    request.verify_tls = config_.verify_tls;
    request.max_response_bytes = 64 * 1024;  // the answer is ignored; a huge one is a misbehaving receiver
    return request;
  }

  asio::awaitable<void> record(const ClaimedRow& row, const Attempt& attempt, const LogContext& ctx) {
    if (attempt.delivered) {
      auto update = [id = row.id, code = *attempt.status_code](pqxx::connection& conn) {
        pqxx::work tx(conn);
        tx.exec_params(kDeliveredSql, id, code);
        tx.commit();
      };
      Result<void> done = co_await db_.impl().run(std::move(update));
      count(row.event, "delivered");
      if (done) {
        log_->debug("{} webhook {} ({}) delivered on attempt {}", ctx, row.id, row.event, row.attempts);
      } else {
        log_->warn(
            "{} webhook {} ({}) delivered but not marked so ({}); it will be sent again after the lease", ctx,
            row.id, row.event, done.error().message());
      }
      co_return;
    }
    const std::chrono::milliseconds delay =
        backoff_delay(row.attempts, config_.initial_backoff, config_.max_backoff, config_.jitter, random01());
    const std::optional<std::string> code =
        attempt.status_code ? std::optional<std::string>(std::to_string(*attempt.status_code)) : std::nullopt;
    auto update = [id = row.id, max_attempts = config_.max_attempts,
                   max_age_ms = static_cast<double>(config_.max_age.count()),
                   delay_ms = static_cast<double>(delay.count()), code,
                   error = attempt.error](pqxx::connection& conn) {
      pqxx::work tx(conn);
      const pqxx::result rows =
          tx.exec_params(kFailedAttemptSql, id, max_attempts, max_age_ms, delay_ms, nullable(code), error);
      tx.commit();
      return rows.empty() ? std::string() : rows[0][0].as<std::string>();
    };
    Result<std::string> status = co_await db_.impl().run(std::move(update));
    if (!status) {
      count(row.event, "retry");
      log_->warn(
          "{} webhook {} ({}) attempt {} failed ({}) and cannot be recorded ({}); the lease hands it over",
          ctx, row.id, row.event, row.attempts, attempt.error, status.error().message());
    } else if (*status == "failed") {
      count(row.event, "failed");
      log_->warn("{} webhook {} ({}) failed for good after {} attempts: {}", ctx, row.id, row.event,
                 row.attempts, attempt.error);
    } else {
      count(row.event, "retry");
      log_->info("{} webhook {} ({}) attempt {} failed: {}; next in {} ms", ctx, row.id, row.event,
                 row.attempts, attempt.error, delay.count());
    }
  }

  asio::awaitable<void> release(const ClaimedRow& row, const LogContext& ctx) {
    auto update = [id = row.id](pqxx::connection& conn) {
      pqxx::work tx(conn);
      tx.exec_params(kReleaseSql, id);
      tx.commit();
    };
    Result<void> done = co_await db_.impl().run(std::move(update));
    if (!done) {
      log_->warn("{} webhook {} not released on stop ({}); another sender takes it after the lease", ctx,
                 row.id, done.error().message());
    }
  }

  void count(const std::string& event, const char* outcome) {
    if (metrics_ == nullptr) return;
    metrics_
        ->counter("ivr_webhook_deliveries_total", "Webhook delivery attempts by event and outcome",
                  {{"event", event}, {"outcome", outcome}})
        .inc();
  }

  double random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  asio::io_context& io_;
  store::Database& db_;
  net::HttpClient& http_;
  const WebhookSenderConfig config_;
  const SecretBox* const secrets_;
  MetricsRegistry* const metrics_;
  std::shared_ptr<spdlog::logger> log_;

  // Everything below is touched on the io thread only.
  asio::steady_timer wake_timer_;  // the loop's sleep; cancelled by wake()
  bool started_ = false;
  bool stopping_ = false;
  bool loop_running_ = false;
  bool wake_requested_ = false;  // a wake() that came while the loop was not sleeping
  bool starved_ = false;         // the last claim filled every slot: claim again when one frees up
  std::size_t claim_failures_ = 0;
  std::map<std::int64_t, std::unique_ptr<asio::cancellation_signal>> deliveries_;  // in flight, by row id
  std::vector<asio::steady_timer*> stop_waiters_;
  std::mt19937_64 rng_;
};

WebhookSender::WebhookSender(asio::io_context& io, store::Database& db, net::HttpClient& http,
                             WebhookSenderConfig config, const SecretBox* secrets, MetricsRegistry* metrics) {
  if (std::string error = validation_error(config); !error.empty()) {
    throw std::invalid_argument("webhooks: " + error);
  }
  impl_ = std::make_shared<Impl>(io, db, http, std::move(config), secrets, metrics);
}

WebhookSender::~WebhookSender() {
  assert(impl_->stopped_or_idle() && "co_await WebhookSender::stop() first");
}

void WebhookSender::start() {
  impl_->start();
}
void WebhookSender::notify() {
  impl_->notify();
}

asio::awaitable<Result<std::optional<std::int64_t>>> WebhookSender::enqueue(OutboxEntry entry) {
  return impl_->enqueue(std::move(entry));
}

asio::awaitable<Result<std::vector<DeliveryRecord>>> WebhookSender::list(std::string domain_uuid,
                                                                         std::size_t limit) {
  return impl_->list(std::move(domain_uuid), limit);
}

asio::awaitable<void> WebhookSender::stop() {
  return impl_->stop();
}

std::size_t WebhookSender::in_flight() const {
  return impl_->in_flight();
}

}  // namespace ivr::webhooks
