// ipfsacc config: show the configuration and where each value comes from,
// and edit the config file.

#include "commands.hpp"
#include "core/config_edit.hpp"
#include "entries.hpp"
#include "util/fs.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

namespace ipfsacc::app {

namespace {

struct ConfigOptions {
  CLI::App* list = nullptr;
  CLI::App* get = nullptr;
  CLI::App* set = nullptr;
  CLI::App* unset = nullptr;
  std::string key;
  std::string value;
};

bool known_key(std::string_view key) {
  if ((key.starts_with("ttl.") && key.size() > 4) ||
      (key.starts_with("price.") && key.size() > 6) ||
      (key.starts_with("prefer.") && key.size() > 7)) {
    return true;
  }
  for (const auto& k : config_keys()) {
    if (k.name == key) {
      return true;
    }
  }
  return false;
}

// The message for an unknown key, with a suggestion.
std::string unknown_key(std::string_view key) {
  auto checked = Config::validate(key, "");
  return checked ? fmt::format("unknown config key '{}'", key)
                 : checked.error();
}

std::string_view env_of(std::string_view key) {
  for (const auto& k : config_keys()) {
    if (k.name == key) {
      return k.env;
    }
  }
  return {};
}

int list(const Config& config) {
  auto values = config.values();
  size_t width = 0;
  size_t value_width = 0;
  for (const auto& [key, value] : values) {
    width = std::max(width, key.size());
    value_width = std::max(value_width, value.size());
  }
  value_width = std::min<size_t>(value_width, 40);
  for (const auto& [key, value] : values) {
    auto origin = config.origin(key);
    std::string where(origin_name(origin));
    if (origin == Origin::environment) {
      where += fmt::format(" ({})", env_of(key));
    }
    fmt::print("{:<{}}  {:<{}}  {}\n",
               key,
               width,
               value.empty() ? "-" : value,
               value_width,
               where);
  }
  return kExitOk;
}

int edit(const std::string& key, std::optional<std::string> value) {
  auto path = Config::config_file();
  std::string text;
  mode_t mode = 0600;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    auto read = util::read_file(path);
    if (!read) {
      return error(read.error());
    }
    text = std::move(*read);
    mode = st.st_mode & 07777;
  }
  bool changed = false;
  auto edited = edit_config_text(text, key, value, &changed);
  if (!value && !changed) {
    if (!known_key(key)) {
      return usage_error(unknown_key(key));
    }
    fmt::print(stderr, "ipfsacc: {} is not set in {}\n", key, path.string());
    return kExitOk;
  }
  if (auto made = util::make_dirs(path.parent_path(), 0700); !made) {
    return error(made.error());
  }
  if (auto written = util::write_file_atomic(path, edited, mode); !written) {
    return error(written.error());
  }
  if (auto env = env_of(key); !env.empty() && std::getenv(env.data())) {
    fmt::print(stderr,
               "ipfsacc: note: {} is set in the environment and takes "
               "precedence over the config file\n",
               env);
  }
  return kExitOk;
}

} // namespace

Command setup_config(CLI::App& app) {
  auto o = std::make_shared<ConfigOptions>();
  // The help names the file generically: completions are generated from
  // the help and must not depend on the machine they were made on.
  auto* cmd = app.add_subcommand(
    "config", "show or change settings (~/.config/ipfsacc/ipfsacc.conf)");
  cmd->require_subcommand(1);
  o->list = cmd->add_subcommand(
    "list", "every setting, its value and where it comes from");
  o->get = cmd->add_subcommand("get", "print one setting's value");
  o->get->add_option("KEY", o->key, "the setting (e.g. max_size, ttl.gh)")
    ->required();
  o->set = cmd->add_subcommand("set", "set a value in the config file");
  o->set->add_option("KEY", o->key, "the setting (e.g. max_size, ttl.gh)")
    ->required();
  o->set->add_option("VALUE", o->value, "its value (e.g. 2G, 10m, true)")
    ->required();
  o->unset = cmd->add_subcommand("unset", "remove a key from the config file");
  o->unset->add_option("KEY", o->key, "the setting")->required();
  std::string keys;
  for (const auto& k : config_keys()) {
    keys += fmt::format("  {:<12} {}\n", k.name, k.description);
  }
  cmd->footer(fmt::format(
    "Settings:\n{}  {:<12} {}\n  {:<12} {}\n  {:<12} {}\n\nPriority: "
    "command line > "
    "IPFSACC_* environment > config file > default.",
    keys,
    "ttl.TOOL",
    "TTL of a tool's answers (ttl.gh = 10m, ttl.gh/pr-list = 1m)",
    "prefer.TOOL",
    "cli or sdk for one tool (prefer.hf = sdk)",
    "price.MODEL",
    "dollars per million input/output tokens, for the cost saved in stats "
    "(price.claude-sonnet-4* = 3/15)"));
  Command command{ cmd, [o](const Config& config) {
                    for (const auto& warning : config.warnings()) {
                      fmt::print(stderr, "ipfsacc: warning: {}\n", warning);
                    }
                    if (o->list->parsed()) {
                      return list(config);
                    }
                    if (o->get->parsed()) {
                      if (!known_key(o->key)) {
                        return usage_error(unknown_key(o->key));
                      }
                      auto values = config.values();
                      auto it = values.find(o->key);
                      if (it == values.end()) {
                        fmt::print(stderr, "ipfsacc: {} is not set\n", o->key);
                        return kExitError;
                      }
                      fmt::print("{}\n", it->second);
                      return kExitOk;
                    }
                    if (o->set->parsed()) {
                      if (o->value.find('\n') != std::string::npos) {
                        return usage_error("config set: a value is one line");
                      }
                      if (auto ok = Config::validate(o->key, o->value); !ok) {
                        return usage_error(ok.error());
                      }
                      return edit(o->key, o->value);
                    }
                    return edit(o->key, std::nullopt);
                  } };
  command.strictness = Strictness::warn;
  return command;
}

} // namespace ipfsacc::app
