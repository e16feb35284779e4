// Fuzz target: one line of `ipfsacc import` (the export format, JSON Lines;
// storage/exchange). The input is the line without its newline, as the
// importer hands it over. A line that is accepted is written again with
// export_line and must read back, and its segments must stay within its
// outputs.
#include "fuzz.hpp"
#include "storage/exchange.hpp"

using namespace ipfsacc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = storage::parse_export_line(fuzz::text(data, size));
  if (!parsed) {
    return 0;
  }
  fuzz::check_segments(parsed->entry);
  // The importer stores it.
  storage::encode_entry(parsed->entry);
  auto again = storage::export_line(parsed->key,
                                    parsed->entry,
                                    fuzz::bytes(parsed->out),
                                    fuzz::bytes(parsed->err));
  auto reread = storage::parse_export_line(again);
  fuzz::check(reread.has_value(), "an accepted line, exported again, reads");
  fuzz::check(reread && reread->out == parsed->out &&
                reread->err == parsed->err,
              "an accepted line, exported again, keeps its outputs");
  return 0;
}
