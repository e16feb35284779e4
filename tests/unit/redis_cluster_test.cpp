#include "remote/redis_cluster.hpp"
#include "remote/redis_slot_file.hpp"
#include "test_support.hpp"

#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

using ipfsacc::remote::redis::key_slot;
using ipfsacc::remote::redis::parse_cluster_slots;
using ipfsacc::remote::redis::parse_redirect;

TEST_CASE("redis cluster: key slots are CLUSTER KEYSLOT's") {
  // What `redis-cli CLUSTER KEYSLOT KEY` answered (Redis 7.0.15), hash tags
  // and the key names ipfsacc writes included.
  const std::vector<std::pair<std::string, int>> slots = {
    { "", 0 },
    { "123456789", 12739 },
    { "foo", 12182 },
    { "bar", 5061 },
    { "hello", 866 },
    { "{user1000}.following", 3443 },
    { "{user1000}.followers", 3443 },
    { "foo{}{bar}", 8363 },
    { "foo{{bar}}zap", 4015 },
    { "foo{bar}{zap}", 5061 },
    { "ipfsacc:entry:"
      "bafkreihzkg3luf5rmtcngwv7be6cb5cqunqnivhfjj2hpxnu3hy3nb2udy",
      7912 },
    { "ipfsacc:blob:"
      "bafkreic6snzkrnk5jtdxz2ie4qspjsci6pnshmsewxammpj4sbyvdnt7na",
      10200 },
    { "ipfsacc:probe:0011223344556677", 6307 },
    { "{}", 15257 },
    { "a{b", 13340 },
    { "a}b{c}", 7365 },
  };
  for (const auto& [key, slot] : slots) {
    CAPTURE(key);
    CHECK(key_slot(key) == slot);
  }
}

TEST_CASE("redis cluster: MOVED and ASK are read, other errors are not") {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(moved);
  CHECK_FALSE(moved->ask);
  CHECK(moved->slot == 3999);
  CHECK(moved->host == "127.0.0.1");
  CHECK(moved->port == 6381);

  auto ask = parse_redirect("ASK 16383 [::1]:7000");
  REQUIRE(ask);
  CHECK(ask->ask);
  CHECK(ask->slot == 16383);
  CHECK(ask->host == "[::1]");
  CHECK(ask->port == 7000);

  auto no_host = parse_redirect("MOVED 1 :7001");
  REQUIRE(no_host);
  CHECK(no_host->host.empty());

  for (const char* other : { "ERR unknown command",
                             "MOVED",
                             "MOVED 16384 127.0.0.1:1",
                             "MOVED x 127.0.0.1:1",
                             "ASK 1 127.0.0.1",
                             "ASK 1 127.0.0.1:0",
                             "MOVED 1 127.0.0.1:65536",
                             "CLUSTERDOWN The cluster is down" }) {
    CAPTURE(other);
    CHECK_FALSE(parse_redirect(other));
  }
}

namespace {

redisReply* int_reply(long long value) {
  auto* r = static_cast<redisReply*>(calloc(1, sizeof(redisReply)));
  r->type = REDIS_REPLY_INTEGER;
  r->integer = value;
  return r;
}

redisReply* text_reply(const char* text) {
  auto* r = static_cast<redisReply*>(calloc(1, sizeof(redisReply)));
  r->type = REDIS_REPLY_STRING;
  r->len = strlen(text);
  r->str = strdup(text);
  return r;
}

redisReply* array_reply(std::vector<redisReply*> items) {
  auto* r = static_cast<redisReply*>(calloc(1, sizeof(redisReply)));
  r->type = REDIS_REPLY_ARRAY;
  r->elements = items.size();
  r->element =
    static_cast<redisReply**>(calloc(items.size() + 1, sizeof(redisReply*)));
  for (size_t i = 0; i < items.size(); ++i) {
    r->element[i] = items[i];
  }
  return r;
}

} // namespace

TEST_CASE("redis cluster: CLUSTER SLOTS gives each range's master") {
  redisReply* reply = array_reply({
    array_reply(
      { int_reply(0),
        int_reply(5460),
        array_reply(
          { text_reply("127.0.0.1"), int_reply(7000), text_reply("id0") }),
        array_reply(
          { text_reply("127.0.0.1"), int_reply(7003), text_reply("id3") }) }),
    array_reply(
      { int_reply(5461),
        int_reply(16383),
        array_reply({ text_reply(""), int_reply(7001), text_reply("id1") }) }),
  });
  auto ranges = parse_cluster_slots(*reply);
  REQUIRE(ranges);
  REQUIRE(ranges->size() == 2);
  CHECK((*ranges)[0].first == 0);
  CHECK((*ranges)[0].last == 5460);
  CHECK((*ranges)[0].host == "127.0.0.1");
  CHECK((*ranges)[0].port == 7000);
  CHECK((*ranges)[1].first == 5461);
  CHECK((*ranges)[1].last == 16383);
  CHECK((*ranges)[1].host.empty());
  CHECK((*ranges)[1].port == 7001);
  freeReplyObject(reply);

  // Out of range or of another shape: refused, never half read.
  for (redisReply* bad : {
         array_reply(
           { array_reply({ int_reply(0),
                           int_reply(16384),
                           array_reply({ text_reply("h"), int_reply(1) }) }) }),
         array_reply(
           { array_reply({ int_reply(9),
                           int_reply(3),
                           array_reply({ text_reply("h"), int_reply(1) }) }) }),
         array_reply({ array_reply(
           { int_reply(0),
             int_reply(1),
             array_reply({ text_reply("h"), int_reply(70000) }) }) }),
         array_reply({ array_reply({ int_reply(0), int_reply(1) }) }),
         array_reply({ int_reply(3) }),
         text_reply("not an array"),
       }) {
    CHECK_FALSE(parse_cluster_slots(*bad));
    freeReplyObject(bad);
  }
}

TEST_CASE("redis cluster: a kept slot map reads back only as written") {
  using ipfsacc::remote::redis::encode_slot_map;
  using ipfsacc::remote::redis::parse_slot_map;
  using ipfsacc::remote::redis::SlotRange;
  const std::string label = "redis://10.0.0.1:7000";
  std::vector<SlotRange> ranges{ { 0, 5460, "10.0.0.1", 7000 },
                                 { 5461, 10922, "::1", 7001 },
                                 { 10923, 16383, "node-3.example", 7002 } };
  auto text = encode_slot_map(label, ranges);
  auto back = parse_slot_map(text, label);
  REQUIRE(back);
  CHECK(*back == ranges);
  // Kept for another URL: not this one's.
  CHECK_FALSE(parse_slot_map(text, "redis://10.0.0.1:7001"));
  // Cut short, or a range out of bounds, reversed, without a host, with a
  // bad port or a word too many: the whole file is refused.
  CHECK_FALSE(parse_slot_map(text.substr(0, text.size() - 1), label));
  auto header = text.substr(0, text.find('\n') + 1);
  for (const char* bad : { "0 16384 7000 h\n",
                           "9 3 7000 h\n",
                           "0 1 7000\n",
                           "0 1 7000 \n",
                           "0 1 0 h\n",
                           "0 1 70000 h\n",
                           "0 1 7000 h x\n",
                           "-1 1 7000 h\n",
                           "0 1 7000 h\n\n" }) {
    CHECK_FALSE(parse_slot_map(header + bad, label));
  }
  CHECK_FALSE(parse_slot_map("", label));
  CHECK(parse_slot_map(header, label)->empty());
}

TEST_CASE("redis cluster: the slot map file is private and named by the URL") {
  using namespace ipfsacc::remote::redis;
  ipfsacc::test::TempDir dir;
  const std::string label = "redis://127.0.0.1:7000";
  auto file = slot_map_file(dir.path(), label);
  CHECK(file.parent_path() == dir.path() / "remotes");
  CHECK(file != slot_map_file(dir.path(), "redis://127.0.0.1:7001"));
  CHECK_FALSE(load_slot_map(file, label));
  std::vector<SlotRange> ranges{ { 0, 16383, "127.0.0.1", 7000 } };
  REQUIRE(save_slot_map(file, label, ranges));
  struct stat st;
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  auto back = load_slot_map(file, label);
  REQUIRE(back);
  CHECK(*back == ranges);
  // One anybody may change is not trusted.
  ::chmod(file.c_str(), 0666);
  CHECK_FALSE(load_slot_map(file, label));
  forget_slot_map(file);
  CHECK_FALSE(std::filesystem::exists(file));
}
