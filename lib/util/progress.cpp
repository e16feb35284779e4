#include "util/progress.hpp"

#include "util/fs.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <vector>

namespace ipfsacc::util {

namespace {

// Whole seconds, rounded up, as format_duration writes them ("4s", "2m5s").
std::string progress_seconds(int64_t ms) {
  int64_t seconds = std::max<int64_t>(1, (ms + 999) / 1000);
  return format_duration(Millis(seconds * 1000));
}

// Cuts line to at most columns bytes, never inside a UTF-8 sequence.
void cut_to_columns(std::string& line, size_t columns) {
  if (line.size() <= columns) {
    return;
  }
  size_t end = columns;
  while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) {
    --end;
  }
  line.resize(end);
}

} // namespace

std::string format_progress(const ProgressStage& stage,
                            const ProgressCounts& counts) {
  bool items = !stage.unit.empty();
  bool bytes = stage.bytes == CountBytes::yes;
  // The part of the work done, from the bytes when their total is known,
  // else from the items; negative when neither total is.
  double fraction = -1;
  if (bytes && stage.total_bytes > 0) {
    fraction = static_cast<double>(counts.bytes) /
               static_cast<double>(stage.total_bytes);
  } else if (items && stage.total > 0) {
    fraction =
      static_cast<double>(counts.done) / static_cast<double>(stage.total);
  }
  fraction = std::min(fraction, 1.0);
  auto percent = [&] {
    // Down, as a percentage done should be (99% until it is all), but
    // not a hair below a whole number that the division missed.
    return fmt::format(" ({}%)", static_cast<int>(fraction * 100 + 1e-9));
  };
  std::vector<std::string> parts;
  if (items) {
    std::string part =
      stage.total > 0
        ? fmt::format("{}/{} {}", counts.done, stage.total, stage.unit)
        : fmt::format("{} {}", counts.done, stage.unit);
    if (!(bytes && stage.total_bytes > 0) && stage.total > 0) {
      part += percent();
    }
    parts.push_back(std::move(part));
  }
  if (bytes) {
    parts.push_back(stage.total_bytes > 0
                      ? fmt::format("{}/{}{}",
                                    format_size(counts.bytes),
                                    format_size(stage.total_bytes),
                                    percent())
                      : format_size(counts.bytes));
  }
  // A rate measured over less than half a second is noise (the first
  // entries of a stage, the page cache warming up).
  if (counts.elapsed_ms >= 500) {
    auto per_second = [&](uint64_t n) {
      return static_cast<uint64_t>(static_cast<double>(n) * 1000.0 /
                                   static_cast<double>(counts.elapsed_ms));
    };
    if (bytes && counts.bytes > 0) {
      parts.push_back(format_size(per_second(counts.bytes)) + "/s");
    } else if (!bytes && items && counts.done > 0) {
      parts.push_back(
        fmt::format("{} {}/s", per_second(counts.done), stage.unit));
    }
    if (fraction > 0 && fraction < 1) {
      auto left = static_cast<int64_t>(static_cast<double>(counts.elapsed_ms) *
                                       (1 - fraction) / fraction);
      parts.push_back("ETA " + progress_seconds(left));
    }
  }
  if (!items && !bytes) {
    parts.push_back(
      counts.elapsed_ms < 1000
        ? std::string("0s")
        : format_duration(Millis(counts.elapsed_ms / 1000 * 1000)));
  }
  std::string line = stage.label;
  for (size_t i = 0; i < parts.size(); ++i) {
    line += i == 0 ? ": " : ", ";
    line += parts[i];
  }
  return line;
}

ProgressOutput fd_output(int fd) {
  ProgressOutput output;
  output.write = [fd](std::string_view bytes) {
    write_all(fd, bytes.data(), bytes.size());
  };
  output.width = [fd]() -> size_t {
    winsize size{};
    if (::ioctl(fd, TIOCGWINSZ, &size) != 0) {
      return 0;
    }
    return size.ws_col;
  };
  return output;
}

Progress::Progress(ProgressOutput output,
                   ProgressTiming timing,
                   ProgressDraw draw)
  : output_(std::move(output))
  , timing_(timing)
  , draw_(draw)
  , started_ms_(output_.clock())
  , stage_started_ms_(started_ms_) {}

Progress::~Progress() {
  finish();
}

void Progress::stage(ProgressStage stage) {
  std::lock_guard lock(mutex_);
  stage_ = std::move(stage);
  stage_started_ms_ = output_.clock();
  done_ = 0;
  bytes_ = 0;
}

void Progress::add(uint64_t items, uint64_t bytes) {
  if (draw_ == ProgressDraw::no) {
    return;
  }
  done_.fetch_add(items, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  maybe_update(bytes);
}

void Progress::set(uint64_t items) {
  if (draw_ == ProgressDraw::no) {
    return;
  }
  done_.store(items, std::memory_order_relaxed);
  maybe_update(0);
}

void Progress::maybe_update(uint64_t bytes) {
  // Reading the clock costs some 20 ns: not per item of a 100,000-item
  // purge, but an item of a megabyte takes longer than that to handle.
  if ((calls_.fetch_add(1, std::memory_order_relaxed) & 63) == 0 ||
      bytes >= (1 << 20)) {
    update();
  }
}

void Progress::update() {
  if (draw_ == ProgressDraw::no) {
    return;
  }
  int64_t now = output_.clock();
  if (now - started_ms_ < timing_.delay_ms) {
    return;
  }
  int64_t last = drawn_ms_.load(std::memory_order_relaxed);
  if (last != kNever && now - last < timing_.interval_ms) {
    return;
  }
  std::lock_guard lock(mutex_);
  if (!finished_) {
    draw_locked(now);
  }
}

void Progress::print(std::string_view text) {
  std::lock_guard lock(mutex_);
  bool was_shown = shown_ > 0;
  erase_locked();
  output_.write(text);
  if (was_shown && !finished_) {
    draw_locked(output_.clock());
  }
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  erase_locked();
  finished_ = true;
}

void Progress::draw_locked(int64_t now) {
  std::string line = format_progress(stage_,
                                     { done_.load(std::memory_order_relaxed),
                                       bytes_.load(std::memory_order_relaxed),
                                       now - stage_started_ms_ });
  if (size_t columns = output_.width ? output_.width() : 0; columns > 1) {
    cut_to_columns(line, columns - 1);
  }
  std::string text = "\r" + line;
  // Spaces over what is left of a longer line drawn before.
  if (line.size() < shown_) {
    text.append(shown_ - line.size(), ' ');
  }
  output_.write(text);
  shown_ = std::max(line.size(), shown_);
  drawn_ms_.store(now, std::memory_order_relaxed);
}

void Progress::erase_locked() {
  if (shown_ == 0) {
    return;
  }
  std::string text = "\r";
  text.append(shown_, ' ');
  text += '\r';
  output_.write(text);
  shown_ = 0;
}

ProgressTicker::ProgressTicker(Progress& progress, int64_t interval_ms)
  : progress_(progress) {
  progress_.update();
  if (!progress_.drawn()) {
    return;
  }
  thread_ = std::thread([this, interval_ms] {
    std::unique_lock lock(mutex_);
    while (
      !stop_.wait_for(lock, Millis(interval_ms), [&] { return stopping_; })) {
      lock.unlock();
      progress_.update();
      lock.lock();
    }
  });
}

ProgressTicker::~ProgressTicker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

} // namespace ipfsacc::util
