#pragma once

// The slot map of a Redis Cluster, kept in the cache directory between
// processes: a process that finds it sends each key straight to its node,
// where one without it would meet a MOVED, ask CLUSTER SLOTS and connect
// again. The file is a hint: one that is missing, corrupt, stale or not
// trusted costs what it saves (a redirection), never an answer.

#include "remote/redis_cluster.hpp"

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::remote::redis {

// The file under state_dir (the cache directory) that keeps the slot map of
// the cluster the URL labelled label (Spec::label(): no credentials) names:
// `remotes/redis-slots-<hash of the label>`.
std::filesystem::path slot_map_file(const std::filesystem::path& state_dir,
                                    std::string_view label);

// The file's text: a first line naming the format and the label, then one
// line per range of slots, "FIRST LAST PORT HOST".
std::string encode_slot_map(std::string_view label,
                            std::span<const SlotRange> ranges);

// The ranges of a file's text written for label; nullopt when the text is
// not one encode_slot_map wrote for that label (every host given, every
// range within the 16384 slots).
std::optional<std::vector<SlotRange>> parse_slot_map(std::string_view text,
                                                     std::string_view label);

// The ranges the file holds for label; nullopt when it is missing, larger
// than any slot map, unreadable, in a directory or of an owner the cache's
// rules do not trust (util/trusted_dir), or does not parse.
std::optional<std::vector<SlotRange>> load_slot_map(
  const std::filesystem::path& file,
  std::string_view label);

// Writes the file atomically, creating its directory, with the modes of
// the cache directory (its group's when it is shared by one). Returns
// whether it was written; a failure changes nothing but the next process's
// first redirection.
bool save_slot_map(const std::filesystem::path& file,
                   std::string_view label,
                   std::span<const SlotRange> ranges);

// Removes the file (a map naming a node that no longer answers).
void forget_slot_map(const std::filesystem::path& file);

} // namespace ipfsacc::remote::redis
