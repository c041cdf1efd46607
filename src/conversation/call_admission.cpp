#include "ivr/conversation/call_admission.hpp"

#include <cassert>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace ivr::conversation {

std::string_view to_string(AdmissionRefusal refusal) {
  switch (refusal) {
    case AdmissionRefusal::none:
      return "none";
    case AdmissionRefusal::process_full:
      return "process_full";
    case AdmissionRefusal::domain_full:
      return "domain_full";
    case AdmissionRefusal::overloaded:
      return "overloaded";
  }
  return "none";
}

CallAdmission::Place::Place(Place&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), domain_(std::move(other.domain_)) {}

CallAdmission::Place& CallAdmission::Place::operator=(Place&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    domain_ = std::move(other.domain_);
  }
  return *this;
}

CallAdmission::Place::~Place() {
  release();
}

void CallAdmission::Place::release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(domain_);
}

CallAdmission::CallAdmission(CallAdmissionLimits limits, std::function<LoopLoadSample()> loop_load)
    : limits_(limits), loop_load_(std::move(loop_load)) {}

bool CallAdmission::overloaded(const LoopLoadSample& load) const {
  return (limits_.max_loop_lag.count() > 0 && load.lag > limits_.max_loop_lag) ||
         (limits_.max_loop_busy > 0 && load.busy > limits_.max_loop_busy);
}

AdmissionRefusal CallAdmission::check(const std::string& domain,
                                      std::optional<std::size_t> domain_cap) const {
  if (limits_.max_calls > 0 && active_ >= limits_.max_calls) return AdmissionRefusal::process_full;
  const std::size_t cap = cap_for(domain_cap);
  if (cap > 0 && active(domain) >= cap) return AdmissionRefusal::domain_full;
  if (loop_load_ && overloaded(loop_load_())) return AdmissionRefusal::overloaded;
  return AdmissionRefusal::none;
}

CallAdmission::Place CallAdmission::admit(const std::string& domain, std::optional<std::size_t> domain_cap,
                                          AdmissionRefusal& refusal) {
  refusal = check(domain, domain_cap);
  if (refusal != AdmissionRefusal::none) return {};
  ++active_;
  ++per_domain_[domain];
  return Place(this, domain);
}

std::string CallAdmission::explain(AdmissionRefusal refusal, std::optional<std::size_t> domain_cap) const {
  switch (refusal) {
    case AdmissionRefusal::none:
      return "admitted";
    case AdmissionRefusal::process_full:
      return fmt::format("this server runs its maximum of {} realtime calls (realtime.max_calls)",
                         limits_.max_calls);
    case AdmissionRefusal::domain_full:
      return fmt::format("this domain runs its maximum of {} realtime calls", cap_for(domain_cap));
    case AdmissionRefusal::overloaded: {
      const LoopLoadSample load = loop_load_ ? loop_load_() : LoopLoadSample{};
      return fmt::format("this server is overloaded (io thread {:.0f}% busy, {} behind; limits {:.0f}%, {})",
                         100 * load.busy, std::chrono::duration_cast<std::chrono::milliseconds>(load.lag),
                         100 * limits_.max_loop_busy, limits_.max_loop_lag);
    }
  }
  return "refused";
}

std::string CallAdmission::client_message(AdmissionRefusal refusal,
                                          std::optional<std::size_t> domain_cap) const {
  if (refusal == AdmissionRefusal::domain_full) {
    return fmt::format("this domain runs its maximum of {} realtime calls", cap_for(domain_cap));
  }
  return "this server takes no more realtime calls now; try again later";
}

std::size_t CallAdmission::active(const std::string& domain) const {
  auto it = per_domain_.find(domain);
  return it == per_domain_.end() ? 0 : it->second;
}

void CallAdmission::release(const std::string& domain) {
  // A place is given back once (Place is move-only and empties itself): both counts hold it.
  auto it = per_domain_.find(domain);
  assert(active_ > 0 && it != per_domain_.end() && it->second > 0);
  if (active_ > 0) --active_;
  if (it != per_domain_.end() && --it->second == 0) per_domain_.erase(it);
}

}  // namespace ivr::conversation
