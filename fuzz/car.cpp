// Fuzz target: `ipfsacc import` of a CARv1 archive (storage/car): the
// archive reader (header, sections, every block checked against its CID)
// and the decoder of an entry's DAG-CBOR block. Blocks are hashed, so a
// mutated block rarely survives read_car; the input is therefore also
// decoded as an entry block on its own.
#include "storage/car.hpp"

#include "fuzz.hpp"

using namespace ipfsacc;

namespace {

void decode(std::string_view block) {
  auto entry = storage::decode_car_entry(block);
  if (!entry) {
    return;
  }
  fuzz::check_segments(entry->entry);
  // The importer stores it.
  storage::encode_entry(entry->entry);
  // What was decoded is encoded again and must decode.
  auto again = storage::encode_car_entry(entry->key, entry->entry);
  fuzz::check(storage::decode_car_entry(again).has_value(),
              "a decoded entry block, encoded again, decodes");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> archive(data, size);
  storage::looks_like_car(archive);
  if (auto contents = storage::read_car(archive)) {
    for (const auto& block : contents->blocks) {
      if (block.id.codec == storage::kCodecDagCbor) {
        decode(fuzz::text(block.data.data(), block.data.size()));
      }
    }
  }
  decode(fuzz::text(data, size));
  return 0;
}
