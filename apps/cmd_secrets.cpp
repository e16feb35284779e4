// ipfsacc secrets: API keys kept encrypted, and given to the wrapped tools in
// the environment variables their rule files name.

#include "commands.hpp"
#include "core/policy.hpp"
#include "entries.hpp"
#include "secrets/prompt.hpp"
#include "secrets/signing.hpp"
#include "secrets/store.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"

#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <map>
#include <set>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc::app {

namespace {

using secrets::Location;

struct SecretsOptions {
  std::string name;
  std::string from_env;
  std::string to;
  std::string file;
  bool passphrase = false;
  bool force = false;
};

int fail(std::string_view message, int code = kExitError) {
  fmt::print(stderr, "ipfsacc: error: {}\n", message);
  return code;
}

// The store's passphrase, when it has one: IPFSACC_PASSPHRASE, else asked on
// the terminal.
secrets::PassphraseSource store_passphrase() {
  return secrets::passphrase_from_env(
    secrets::prompt_passphrase("the secrets store"));
}

// An export file's passphrase, likewise.
std::expected<secrets::SecureBuffer, std::string> export_passphrase(
  secrets::PassphrasePurpose purpose) {
  return secrets::passphrase_from_env(
    secrets::prompt_passphrase("the export file"))(purpose);
}

// Says so when a write created the store, and how its key is kept: a store
// created while IPFSACC_PASSPHRASE is set is protected by that passphrase.
void note_created(const Location& location, bool existed) {
  if (existed || !secrets::exists(location)) {
    return;
  }
  auto mode = secrets::key_mode(location);
  fmt::print(stderr,
             "ipfsacc: created {} ({})\n",
             location.file().string(),
             mode && *mode == secrets::KeyMode::passphrase
               ? "its key is derived from IPFSACC_PASSPHRASE; no key file"
               : fmt::format("its key is {}", location.key_file().string()));
}

int refuse_value_argument(std::string_view name) {
  // The value itself is never repeated: this message may be logged.
  fmt::print(stderr,
             "ipfsacc: error: a secret's value is never taken from the "
             "command line: other users see it in `ps`, and your shell keeps "
             "it in its history.\n"
             "  type it at the (silent) prompt:  ipfsacc secrets set {0}\n"
             "  or pipe it in:                   … | ipfsacc secrets set {0}\n"
             "  or copy a variable:              ipfsacc secrets set {0} "
             "--from-env VAR\n",
             name.find('=') == std::string_view::npos ? name : "NAME");
  return kExitUsage;
}

int run_set(const SecretsOptions& o, const std::vector<std::string>& extra) {
  if (!extra.empty() || o.name.find('=') != std::string::npos) {
    return refuse_value_argument(o.name);
  }
  if (auto ok = secrets::check_name(o.name); !ok) {
    return fail(ok.error(), kExitUsage);
  }
  std::expected<secrets::SecureBuffer, std::string> value;
  if (!o.from_env.empty()) {
    const char* v = std::getenv(o.from_env.c_str());
    if (!v || !*v) {
      return fail(fmt::format("{} is not set (--from-env)", o.from_env));
    }
    value = secrets::SecureBuffer::copy_of(v);
  } else if (::isatty(STDIN_FILENO) == 1) {
    value = secrets::prompt_hidden(fmt::format("Value of {}: ", o.name));
  } else {
    value = secrets::read_secret(STDIN_FILENO, secrets::kMaxValueSize);
  }
  if (!value) {
    return fail(value.error());
  }
  if (value->empty()) {
    return fail(
      fmt::format("the value of {} is empty; nothing stored", o.name));
  }
  auto location = Location::from_environment();
  bool existed = secrets::exists(location);
  auto done = secrets::update(
    location,
    store_passphrase(),
    [&](secrets::Secrets& s) {
      return s.set(o.name, value->view(), util::now_ms());
    },
    secrets::default_key_mode());
  if (!done) {
    return fail(done.error());
  }
  note_created(location, existed);
  auto stored = secrets::canonical_name(o.name);
  fmt::print(stderr,
             "ipfsacc: stored {}{} in {}\n",
             stored,
             stored == o.name ? "" : fmt::format(" (as {})", o.name),
             location.file().string());
  return 0;
}

int run_get(const SecretsOptions& o) {
  if (auto ok = secrets::check_name(o.name); !ok) {
    return fail(ok.error(), kExitUsage);
  }
  auto location = Location::from_environment();
  if (!secrets::exists(location)) {
    return fail(fmt::format("no secret named {}: there is no secrets store "
                            "({}); add one with: ipfsacc secrets set {}",
                            o.name,
                            location.file().string(),
                            o.name));
  }
  auto stored = secrets::load(location, store_passphrase());
  if (!stored) {
    return fail(stored.error());
  }
  auto value = stored->get(o.name);
  if (!value) {
    return fail(
      fmt::format("no secret named {} (add it with: ipfsacc secrets set {})",
                  o.name,
                  o.name));
  }
  if (!util::write_all(STDOUT_FILENO, value->data(), value->size()) ||
      !util::write_all(STDOUT_FILENO, "\n", 1)) {
    return fail("cannot write to stdout");
  }
  return 0;
}

std::string format_time(int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S %Z", &tm);
  return text;
}

int run_list() {
  // The variables that take each secret's place for the wrapped tools: the
  // one it is injected into, and the tool's other credential variables (any
  // of them set, the store is not used), from every rule file.
  std::map<std::string, std::set<std::string>> variables;
  for (const auto& binary : known_binaries()) {
    auto policy = find_policy(binary);
    if (!policy || !*policy) {
      continue;
    }
    for (const auto& mapping : (*policy)->secrets) {
      auto& vars =
        variables[std::string(secrets::canonical_name(mapping.name))];
      vars.insert(mapping.env);
      for (const auto& source : (*policy)->account) {
        if (!source.env.empty()) {
          vars.insert(source.env);
        }
      }
    }
  }
  std::map<std::string, int64_t> in_store;
  auto location = Location::from_environment();
  if (secrets::exists(location)) {
    auto stored = secrets::load(location, store_passphrase());
    if (!stored) {
      return fail(stored.error());
    }
    for (const auto& info : stored->list()) {
      in_store[info.name] = info.set_ms;
    }
  }
  struct Row {
    std::string source;
    std::string set;
  };
  std::map<std::string, Row> rows;
  for (const auto& [name, vars] : variables) {
    std::vector<std::string> set_vars;
    for (const auto& var : vars) {
      if (const char* v = std::getenv(var.c_str()); v && *v) {
        set_vars.push_back(var);
      }
    }
    if (!set_vars.empty()) {
      // The user's variable wins over the store for the wrapped tools.
      rows[name].source =
        fmt::format("environment ({})", fmt::join(set_vars, ", "));
    }
  }
  for (const auto& [name, set_ms] : in_store) {
    auto& row = rows[name];
    row.source = row.source.empty() ? "store" : row.source + ", store";
    row.set = format_time(set_ms);
  }
  if (rows.empty()) {
    fmt::print("No secrets. Add one with: ipfsacc secrets set NAME\n");
    return 0;
  }
  size_t width = 4;
  size_t source_width = 6;
  for (const auto& [name, row] : rows) {
    width = std::max(width, name.size());
    source_width = std::max(source_width, row.source.size());
  }
  fmt::print(
    "{:<{}}  {:<{}}  {}\n", "NAME", width, "SOURCE", source_width, "SET");
  for (const auto& [name, row] : rows) {
    fmt::print("{:<{}}  {:<{}}  {}\n",
               name,
               width,
               row.source,
               source_width,
               row.set.empty() ? "-" : row.set);
  }
  return 0;
}

int run_rm(const SecretsOptions& o) {
  if (auto ok = secrets::check_name(o.name); !ok) {
    return fail(ok.error(), kExitUsage);
  }
  auto location = Location::from_environment();
  auto missing = fmt::format("no secret named {}", o.name);
  if (!secrets::exists(location)) {
    return fail(missing);
  }
  auto done = secrets::update(
    location,
    store_passphrase(),
    [&](secrets::Secrets& s) -> std::expected<void, std::string> {
      if (!s.remove(o.name)) {
        return std::unexpected(missing);
      }
      return {};
    },
    secrets::default_key_mode());
  if (!done) {
    return fail(done.error());
  }
  fmt::print(stderr, "ipfsacc: removed {}\n", secrets::canonical_name(o.name));
  return 0;
}

int run_rotate_key() {
  auto location = Location::from_environment();
  auto done = secrets::rotate_key(location, store_passphrase());
  if (!done) {
    return fail(done.error());
  }
  fmt::print(stderr,
             "ipfsacc: re-encrypted {} under a new key\n",
             location.file().string());
  return 0;
}

int run_export(const SecretsOptions& o) {
  auto location = Location::from_environment();
  if (!secrets::exists(location)) {
    return fail(fmt::format("there is no secrets store to export ({})",
                            location.file().string()));
  }
  struct stat st;
  if (!o.force && ::stat(o.to.c_str(), &st) == 0) {
    return fail(fmt::format("{} exists (--force replaces it)", o.to));
  }
  auto stored = secrets::load(location, store_passphrase());
  if (!stored) {
    return fail(stored.error());
  }
  auto pass = export_passphrase(secrets::PassphrasePurpose::choose);
  if (!pass) {
    return fail(pass.error());
  }
  auto sealed = secrets::seal_export(*stored, pass->view());
  if (!sealed) {
    return fail(sealed.error());
  }
  if (auto written = util::write_file_atomic(o.to, *sealed, 0600); !written) {
    return fail(written.error());
  }
  fmt::print(stderr,
             "ipfsacc: exported {} secret{} to {} (encrypted with the "
             "passphrase; import with: ipfsacc secrets import FILE)\n",
             stored->size(),
             stored->size() == 1 ? "" : "s",
             o.to);
  return 0;
}

int run_import(const SecretsOptions& o) {
  auto data = util::read_file(o.file);
  if (!data) {
    return fail(data.error());
  }
  auto pass = export_passphrase(secrets::PassphrasePurpose::unlock);
  if (!pass) {
    return fail(pass.error());
  }
  auto imported = secrets::open_export(*data, pass->view());
  if (!imported) {
    return fail(fmt::format("{}: {}", o.file, imported.error()));
  }
  auto location = Location::from_environment();
  bool existed = secrets::exists(location);
  std::vector<std::string> names;
  auto done = secrets::update(
    location,
    store_passphrase(),
    [&](secrets::Secrets& s) -> std::expected<void, std::string> {
      for (const auto& info : imported->list()) {
        if (auto set = s.set(info.name, *imported->get(info.name), info.set_ms);
            !set) {
          return set;
        }
        names.push_back(info.name);
      }
      return {};
    },
    secrets::default_key_mode());
  if (!done) {
    return fail(done.error());
  }
  note_created(location, existed);
  fmt::print(stderr,
             "ipfsacc: imported {} secret{}{}{} into {}\n",
             names.size(),
             names.size() == 1 ? "" : "s",
             names.empty() ? "" : ": ",
             fmt::join(names, ", "),
             location.file().string());
  return 0;
}

int run_init(const SecretsOptions& o) {
  auto location = Location::from_environment();
  auto mode =
    o.passphrase ? secrets::KeyMode::passphrase : secrets::default_key_mode();
  auto done = secrets::create(location, mode, store_passphrase());
  if (!done) {
    return fail(done.error());
  }
  fmt::print(stderr,
             "ipfsacc: created {} ({})\n",
             location.file().string(),
             mode == secrets::KeyMode::passphrase
               ? "its key is derived from the passphrase; no key file"
               : fmt::format("its key is {}", location.key_file().string()));
  return 0;
}

// The public key of the signing key of what this machine stores on remotes
// (remote_trusted_keys), on stdout; the key is made and stored first when
// there is none.
int run_signing_key() {
  auto location = Location::from_environment();
  bool existed = secrets::exists(location);
  std::optional<secrets::SigningKey> key;
  bool made = false;
  auto done = secrets::update(
    location,
    store_passphrase(),
    [&](secrets::Secrets& s) -> std::expected<void, std::string> {
      if (auto seed = s.get(secrets::kSigningKeySecret)) {
        key = secrets::SigningKey::from_hex_seed(*seed);
        if (!key) {
          return std::unexpected(
            fmt::format("the secret {} is not a signing key (64 hex digits); "
                        "remove it with: ipfsacc secrets rm {}",
                        secrets::kSigningKeySecret,
                        secrets::kSigningKeySecret));
        }
        return {};
      }
      auto seed = secrets::SigningKey::new_hex_seed();
      key = secrets::SigningKey::from_hex_seed(seed);
      auto stored = s.set(secrets::kSigningKeySecret, seed, util::now_ms());
      sodium_memzero(seed.data(), seed.size());
      made = true;
      return stored;
    },
    secrets::default_key_mode());
  if (!done) {
    return fail(done.error());
  }
  note_created(location, existed);
  fmt::print("{}\n", to_hex(key->public_key()));
  fmt::print(stderr,
             "ipfsacc: {} the signing key {} in {}: entries this machine "
             "stores on remotes are signed with it. Machines that should "
             "serve only such entries:\n  ipfsacc config set "
             "remote_trusted_keys {}\n",
             made ? "made" : "using",
             secrets::kSigningKeySecret,
             location.file().string(),
             to_hex(key->public_key()));
  return 0;
}

} // namespace

Command setup_secrets(CLI::App& app) {
  auto o = std::make_shared<SecretsOptions>();
  auto* cmd = app.add_subcommand(
    "secrets",
    "keep API keys encrypted; wrapped tools get them in their environment");
  cmd->require_subcommand(1);
  auto name = [&](CLI::App* sub) {
    sub->add_option("name", o->name, "the secret's name ([a-z0-9_]+)")
      ->required();
  };
  auto* set = cmd->add_subcommand(
    "set", "store a secret, typed at a silent prompt or piped in");
  name(set);
  set->add_option("--from-env", o->from_env, "copy this variable's value");
  // A value given as an argument is refused with the reason, not as a usage
  // error of CLI11's.
  set->allow_extras();
  auto* get = cmd->add_subcommand("get", "print a secret's value");
  name(get);
  auto* list = cmd->add_subcommand(
    "list", "names, where each comes from and when it was set (no values)");
  auto* rm = cmd->add_subcommand("rm", "remove a secret");
  name(rm);
  auto* path = cmd->add_subcommand("path", "print where the store is");
  auto* rotate =
    cmd->add_subcommand("rotate-key", "re-encrypt everything under a new key");
  auto* exp = cmd->add_subcommand(
    "export", "write every secret to a passphrase-encrypted file");
  exp->add_option("--to", o->to, "the file")->required();
  exp->add_flag("--force", o->force, "replace the file if it exists");
  auto* imp =
    cmd->add_subcommand("import", "add the secrets of an exported file");
  imp->add_option("file", o->file, "the exported file")->required();
  auto* signing = cmd->add_subcommand(
    "signing-key",
    "print the public key that signs this machine's remote entries (made "
    "first if there is none)");
  auto* init = cmd->add_subcommand("init", "create an empty store");
  init->add_flag("--passphrase",
                 o->passphrase,
                 "derive the key from a passphrase (Argon2id) instead of "
                 "keeping a key file");

  return { cmd, [=](const Config&) {
            // A core dump of this process would hold secrets.
            rlimit no_core{ 0, 0 };
            ::setrlimit(RLIMIT_CORE, &no_core);
            if (set->parsed()) {
              return run_set(*o, set->remaining());
            }
            if (get->parsed()) {
              return run_get(*o);
            }
            if (list->parsed()) {
              return run_list();
            }
            if (rm->parsed()) {
              return run_rm(*o);
            }
            if (path->parsed()) {
              fmt::print("{}\n", Location::from_environment().file().string());
              return 0;
            }
            if (rotate->parsed()) {
              return run_rotate_key();
            }
            if (exp->parsed()) {
              return run_export(*o);
            }
            if (imp->parsed()) {
              return run_import(*o);
            }
            if (init->parsed()) {
              return run_init(*o);
            }
            if (signing->parsed()) {
              return run_signing_key();
            }
            return kExitUsage;
          } };
}

} // namespace ipfsacc::app
