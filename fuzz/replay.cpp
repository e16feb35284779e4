// Replays fuzz inputs without libFuzzer: the fuzz_corpus test runs every
// file of fuzz/corpus/TARGET/ through TARGET's LLVMFuzzerTestOneInput,
// built with the project's compiler and flags (and its sanitizers in the
// sanitizer build), so that an input that once crashed keeps passing.
//
//   fuzz_replay CORPUS            every TARGET/ directory of CORPUS
//   fuzz_replay TARGET PATH...    the files given, or those in directories
//
// The build compiles each target's file with LLVMFuzzerTestOneInput renamed
// to fuzz_target_NAME and lists the names in fuzz_targets.inc
// (tests/CMakeLists.txt). Prints how many inputs each target ran; exits 1
// when a directory names no target or a file cannot be read (a crash ends
// the process).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#define IPFSACC_FUZZ_TARGET(name)                                              \
  extern "C" int fuzz_target_##name(const uint8_t* data, size_t size);
#include "fuzz_targets.inc"
#undef IPFSACC_FUZZ_TARGET

namespace {

namespace fs = std::filesystem;

using TestOneInput = int (*)(const uint8_t*, size_t);

struct Target {
  std::string_view name;
  TestOneInput run;
};

#define IPFSACC_FUZZ_TARGET(name) Target{ #name, fuzz_target_##name },
constexpr Target kTargets[] = {
#include "fuzz_targets.inc"
};
#undef IPFSACC_FUZZ_TARGET

const Target* find_target(std::string_view name) {
  for (const auto& target : kTargets) {
    if (target.name == name) {
      return &target;
    }
  }
  return nullptr;
}

// The files of path (itself when it is one), in name order so that a run
// is the same everywhere.
std::vector<fs::path> files_of(const fs::path& path) {
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file()) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  return files;
}

// Runs target over the files of paths; false when one cannot be read.
bool replay(const Target& target, const std::vector<fs::path>& paths) {
  size_t count = 0;
  for (const auto& path : paths) {
    for (const auto& file : files_of(path)) {
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "fuzz_replay: cannot read %s\n", file.c_str());
        return false;
      }
      std::string input{ std::istreambuf_iterator<char>(in),
                         std::istreambuf_iterator<char>() };
      // libFuzzer hands over a buffer of exactly the input's size.
      std::vector<uint8_t> data(input.begin(), input.end());
      target.run(data.data(), data.size());
      ++count;
    }
  }
  std::printf("%s: %zu inputs\n", std::string(target.name).c_str(), count);
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && fs::is_directory(argv[1])) {
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::directory_iterator(argv[1])) {
      if (entry.is_directory()) {
        dirs.push_back(entry.path());
      }
    }
    std::sort(dirs.begin(), dirs.end());
    bool ok = !dirs.empty();
    for (const auto& dir : dirs) {
      const auto* target = find_target(dir.filename().string());
      if (!target) {
        std::fprintf(
          stderr, "fuzz_replay: %s names no fuzz target\n", dir.c_str());
        ok = false;
        continue;
      }
      ok = replay(*target, { dir }) && ok;
    }
    return ok ? 0 : 1;
  }
  if (argc >= 3) {
    const auto* target = find_target(argv[1]);
    if (!target) {
      std::fprintf(stderr, "fuzz_replay: no fuzz target named %s\n", argv[1]);
      return 1;
    }
    return replay(*target, { argv + 2, argv + argc }) ? 0 : 1;
  }
  std::fprintf(stderr,
               "usage: fuzz_replay CORPUS | fuzz_replay TARGET PATH...\n");
  return 2;
}
