#include "remote/redis_slot_file.hpp"

#include "core/cid.hpp"
#include "util/fs.hpp"
#include "util/trusted_dir.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc::remote::redis {

namespace {

constexpr std::string_view kSlotMapFormat = "ipfsacc-redis-slots 1";
// A map of one range per slot, each naming the longest host, is under this.
constexpr off_t kMaxSlotMapFile = 8 << 20;
constexpr size_t kMaxSlotMapHost = 255;

template<typename T>
std::optional<T> slot_map_number(std::string_view text) {
  T value{};
  auto [end, ec] =
    std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// The next word of line (up to a space), taken off it.
std::string_view next_word(std::string_view& line) {
  auto space = line.find(' ');
  auto word = line.substr(0, space);
  line.remove_prefix(space == std::string_view::npos ? line.size() : space + 1);
  return word;
}

bool plain_host(std::string_view host) {
  if (host.empty() || host.size() > kMaxSlotMapHost) {
    return false;
  }
  for (unsigned char c : host) {
    if (!std::isgraph(c)) {
      return false;
    }
  }
  return true;
}

std::optional<SlotRange> parse_range(std::string_view line) {
  auto first = slot_map_number<uint16_t>(next_word(line));
  auto last = slot_map_number<uint16_t>(next_word(line));
  auto port = slot_map_number<int>(next_word(line));
  std::string_view host = line;
  if (!first || !last || !port || *first > *last || *last >= kClusterSlots ||
      *port <= 0 || *port > 65535 || !plain_host(host)) {
    return std::nullopt;
  }
  return SlotRange{ *first, *last, std::string(host), *port };
}

} // namespace

std::filesystem::path slot_map_file(const std::filesystem::path& state_dir,
                                    std::string_view label) {
  auto digest = sha256(label);
  return state_dir / "remotes" /
         ("redis-slots-" + to_hex(std::span(digest).first(16)));
}

std::string encode_slot_map(std::string_view label,
                            std::span<const SlotRange> ranges) {
  std::string text = fmt::format("{} {}\n", kSlotMapFormat, label);
  for (const auto& r : ranges) {
    text += fmt::format("{} {} {} {}\n", r.first, r.last, r.port, r.host);
  }
  return text;
}

std::optional<std::vector<SlotRange>> parse_slot_map(std::string_view text,
                                                     std::string_view label) {
  auto header = fmt::format("{} {}\n", kSlotMapFormat, label);
  if (!text.starts_with(header) || !text.ends_with('\n')) {
    return std::nullopt;
  }
  text.remove_prefix(header.size());
  std::vector<SlotRange> ranges;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto range = parse_range(text.substr(0, end));
    if (!range || ranges.size() == kClusterSlots) {
      return std::nullopt;
    }
    ranges.push_back(std::move(*range));
    text.remove_prefix(end + 1);
  }
  return ranges;
}

std::optional<std::vector<SlotRange>> load_slot_map(
  const std::filesystem::path& file,
  std::string_view label) {
  auto shared =
    util::check_trusted_dir(file.parent_path(), util::Sharing::group);
  if (!shared || !util::check_trusted_file(file, *shared)) {
    return std::nullopt;
  }
  util::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > kMaxSlotMapFile) {
    return std::nullopt;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return std::nullopt; // cut short meanwhile, or unreadable
    }
    got += static_cast<size_t>(n);
  }
  return parse_slot_map(text, label);
}

bool save_slot_map(const std::filesystem::path& file,
                   std::string_view label,
                   std::span<const SlotRange> ranges) {
  auto dir = file.parent_path();
  // In a cache shared by a group, its members read and replace each
  // other's maps, as they do its blobs.
  auto shared = util::group_shared_dir(dir.parent_path())
                  ? util::Shared::with_group
                  : util::Shared::no;
  if (::mkdir(dir.c_str(), shared == util::Shared::with_group ? 02770 : 0700) ==
      0) {
    util::share_with_group(dir, shared, 02770);
  } else if (errno != EEXIST) {
    return false;
  }
  mode_t mode = shared == util::Shared::with_group ? 0640 : 0600;
  if (!util::write_file_atomic(file, encode_slot_map(label, ranges), mode)) {
    return false;
  }
  util::share_with_group(file, shared, mode);
  return true;
}

void forget_slot_map(const std::filesystem::path& file) {
  ::unlink(file.c_str());
}

} // namespace ipfsacc::remote::redis
