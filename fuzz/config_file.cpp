// Fuzz target: the config file (ipfsacc.conf, core/config): its lines read
// as Config::load reads them, each value checked by Config::validate (the
// `remote` setting's URLs, remote_trusted_keys, sizes, durations, prices)
// and, when valid, read back through the accessors a call uses. The same
// text is edited as `ipfsacc config set`/`unset` do (core/config_edit), and
// the edited text must read again.
#include "core/config.hpp"
#include "core/config_edit.hpp"
#include "fuzz.hpp"

using namespace ipfsacc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = fuzz::text(data, size);
  auto lines = parse_config_text(text, "ipfsacc.conf");
  if (lines) {
    Config config;
    for (const auto& line : *lines) {
      if (config.set(line.key, line.value, Origin::config_file)) {
        config.get(line.key);
      }
    }
    config.max_size();
    config.max_answer_size();
    config.default_ttl();
    config.ttl_override();
    config.tool_ttl("gh", "pr-list");
    config.stale_while_revalidate();
    config.price("claude-haiku-4-5");
    config.prefer("gh");
    config.http_timeout();
    config.http_connect_timeout();
    config.disabled();
    config.stats_enabled();
    config.encrypt_cache();
    config.excluded();
    config.values();
    // The edits of `config set` and `config unset` keep a text that reads.
    auto set = edit_config_text(text, "default_ttl", "1h");
    fuzz::check(parse_config_text(set, "ipfsacc.conf").has_value(),
                "a config file that reads, with a key set, reads");
    auto unset = edit_config_text(text, "max_size", std::nullopt);
    fuzz::check(parse_config_text(unset, "ipfsacc.conf").has_value(),
                "a config file that reads, with a key unset, reads");
  }
  return 0;
}
