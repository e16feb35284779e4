// Fills a cache with synthetic entries, for the benchmarks that measure how
// hit latency and the management commands scale with the number of entries.
//
//   ipfsacc_bench_populate DIR COUNT [SIZE [expired]]
//
// Entries get distinct keys and distinct SIZE-byte stdout blobs, written
// 1000 to a transaction through the same Store API the binary uses. With
// "expired" they expired an hour ago (for `ipfsacc purge --expired`).

#include "storage/store.hpp"
#include "util/duration.hpp"

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <sodium.h>

int main(int argc, char** argv) {
  using namespace ipfsacc;
  if (argc < 3 || sodium_init() < 0) {
    fmt::print(stderr,
               "usage: ipfsacc_bench_populate DIR COUNT [SIZE [expired]]\n");
    return 2;
  }
  auto store = storage::Store::open(argv[1], storage::Access::read_write);
  if (!store) {
    fmt::print(stderr, "{}\n", store.error());
    return 1;
  }
  long count = std::atol(argv[2]);
  size_t size = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 1024;
  int64_t now = util::now_ms();
  bool expired = argc > 4 && std::string_view(argv[4]) == "expired";
  std::string body(size, 'x');
  for (long done = 0; done < count;) {
    long batch_end = std::min(count, done + 1000);
    auto written = (*store)->write([&](storage::StoreWriter& w) {
      for (long i = done; i < batch_end; ++i) {
        auto label = fmt::format("synthetic entry {}\n", i);
        body.replace(0, std::min(label.size(), body.size()), label);
        storage::Entry e;
        e.created_ms = now;
        e.expires_ms = expired ? now - 3'600'000 : now + 3'600'000;
        e.last_used_ms = now - (count - i);
        e.duration_ms = 500;
        e.stdout_digest = sha256(body);
        e.stdout_size = body.size();
        e.stderr_digest = empty_digest();
        e.tool = "run";
        e.operation = "synthetic";
        e.display = fmt::format("synthetic {}", i);
        e.segments = { { storage::Stream::out, body.size() } };
        storage::BlobSource blobs[1];
        blobs[0].digest = e.stdout_digest;
        blobs[0].size = body.size();
        blobs[0].memory = body;
        w.put_entry(sha256(fmt::format("key {}", i)), e, blobs);
      }
    });
    if (!written) {
      fmt::print(stderr, "{}\n", written.error());
      return 1;
    }
    done = batch_end;
  }
  return 0;
}
