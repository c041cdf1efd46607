#include "ivr/audio/playback_pacer.hpp"

#include <algorithm>
#include <stdexcept>

namespace ivr::audio {
namespace {

constexpr std::size_t kHistoryItems = 32;
// Compact a pending buffer once this much of it has been sent (keeps memory flat on long items).
constexpr std::size_t kCompactAfter = 16'384;

}  // namespace

PlaybackPacer::PlaybackPacer(PacerConfig config) : config_(config) {
  if (config_.sample_rate < 8000 || config_.sample_rate > 64000 || config_.chunk.count() <= 0 ||
      config_.lead.count() < 0 || config_.min_segment.count() <= 0 ||
      config_.max_segment < config_.min_segment || config_.max_queued.count() <= 0) {
    throw std::invalid_argument("PlaybackPacer: bad configuration");
  }
}

std::int64_t PlaybackPacer::samples_of(std::chrono::milliseconds d) const {
  return static_cast<std::int64_t>(d.count()) * config_.sample_rate / 1000;
}

std::chrono::nanoseconds PlaybackPacer::duration_of(std::int64_t samples) const {
  return std::chrono::nanoseconds(samples * 1'000'000'000 / config_.sample_rate);
}

void PlaybackPacer::push(std::string_view item_id, std::span<const std::int16_t> samples) {
  if (samples.empty()) return;
  if (queue_.empty() || queue_.back().item_id != item_id || queue_.back().ended) {
    std::int64_t offset = sent_offset(item_id);
    for (auto& p : queue_) {
      if (p.item_id == item_id) {
        offset = p.item_offset + static_cast<std::int64_t>(p.samples.size());
      } else {
        p.ended = true;  // a new item: whatever came before is complete
      }
    }
    Pending p;
    p.item_id = std::string(item_id);
    p.item_offset = offset;
    queue_.push_back(std::move(p));
  }
  Pending& back = queue_.back();
  if (back.read >= kCompactAfter && back.read * 2 >= back.samples.size()) {
    back.samples.erase(back.samples.begin(), back.samples.begin() + static_cast<std::ptrdiff_t>(back.read));
    back.item_offset += static_cast<std::int64_t>(back.read);
    back.read = 0;
  }
  back.samples.insert(back.samples.end(), samples.begin(), samples.end());
  queued_samples_ += static_cast<std::int64_t>(samples.size());

  // Bounded: drop the oldest unsent audio (STYLE rule 7).
  std::int64_t excess = queued_samples_ - samples_of(config_.max_queued);
  while (excess > 0 && !queue_.empty()) {
    Pending& front = queue_.front();
    const auto avail = static_cast<std::int64_t>(front.samples.size() - front.read);
    const std::int64_t drop = std::min(excess, avail);
    front.read += static_cast<std::size_t>(drop);
    queued_samples_ -= drop;
    dropped_samples_ += static_cast<std::uint64_t>(drop);
    excess -= drop;
    if (front.read == front.samples.size() && (front.ended || queue_.size() > 1))
      queue_.pop_front();
    else if (drop == 0)
      break;
  }
}

void PlaybackPacer::end_item(std::string_view item_id) {
  for (auto& p : queue_) {
    if (p.item_id == item_id) p.ended = true;
  }
}

void PlaybackPacer::flush() {
  if (!queue_.empty()) queue_.back().ended = true;
}

std::int64_t PlaybackPacer::sendable(const Pending& p, TimePoint now, TimePoint* due) const {
  const auto avail = static_cast<std::int64_t>(p.samples.size() - p.read);
  if (avail == 0) return 0;
  std::int64_t want = 0;
  std::chrono::nanoseconds limit{};
  if (config_.mode == PlaybackMode::stream) {
    const std::int64_t chunk = samples_of(config_.chunk);
    if (avail < chunk && !p.ended) return 0;  // wait for a whole chunk
    want = std::min(avail, chunk);
    limit = config_.lead;
  } else {
    if (avail < samples_of(config_.min_segment) && !p.ended) return 0;  // wait for a whole segment
    want = std::min(avail, samples_of(config_.max_segment));
    limit = config_.file_lead;
  }
  // Nothing playing: send whatever the limit says (a chunk longer than the lead must not block forever).
  if (play_end_ <= now) return want;
  const TimePoint end_after = play_end_ + duration_of(want);
  if (end_after - now <= limit) return want;
  // Due when the lead allows it, or when the playout runs dry, whichever comes first.
  if (due != nullptr) *due = std::min(end_after - limit, play_end_);
  return 0;
}

bool PlaybackPacer::next(TimePoint now, Chunk& out) {
  while (!queue_.empty()) {
    Pending& front = queue_.front();
    if (front.read == front.samples.size()) {
      if (!front.ended) return false;  // waiting for more of this item
      queue_.pop_front();
      continue;
    }
    const std::int64_t n = sendable(front, now, nullptr);
    if (n == 0) return false;
    const TimePoint start = std::max(now, play_end_);
    History& h = history_for(front.item_id);
    const bool contiguous = start == play_end_ && !h.spans.empty() && &history_.back() == &h &&
                            h.spans.back().start + duration_of(h.spans.back().samples) == play_end_;
    if (contiguous) {
      h.spans.back().samples += n;
    } else {
      h.spans.push_back(Span{start, n});
    }
    // From the span's start, so rounding never accumulates over a long item.
    play_end_ = h.spans.back().start + duration_of(h.spans.back().samples);
    h.sent += n;

    out.item_id = h.item_id;
    out.samples.assign(front.samples.begin() + static_cast<std::ptrdiff_t>(front.read),
                       front.samples.begin() + static_cast<std::ptrdiff_t>(front.read) + n);
    out.starts_playing = start;
    out.item_offset_ms =
        (front.item_offset + static_cast<std::int64_t>(front.read)) * 1000 / config_.sample_rate;
    front.read += static_cast<std::size_t>(n);
    queued_samples_ -= n;
    sent_samples_total_ += static_cast<std::uint64_t>(n);
    if (front.read == front.samples.size() && front.ended) queue_.pop_front();
    return true;
  }
  return false;
}

std::optional<PlaybackPacer::TimePoint> PlaybackPacer::next_due(TimePoint now) const {
  for (const auto& p : queue_) {
    if (p.read == p.samples.size()) {
      if (!p.ended) return std::nullopt;
      continue;
    }
    TimePoint due{};
    if (sendable(p, now, &due) > 0) return now;
    if (due == TimePoint{}) return std::nullopt;  // needs more input first
    return due;
  }
  return std::nullopt;
}

PlaybackPacer::History& PlaybackPacer::history_for(std::string_view item_id) {
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->item_id == item_id) {
      if (&*it != &history_.back()) {
        // Items play in order; one seen again after another item starts a new record at the end.
        History moved = std::move(*it);
        history_.erase(std::next(it).base());
        history_.push_back(std::move(moved));
      }
      return history_.back();
    }
  }
  if (history_.size() >= kHistoryItems) history_.pop_front();
  History h;
  h.item_id = std::string(item_id);
  history_.push_back(std::move(h));
  return history_.back();
}

const PlaybackPacer::History* PlaybackPacer::find_history(std::string_view item_id) const {
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->item_id == item_id) return &*it;
  }
  return nullptr;
}

std::int64_t PlaybackPacer::heard_samples(const History& h, TimePoint at) const {
  std::int64_t heard = 0;
  for (const auto& s : h.spans) {
    if (at <= s.start) continue;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at - s.start).count();
    const std::int64_t played = ns * config_.sample_rate / 1'000'000'000;
    heard += std::min(played, s.samples);
  }
  return heard;
}

std::int64_t PlaybackPacer::sent_offset(std::string_view item_id) const {
  const History* h = find_history(item_id);
  return h != nullptr ? h->sent : 0;
}

std::int64_t PlaybackPacer::played_ms(std::string_view item_id, TimePoint now) const {
  const History* h = find_history(item_id);
  return h != nullptr ? heard_samples(*h, now) * 1000 / config_.sample_rate : 0;
}

std::chrono::nanoseconds PlaybackPacer::ahead(TimePoint now) const {
  return play_end_ > now ? std::chrono::duration_cast<std::chrono::nanoseconds>(play_end_ - now)
                         : std::chrono::nanoseconds(0);
}

bool PlaybackPacer::idle(TimePoint now) const {
  return queued_samples_ == 0 && play_end_ <= now;
}

std::int64_t PlaybackPacer::queued_ms() const {
  return queued_samples_ * 1000 / config_.sample_rate;
}

PlaybackPacer::ClearResult PlaybackPacer::clear(TimePoint now) {
  ClearResult result;
  const bool file = config_.mode == PlaybackMode::file;
  result.sound_stops = file ? now : std::max(now, play_end_);
  const std::int64_t rate = config_.sample_rate;

  // Items still sounding at `now`, in playout order.
  for (auto& h : history_) {
    if (h.spans.empty()) continue;
    const Span& last = h.spans.back();
    if (last.start + duration_of(last.samples) <= now) continue;
    ItemCut cut;
    cut.item_id = h.item_id;
    cut.heard_ms = heard_samples(h, result.sound_stops) * 1000 / rate;
    cut.sent_ms = h.sent * 1000 / rate;
    result.items.push_back(std::move(cut));
    if (file) {
      // uuid_break stops the files: what was not heard by now never will be.
      for (auto& s : h.spans) {
        if (s.start >= now) {
          s.samples = 0;
        } else {
          const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.start).count();
          s.samples = std::min(s.samples, ns * rate / 1'000'000'000);
        }
      }
    }
  }
  // Audio queued here and never sent.
  for (const auto& p : queue_) {
    const auto unsent = static_cast<std::int64_t>(p.samples.size() - p.read);
    if (unsent == 0) continue;
    auto it = std::find_if(result.items.begin(), result.items.end(),
                           [&p](const ItemCut& c) { return c.item_id == p.item_id; });
    if (it == result.items.end()) {
      ItemCut cut;
      cut.item_id = p.item_id;
      if (const History* h = find_history(p.item_id)) {
        cut.heard_ms = heard_samples(*h, result.sound_stops) * 1000 / rate;
        cut.sent_ms = h->sent * 1000 / rate;
      }
      result.items.push_back(std::move(cut));
      it = std::prev(result.items.end());
    }
    it->dropped_ms += unsent * 1000 / rate;
    result.dropped_ms += unsent * 1000 / rate;
  }
  queue_.clear();
  queued_samples_ = 0;
  if (file) play_end_ = std::min(play_end_, now);
  return result;
}

}  // namespace ivr::audio
