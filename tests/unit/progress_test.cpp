// The progress line of long work: what it says, when it is drawn, and that
// nothing of it is left on screen.

#include "util/progress.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace ipfsacc::util;

namespace {

// A terminal that records what is written to it, with a clock the test
// moves.
struct FakeTerminal {
  std::string written;
  int64_t now = 0;
  size_t columns = 0;

  ProgressOutput output() {
    ProgressOutput out;
    out.write = [this](std::string_view bytes) { written += bytes; };
    out.width = [this] { return columns; };
    out.clock = [this] { return now; };
    return out;
  }
  // What a terminal shows after what was written: '\r' goes back to the
  // start of the line, '\n' ends it; trailing spaces are dropped.
  std::string screen() const {
    std::string shown;
    std::string line;
    size_t column = 0;
    auto end_line = [&] {
      while (!line.empty() && line.back() == ' ') {
        line.pop_back();
      }
      shown += line;
    };
    for (char c : written) {
      if (c == '\r') {
        column = 0;
      } else if (c == '\n') {
        end_line();
        shown += '\n';
        line.clear();
        column = 0;
      } else {
        if (column < line.size()) {
          line[column] = c;
        } else {
          line += c;
        }
        ++column;
      }
    }
    end_line();
    return shown;
  }
  // Times the line was drawn (each draw starts with '\r' and a letter).
  size_t draws() const {
    size_t n = 0;
    for (size_t i = 0; i + 1 < written.size(); ++i) {
      n +=
        written[i] == '\r' && written[i + 1] != ' ' && written[i + 1] != '\r';
    }
    return n;
  }
};

ProgressStage removing(uint64_t total) {
  return counted_stage("Removing", "entries", total);
}

} // namespace

TEST_CASE("format_progress: count of a total, percentage, rate and ETA") {
  CHECK(format_progress(removing(100000), { 20000, 0, 1000 }) ==
        "Removing: 20000/100000 entries (20%), 20000 entries/s, ETA 4s");
  // Nothing measured yet, or for too short a time: no rate, no ETA.
  CHECK(format_progress(removing(10), { 0, 0, 0 }) ==
        "Removing: 0/10 entries (0%)");
  CHECK(format_progress(removing(10), { 2, 0, 499 }) ==
        "Removing: 2/10 entries (20%)");
  // All done: no ETA.
  CHECK(format_progress(removing(10), { 10, 0, 2000 }) ==
        "Removing: 10/10 entries (100%), 5 entries/s");
  // No total: a count and a rate.
  CHECK(format_progress(removing(0), { 5, 0, 1000 }) ==
        "Removing: 5 entries, 5 entries/s");
  // ETA rounded up to whole seconds, in minutes when long.
  CHECK(format_progress(removing(1000), { 1, 0, 500 }) ==
        "Removing: 1/1000 entries (0%), 2 entries/s, ETA 8m20s");
}

TEST_CASE("format_progress: bytes, and the ETA from them when their total "
          "is known") {
  ProgressStage exporting{ "Exporting", "entries", 5000, CountBytes::yes, 0 };
  CHECK(format_progress(exporting, { 1200, 12000000, 3000 }) ==
        "Exporting: 1200/5000 entries (24%), 12.0 MB, 4.0 MB/s, ETA 10s");
  ProgressStage importing{
    "Importing", "entries", 0, CountBytes::yes, 45000000
  };
  CHECK(format_progress(importing, { 1200, 12000000, 3000 }) ==
        "Importing: 1200 entries, 12.0 MB/45.0 MB (26%), 4.0 MB/s, ETA 9s");
  ProgressStage reading{ "Reading", "", 0, CountBytes::yes, 0 };
  CHECK(format_progress(reading, { 0, 2500, 1000 }) ==
        "Reading: 2.5 kB, 2.5 kB/s");
}

TEST_CASE("format_progress: work that reports nothing shows its time") {
  ProgressStage purge = timed_stage("Purging remote r of every ipfsacc key");
  CHECK(format_progress(purge, { 0, 0, 400 }) ==
        "Purging remote r of every ipfsacc key: 0s");
  CHECK(format_progress(purge, { 0, 0, 12345 }) ==
        "Purging remote r of every ipfsacc key: 12s");
  CHECK(format_progress(purge, { 0, 0, 125000 }) ==
        "Purging remote r of every ipfsacc key: 2m5s");
}

TEST_CASE("Progress draws nothing before the delay, then at most once per "
          "interval") {
  FakeTerminal term;
  Progress progress(term.output(), { 1000, 100 }, ProgressDraw::yes);
  progress.stage(removing(100));
  term.now = 999;
  progress.add(1);
  progress.update();
  CHECK(term.written.empty());
  term.now = 1000;
  progress.update();
  CHECK(term.draws() == 1);
  CHECK(term.screen() ==
        "Removing: 1/100 entries (1%), 1 entries/s, ETA 1m39s");
  term.now = 1099;
  progress.add(1);
  progress.update();
  CHECK(term.draws() == 1);
  term.now = 1100;
  progress.update();
  CHECK(term.draws() == 2);
  CHECK(term.screen().starts_with("Removing: 2/100 entries"));
}

TEST_CASE("Progress looks at the clock every 64th item, or for a large one") {
  FakeTerminal term;
  Progress progress(term.output(), { 0, 100 }, ProgressDraw::yes);
  progress.stage(removing(1000));
  progress.add(1); // the first call looks
  CHECK(term.draws() == 1);
  term.now = 5000;
  for (int i = 0; i < 63; ++i) {
    progress.add(1);
  }
  CHECK(term.draws() == 1);
  progress.add(1);
  CHECK(term.draws() == 2);
  CHECK(term.screen().starts_with("Removing: 65/1000 entries"));
  term.now = 6000;
  progress.add(1, 1 << 20); // a megabyte: worth a look at once
  CHECK(term.draws() == 3);
  term.now = 7000;
  progress.set(500); // set counts as a call too
  for (int i = 0; i < 62; ++i) {
    progress.set(501 + i);
  }
  CHECK(term.draws() == 4);
  CHECK(term.screen().starts_with("Removing: 562/1000 entries"));
}

TEST_CASE("Progress erases its line at the end and draws nothing after") {
  FakeTerminal term;
  {
    Progress progress(term.output(), { 0, 100 }, ProgressDraw::yes);
    progress.stage(removing(10));
    progress.add(3);
    CHECK(term.draws() == 1);
    progress.finish();
    CHECK(term.screen().empty());
    term.now = 1000;
    progress.add(1);
    progress.update();
    CHECK(term.draws() == 1);
  }
  CHECK(term.screen().empty());
  // The destructor erases too.
  FakeTerminal other;
  {
    Progress progress(other.output(), { 0, 100 }, ProgressDraw::yes);
    progress.stage(removing(10));
    progress.update();
    CHECK(!other.screen().empty());
  }
  CHECK(other.screen().empty());
  CHECK(other.written.ends_with('\r'));
}

TEST_CASE("Progress writes a message above its line and draws it again") {
  FakeTerminal term;
  Progress progress(term.output(), { 0, 100 }, ProgressDraw::yes);
  progress.stage(removing(10));
  progress.add(2);
  progress.print("ipfsacc: import: f:3: rejected: bad line\n");
  CHECK(term.screen() == "ipfsacc: import: f:3: rejected: bad line\n"
                         "Removing: 2/10 entries (20%)");
  progress.finish();
  CHECK(term.screen() == "ipfsacc: import: f:3: rejected: bad line\n");
}

TEST_CASE("Progress covers a longer line drawn before and fits the width") {
  FakeTerminal term;
  Progress progress(term.output(), { 0, 100 }, ProgressDraw::yes);
  progress.stage({ "Exporting", "entries", 0, CountBytes::yes, 0 });
  term.now = 1000;
  progress.add(123456, 123456789);
  CHECK(term.screen() == "Exporting: 123456 entries, 123.5 MB, 123.5 MB/s");
  progress.stage(timed_stage("Writing"));
  term.now = 2000;
  progress.update();
  CHECK(term.screen() == "Writing: 1s");
  term.columns = 12;
  term.now = 3000;
  progress.stage(removing(10));
  progress.update();
  CHECK(term.screen() == "Removing: 0");
}

TEST_CASE("Progress that is not drawn writes only the messages printed") {
  FakeTerminal term;
  Progress progress(term.output(), { 0, 0 }, ProgressDraw::no);
  progress.stage(removing(10));
  progress.add(5);
  progress.update();
  CHECK(term.written.empty());
  progress.print("a message\n");
  progress.finish();
  CHECK(term.written == "a message\n");
}

TEST_CASE("ProgressTicker draws a line that is due before the call begins") {
  FakeTerminal term;
  Progress progress(term.output(), { 0, 100 }, ProgressDraw::yes);
  progress.stage(timed_stage("Purging remote r of every ipfsacc key"));
  {
    ProgressTicker ticker(progress);
    CHECK(term.draws() >= 1);
    CHECK(term.screen() == "Purging remote r of every ipfsacc key: 0s");
  }
  // Not drawn: no thread, nothing written.
  FakeTerminal quiet;
  Progress off(quiet.output(), { 0, 100 }, ProgressDraw::no);
  { ProgressTicker ticker(off); }
  CHECK(quiet.written.empty());
}
