#include "ivr/conversation/call_admission.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ivr::conversation {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const std::string kA = "aaaaaaaa-0000-4000-8000-000000000001";
const std::string kB = "bbbbbbbb-0000-4000-8000-000000000002";

CallAdmission::Place take(CallAdmission& admission, const std::string& domain,
                          std::optional<std::size_t> cap = std::nullopt) {
  AdmissionRefusal why = AdmissionRefusal::overloaded;
  CallAdmission::Place place = admission.admit(domain, cap, why);
  EXPECT_EQ(why, AdmissionRefusal::none);
  EXPECT_TRUE(place);
  return place;
}

AdmissionRefusal refused(CallAdmission& admission, const std::string& domain,
                         std::optional<std::size_t> cap = std::nullopt) {
  AdmissionRefusal why = AdmissionRefusal::none;
  CallAdmission::Place place = admission.admit(domain, cap, why);
  EXPECT_FALSE(place);
  return why;
}

TEST(CallAdmission, WithoutLimitsEveryCallIsAdmittedAndCounted) {
  CallAdmission admission({});
  std::vector<CallAdmission::Place> places;
  for (int i = 0; i < 1000; ++i) places.push_back(take(admission, i % 2 ? kA : kB));
  EXPECT_EQ(admission.active(), 1000u);
  EXPECT_EQ(admission.active(kA), 500u);
  places.clear();
  EXPECT_EQ(admission.active(), 0u);
  EXPECT_EQ(admission.active(kA), 0u);
}

TEST(CallAdmission, TheProcessCapRefusesTheNextCallUntilOneEnds) {
  CallAdmission admission({.max_calls = 2});
  auto first = take(admission, kA);
  auto second = take(admission, kB);
  EXPECT_EQ(admission.check(kA, std::nullopt), AdmissionRefusal::process_full);
  EXPECT_EQ(refused(admission, kB), AdmissionRefusal::process_full);
  EXPECT_EQ(admission.active(), 2u);  // a refusal takes nothing
  { auto ended = std::move(first); }  // the first call ends
  EXPECT_EQ(admission.active(), 1u);
  auto third = take(admission, kB);
  EXPECT_EQ(admission.active(kB), 2u);
  EXPECT_NE(admission.explain(AdmissionRefusal::process_full, std::nullopt).find("maximum of 2"),
            std::string::npos);
}

TEST(CallAdmission, ADomainAtItsCapDoesNotStopTheOthers) {
  CallAdmission admission({.max_calls_per_domain = 1});
  auto a = take(admission, kA);
  EXPECT_EQ(refused(admission, kA), AdmissionRefusal::domain_full);
  auto b = take(admission, kB);
  // The domain's own cap overrides the default: 3 for A, 0 (none) for B.
  auto a2 = take(admission, kA, 3);
  auto a3 = take(admission, kA, 3);
  EXPECT_EQ(refused(admission, kA, 3), AdmissionRefusal::domain_full);
  std::vector<CallAdmission::Place> many;
  for (int i = 0; i < 20; ++i) many.push_back(take(admission, kB, 0));
  EXPECT_EQ(admission.active(kB), 21u);
  EXPECT_NE(admission.explain(AdmissionRefusal::domain_full, 3).find("maximum of 3"), std::string::npos);
}

TEST(CallAdmission, ABusyOrLaggingLoopRefusesNewCallsAndRecovers) {
  LoopLoadSample load;
  CallAdmission admission({.max_loop_lag = milliseconds(50), .max_loop_busy = 0.85},
                          [&load] { return load; });
  auto running = take(admission, kA);
  load.busy = 0.9;
  EXPECT_EQ(refused(admission, kB), AdmissionRefusal::overloaded);
  EXPECT_EQ(admission.active(), 1u);  // the running call keeps its place
  EXPECT_NE(admission.explain(AdmissionRefusal::overloaded, std::nullopt).find("90% busy"),
            std::string::npos);
  load.busy = 0.85;  // at the limit is not over it
  auto second = take(admission, kB);
  load.lag = microseconds(80'000);  // starved of CPU: late although not busy itself
  EXPECT_EQ(refused(admission, kB), AdmissionRefusal::overloaded);
  EXPECT_NE(admission.explain(AdmissionRefusal::overloaded, std::nullopt).find("80ms behind"),
            std::string::npos);
  load.lag = microseconds(50'000);
  auto next = take(admission, kB);
  // Limits of 0 do not watch the loop at all.
  CallAdmission unwatched({}, [] { return LoopLoadSample{microseconds(10'000'000), 1.0}; });
  auto any = take(unwatched, kA);
}

TEST(CallAdmission, AMovedPlaceIsGivenBackOnce) {
  CallAdmission admission({.max_calls = 1});
  auto place = take(admission, kA);
  CallAdmission::Place moved = std::move(place);
  EXPECT_FALSE(place);  // NOLINT(bugprone-use-after-move): the moved-from place is empty by contract
  CallAdmission::Place assigned;
  assigned = std::move(moved);
  EXPECT_EQ(admission.active(), 1u);
  assigned = CallAdmission::Place();  // releases
  EXPECT_EQ(admission.active(), 0u);
  EXPECT_EQ(admission.active(kA), 0u);
  auto again = take(admission, kA);
}

}  // namespace
}  // namespace ivr::conversation
