// Fuzz target: the stored entry decoder (storage/entry), which reads every
// record of the local store and every entry a remote sends. An entry it
// accepts is encoded again and must decode.
#include "fuzz.hpp"
#include "storage/entry.hpp"

using namespace ipfsacc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto entry = storage::decode_entry(fuzz::text(data, size));
  if (!entry) {
    return 0;
  }
  fuzz::check_segments(*entry);
  auto again = storage::decode_entry(storage::encode_entry(*entry));
  fuzz::check(again.has_value(), "a decoded entry, encoded again, decodes");
  fuzz::check(again && again->segments.size() == entry->segments.size() &&
                again->display == entry->display,
              "a decoded entry, encoded again, is the same entry");
  return 0;
}
