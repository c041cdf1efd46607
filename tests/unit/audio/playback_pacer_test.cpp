#include "ivr/audio/playback_pacer.hpp"

#include <gtest/gtest.h>

namespace ivr::audio {
namespace {

using namespace std::chrono_literals;
using TimePoint = PlaybackPacer::TimePoint;

const TimePoint t0 = TimePoint{} + 1000s;

std::vector<std::int16_t> audio_ms(int rate, int ms, std::int16_t value = 100) {
  return std::vector<std::int16_t>(static_cast<std::size_t>(rate / 1000 * ms), value);
}

// Drains everything due at `now`; returns the chunks' lengths in ms.
std::vector<std::int64_t> drain(PlaybackPacer& p, TimePoint now, std::vector<std::string>* items = nullptr) {
  std::vector<std::int64_t> out;
  PlaybackPacer::Chunk c;
  while (p.next(now, c)) {
    out.push_back(static_cast<std::int64_t>(c.samples.size()) * 1000 / p.config().sample_rate);
    if (items != nullptr) items->emplace_back(c.item_id);
  }
  return out;
}

TEST(PlaybackPacer, StreamModeKeepsAtMostTheLeadAhead) {
  PlaybackPacer p({.mode = PlaybackMode::stream, .sample_rate = 16000});
  p.push("item1", audio_ms(16000, 1000));  // the provider sends a whole second at once
  EXPECT_EQ(p.queued_ms(), 1000);
  // At once: 100 ms of lead in 20 ms chunks, no more.
  EXPECT_EQ(drain(p, t0), (std::vector<std::int64_t>{20, 20, 20, 20, 20}));
  EXPECT_EQ(p.ahead(t0), 100ms);
  EXPECT_EQ(p.next_due(t0), t0 + 20ms);
  EXPECT_TRUE(drain(p, t0 + 19ms).empty());
  EXPECT_EQ(drain(p, t0 + 20ms).size(), 1u);
  // A late timer (60 ms instead of 20) catches up in one go, still capped at the lead.
  EXPECT_EQ(drain(p, t0 + 80ms).size(), 3u);
  EXPECT_LE(p.ahead(t0 + 80ms), 100ms);
  // Simulate a 20 ms timer for the rest of the second: every chunk goes, the lead never exceeds 100 ms.
  TimePoint now = t0 + 80ms;
  std::size_t sent = 9;
  while (auto due = p.next_due(now)) {
    now = *due;
    sent += drain(p, now).size();
    ASSERT_LE(p.ahead(now), 100ms);
  }
  EXPECT_EQ(sent, 50u);
  EXPECT_EQ(now, t0 + 900ms);  // the last chunk leaves 100 ms before the audio ends
  EXPECT_FALSE(p.idle(now));
  EXPECT_TRUE(p.idle(t0 + 1000ms));
  EXPECT_EQ(p.played_ms("item1", t0 + 1000ms), 1000);
  EXPECT_EQ(p.played_ms("item1", t0 + 250ms), 250);
}

TEST(PlaybackPacer, StreamModeWaitsForAWholeChunkUntilTheItemEnds) {
  PlaybackPacer p({.mode = PlaybackMode::stream, .sample_rate = 8000});
  p.push("a", audio_ms(8000, 30));
  EXPECT_EQ(drain(p, t0), (std::vector<std::int64_t>{20}));
  EXPECT_FALSE(p.next_due(t0));  // 10 ms left: waits for more input
  p.push("a", audio_ms(8000, 5));
  EXPECT_TRUE(drain(p, t0).empty());
  p.end_item("a");
  EXPECT_EQ(drain(p, t0), (std::vector<std::int64_t>{15}));
  EXPECT_EQ(p.sent_samples(), 8000u * 35 / 1000);
}

TEST(PlaybackPacer, ItemsNeverShareAChunkAndPlayInOrder) {
  PlaybackPacer p({.mode = PlaybackMode::stream, .sample_rate = 16000});
  p.push("a", audio_ms(16000, 30));
  p.push("b", audio_ms(16000, 40));  // a new item: a's 10 ms remainder goes on its own
  std::vector<std::string> items;
  EXPECT_EQ(drain(p, t0, &items), (std::vector<std::int64_t>{20, 10, 20, 20}));
  EXPECT_EQ(items, (std::vector<std::string>{"a", "a", "b", "b"}));
  EXPECT_EQ(p.played_ms("a", t0 + 25ms), 25);
  EXPECT_EQ(p.played_ms("b", t0 + 25ms), 0);
  EXPECT_EQ(p.played_ms("b", t0 + 50ms), 20);
  EXPECT_EQ(p.played_ms("unknown", t0 + 50ms), 0);
}

TEST(PlaybackPacer, UnderrunRestartsThePlayoutClock) {
  PlaybackPacer p({.mode = PlaybackMode::stream, .sample_rate = 16000});
  p.push("a", audio_ms(16000, 40));
  drain(p, t0);
  // The provider is slow: the next audio comes 500 ms later and starts playing then, not at t0+40ms.
  p.push("a", audio_ms(16000, 40));
  PlaybackPacer::Chunk c;
  ASSERT_TRUE(p.next(t0 + 500ms, c));
  EXPECT_EQ(c.starts_playing, t0 + 500ms);
  EXPECT_EQ(c.item_offset_ms, 40);
  EXPECT_EQ(p.played_ms("a", t0 + 300ms), 40);
  EXPECT_EQ(p.played_ms("a", t0 + 510ms), 50);
}

TEST(PlaybackPacer, BargeInInStreamModeCutsWithinTheLead) {
  PlaybackPacer p({.mode = PlaybackMode::stream, .sample_rate = 16000});
  p.push("a", audio_ms(16000, 3000));
  TimePoint now = t0;
  while (now < t0 + 1000ms) {  // a 20 ms timer for one second
    drain(p, now);
    now += 20ms;
  }
  drain(p, now);
  const TimePoint barge = t0 + 1010ms;
  const auto cut = p.clear(barge);
  // What was sent will still play (the module cannot clear its buffer): the truncate point is the end
  // of the sent audio, reached within the lead.
  ASSERT_EQ(cut.items.size(), 1u);
  EXPECT_EQ(cut.items[0].item_id, "a");
  EXPECT_EQ(cut.items[0].sent_ms, 1100);
  EXPECT_EQ(cut.items[0].heard_ms, 1100);
  EXPECT_EQ(cut.items[0].dropped_ms, 1900);
  EXPECT_EQ(cut.dropped_ms, 1900);
  EXPECT_EQ(cut.sound_stops, t0 + 1100ms);
  EXPECT_LE(cut.sound_stops - barge, 100ms);
  EXPECT_FALSE(p.next(barge, *std::make_unique<PlaybackPacer::Chunk>()));
  EXPECT_EQ(p.queued_ms(), 0);
  EXPECT_TRUE(p.idle(t0 + 1100ms));
}

TEST(PlaybackPacer, FileModeGroupsSegmentsAndFlushesAtItemEnd) {
  PlaybackPacer p({.mode = PlaybackMode::file,
                   .sample_rate = 8000,
                   .min_segment = 500ms,
                   .max_segment = 2000ms,
                   .file_lead = 2000ms});
  for (int i = 0; i < 20; ++i) p.push("a", audio_ms(8000, 20));  // 400 ms in 20 ms pieces
  EXPECT_TRUE(drain(p, t0).empty());  // below min_segment: one file would be too short
  EXPECT_FALSE(p.next_due(t0));
  p.push("a", audio_ms(8000, 200));
  EXPECT_EQ(drain(p, t0), (std::vector<std::int64_t>{600}));
  p.push("a", audio_ms(8000, 5000));
  // 2 s max per segment, and at most 2 s ahead of real time: 600 ms playing, so nothing until 600 ms in.
  EXPECT_TRUE(drain(p, t0 + 100ms).empty());
  EXPECT_EQ(p.next_due(t0 + 100ms), t0 + 600ms);
  EXPECT_EQ(drain(p, t0 + 600ms), (std::vector<std::int64_t>{2000}));
  EXPECT_EQ(drain(p, t0 + 2600ms), (std::vector<std::int64_t>{2000}));
  EXPECT_EQ(drain(p, t0 + 4600ms), (std::vector<std::int64_t>{1000}));  // >= min_segment: a file
  p.push("a", audio_ms(8000, 100));
  EXPECT_TRUE(drain(p, t0 + 5600ms).empty());  // 100 ms: too short for a file of its own...
  p.end_item("a");
  EXPECT_EQ(drain(p, t0 + 5600ms), (std::vector<std::int64_t>{100}));  // ...until the item ends
  EXPECT_EQ(p.played_ms("a", t0 + 10s), 5700);
}

TEST(PlaybackPacer, FileModeFlushOnSentenceEnd) {
  PlaybackPacer p({.mode = PlaybackMode::file, .sample_rate = 16000, .min_segment = 1000ms});
  p.push("a", audio_ms(16000, 300));
  EXPECT_TRUE(drain(p, t0).empty());
  p.flush();
  EXPECT_EQ(drain(p, t0), (std::vector<std::int64_t>{300}));
  p.push("a", audio_ms(16000, 300));  // the same item goes on after the boundary
  p.flush();
  PlaybackPacer::Chunk c;
  ASSERT_TRUE(p.next(t0, c));
  EXPECT_EQ(c.item_offset_ms, 300);
  EXPECT_EQ(c.starts_playing, t0 + 300ms);
}

TEST(PlaybackPacer, BargeInInFileModeStopsNow) {
  PlaybackPacer p(
      {.mode = PlaybackMode::file, .sample_rate = 16000, .min_segment = 500ms, .file_lead = 1000ms});
  p.push("a", audio_ms(16000, 1500));
  p.end_item("a");
  p.push("b", audio_ms(16000, 800));
  drain(p, t0);  // a: 1500 ms goes at once (nothing playing), b waits for the lead
  const auto cut = p.clear(t0 + 700ms);
  EXPECT_EQ(cut.sound_stops, t0 + 700ms);  // uuid_break stops the file now
  ASSERT_EQ(cut.items.size(), 2u);
  EXPECT_EQ(cut.items[0].item_id, "a");
  EXPECT_EQ(cut.items[0].heard_ms, 700);
  EXPECT_EQ(cut.items[0].sent_ms, 1500);
  EXPECT_EQ(cut.items[1].item_id, "b");
  EXPECT_EQ(cut.items[1].heard_ms, 0);
  EXPECT_EQ(cut.items[1].dropped_ms, 800);
  // Later questions get the cut figure, not the schedule that never happened.
  EXPECT_EQ(p.played_ms("a", t0 + 5s), 700);
  EXPECT_TRUE(p.idle(t0 + 700ms));
}

TEST(PlaybackPacer, QueueIsBoundedAndDropsTheOldest) {
  PlaybackPacer p({.mode = PlaybackMode::stream, .sample_rate = 8000, .max_queued = 1000ms});
  p.push("a", audio_ms(8000, 800, 1));
  p.push("a", audio_ms(8000, 400, 2));
  EXPECT_EQ(p.queued_ms(), 1000);
  EXPECT_EQ(p.dropped_samples(), 8000u * 200 / 1000);
  PlaybackPacer::Chunk c;
  ASSERT_TRUE(p.next(t0, c));
  EXPECT_EQ(c.item_offset_ms, 200);  // the first 200 ms were dropped
  EXPECT_EQ(c.samples.front(), 1);
}

TEST(PlaybackPacer, ChunkLongerThanTheLeadStillFlows) {
  PlaybackPacer p({.mode = PlaybackMode::stream, .sample_rate = 8000, .lead = 10ms, .chunk = 40ms});
  p.push("a", audio_ms(8000, 120));
  EXPECT_EQ(drain(p, t0), (std::vector<std::int64_t>{40}));
  EXPECT_EQ(p.next_due(t0), t0 + 40ms);
  EXPECT_EQ(drain(p, t0 + 40ms), (std::vector<std::int64_t>{40}));
}

TEST(PlaybackPacer, RejectsNonsenseConfiguration) {
  EXPECT_THROW(PlaybackPacer({.sample_rate = 0}), std::invalid_argument);
  EXPECT_THROW(PlaybackPacer({.chunk = 0ms}), std::invalid_argument);
  EXPECT_THROW(PlaybackPacer({.min_segment = 3000ms, .max_segment = 1000ms}), std::invalid_argument);
}

}  // namespace
}  // namespace ivr::audio
