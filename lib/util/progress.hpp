#pragma once

// A progress line for long work, as ccache -c, rsync --info=progress2 and
// docker pull draw one: a single line on a terminal redrawn in place with
// '\r', not before the work has run about a second, at most ten times a
// second, and erased at the end so that the summary printed after it is
// all that stays on screen.

#include "util/duration.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace ipfsacc::util {

// Whether a stage counts bytes (and shows a rate in bytes per second).
enum class CountBytes { no, yes };

// One stage of the work: what the line calls it, what it counts, and the
// totals when they are known.
struct ProgressStage {
  // "Exporting"; the line begins "Exporting: ".
  std::string label;
  // What the items are ("entries"); empty when the stage counts none, and
  // the line then shows how long it has run.
  std::string unit;
  // Items in all; 0 when not known (no ETA from the items then).
  uint64_t total = 0;
  CountBytes bytes = CountBytes::no;
  // Bytes in all; 0 when not known. When known, the ETA and the
  // percentage come from the bytes rather than the items.
  uint64_t total_bytes = 0;
};

// A stage that counts nothing: its line shows how long it has run.
inline ProgressStage timed_stage(std::string label) {
  return { std::move(label), "", 0, CountBytes::no, 0 };
}

// A stage that counts items (total 0: not known), and no bytes.
inline ProgressStage counted_stage(std::string label,
                                   std::string unit,
                                   uint64_t total) {
  return { std::move(label), std::move(unit), total, CountBytes::no, 0 };
}

// Where a stage stands.
struct ProgressCounts {
  uint64_t done = 0;
  uint64_t bytes = 0;
  // Since the stage began.
  int64_t elapsed_ms = 0;
};

// The line for a stage at counts: "Exporting: 1200/5000 entries, 12.0 MB,
// 4.0 MB/s, ETA 4s", "Removing: 20000/100000 entries (20%), 25000
// entries/s, ETA 4s", "Purging remote redis://host of every ipfsacc key:
// 12s". The rate is shown once the stage has run half a second, the ETA
// then too when a total is known and some of it is done.
std::string format_progress(const ProgressStage& stage,
                            const ProgressCounts& counts);

// What a progress line is drawn on.
struct ProgressOutput {
  // Writes bytes to the terminal (or whatever stands for it).
  std::function<void(std::string_view)> write;
  // Its width in columns; 0 when not known. A line is cut one column short
  // of it, so that the cursor never wraps to a second line that '\r' would
  // not go back over.
  std::function<size_t()> width;
  // Milliseconds from a clock that only moves forward.
  std::function<int64_t()> clock = steady_ms;
};

// A ProgressOutput writing to fd, with the width of the terminal fd is.
ProgressOutput fd_output(int fd);

// When a progress line is drawn.
struct ProgressTiming {
  // Nothing is drawn before the work has run this long: quick work shows
  // nothing at all.
  int64_t delay_ms = 1000;
  // At most one redraw per interval.
  int64_t interval_ms = 100;
};

// Whether the line is drawn at all (a terminal, or forced): when not, every
// call but print() returns at once.
enum class ProgressDraw { no, yes };

// A progress line. add() and set() may be called from any thread and for
// every item: they look at the clock only every 64th call (or for an item
// of 1 MB or more), and draw only when the interval has passed. print()
// writes a message above the line. The destructor erases the line.
class Progress {
public:
  Progress(ProgressOutput output, ProgressTiming timing, ProgressDraw draw);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Begins a stage: the counts start again from zero, and the rate and ETA
  // are measured from now. The delay before the first draw is counted from
  // the construction, not from the stage.
  void stage(ProgressStage stage);
  // Counts items and bytes done.
  void add(uint64_t items, uint64_t bytes = 0);
  // Sets the items done (work that may be done again, like a write
  // transaction run again on a grown map, sets rather than adds).
  void set(uint64_t items);
  // Looks at the clock and draws when it is time.
  void update();
  // Writes text (a whole line, with its '\n') where the user sees it: the
  // progress line is erased first and drawn again after it.
  void print(std::string_view text);
  // Erases the line; nothing is drawn after this.
  void finish();
  // Whether the line is drawn at all.
  bool drawn() const { return draw_ == ProgressDraw::yes; }

private:
  void maybe_update(uint64_t bytes);
  void draw_locked(int64_t now);
  void erase_locked();

  ProgressOutput output_;
  ProgressTiming timing_;
  ProgressDraw draw_;
  int64_t started_ms_;
  std::atomic<uint64_t> done_{ 0 };
  std::atomic<uint64_t> bytes_{ 0 };
  std::atomic<uint64_t> calls_{ 0 };
  // When the line was last drawn; kNever before the first time.
  static constexpr int64_t kNever = INT64_MIN;
  std::atomic<int64_t> drawn_ms_{ kNever };
  std::mutex mutex_;
  ProgressStage stage_;
  int64_t stage_started_ms_;
  size_t shown_ = 0; // columns of the line on screen; 0 when none is
  bool finished_ = false;
};

// While it lives, a thread of its own updates progress every interval: for
// a call that blocks and reports nothing, whose line still shows the time
// going by. The constructor updates it once itself, so a line that is due
// is drawn before the call begins.
class ProgressTicker {
public:
  ProgressTicker(Progress& progress, int64_t interval_ms = 100);
  ~ProgressTicker();
  ProgressTicker(const ProgressTicker&) = delete;
  ProgressTicker& operator=(const ProgressTicker&) = delete;

private:
  Progress& progress_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace ipfsacc::util
