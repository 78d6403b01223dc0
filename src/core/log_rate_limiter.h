// LogRateLimiter: lets at most `burst` lines through per `interval` and counts
// the ones it holds back, so a flapping broker or database cannot flood the
// log. The caller appends suppressed() to the next line it lets through.
// Thread-safe; the clock is injected so tests need not sleep.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace sluice::logging {

class LogRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogRateLimiter(std::chrono::milliseconds interval = std::chrono::seconds(10), uint32_t burst = 5,
                          std::function<Clock::time_point()> now = &Clock::now)
      : interval_(interval), burst_(burst), now_(std::move(now)) {}

  // True when a line may be written now. When it returns true, `suppressed`
  // receives how many lines were held back since the last one let through.
  bool allow(uint64_t& suppressed) {
    std::lock_guard lock(mutex_);
    Clock::time_point now = now_();
    if (now - window_start_ >= interval_) {
      window_start_ = now;
      in_window_ = 0;
    }
    if (in_window_ >= burst_) {
      ++held_back_;
      return false;
    }
    ++in_window_;
    suppressed = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  std::chrono::milliseconds interval_;
  uint32_t burst_;
  std::function<Clock::time_point()> now_;
  std::mutex mutex_;
  Clock::time_point window_start_{};
  uint32_t in_window_ = 0;
  uint64_t held_back_ = 0;
};

}  // namespace sluice::logging
