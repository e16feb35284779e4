#include "core/request.hpp"

#include "core/context.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc {

using json = nlohmann::json;

namespace {

constexpr int kSchemaVersion = 1;

json text(std::string_view s) {
  if (util::valid_utf8(s)) {
    return std::string(s);
  }
  return json{
    { "hex",
      to_hex(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size())) }
  };
}

json env_value(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value ? text(value) : json(nullptr);
}

// The terminal device behind a descriptor: TIOCGDEV sees through /dev/tty
// and /dev/console to the terminal they stand for; st_rdev where the kernel
// does not answer it.
std::optional<dev_t> terminal_device(int fd) {
  unsigned int device = 0;
  if (::ioctl(fd, TIOCGDEV, &device) == 0) {
    return static_cast<dev_t>(device);
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode)) {
    return st.st_rdev;
  }
  return std::nullopt;
}

// Whether two terminal descriptors write to one screen, whatever file
// description each has (`2>/dev/tty` is the same terminal as stdout).
bool same_terminal(int a, int b) {
  auto da = terminal_device(a);
  auto db = terminal_device(b);
  return da && db && *da == *db;
}

} // namespace

bool context_applies(const Rule& rule, std::span<const std::string> args) {
  for (const auto& flag : rule.context_unless) {
    if (has_flag(args, flag)) {
      return false;
    }
  }
  if (!rule.context_when.empty()) {
    return std::any_of(args.begin(), args.end(), [&](const auto& arg) {
      return rule.context_when.search(arg);
    });
  }
  return true;
}

TerminalMode current_terminal() {
  TerminalMode mode;
  mode.stdout_tty = ::isatty(STDOUT_FILENO) == 1;
  mode.stderr_tty = ::isatty(STDERR_FILENO) == 1;
  if (mode.stdout_tty || mode.stderr_tty) {
    winsize ws{};
    if (::ioctl(mode.stdout_tty ? STDOUT_FILENO : STDERR_FILENO,
                TIOCGWINSZ,
                &ws) == 0) {
      mode.columns = ws.ws_col;
    }
    mode.merged = mode.stdout_tty && mode.stderr_tty &&
                  same_terminal(STDOUT_FILENO, STDERR_FILENO);
  } else {
    // Only where the order is kept: a pipe, a file or a socket, not
    // /dev/null (`>/dev/null 2>&1` warms the cache for the usual call).
    struct stat st;
    mode.merged =
      ::fstat(STDOUT_FILENO, &st) == 0 &&
      (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)) &&
      util::same_open_file(STDOUT_FILENO, STDERR_FILENO);
  }
  return mode;
}

std::string request_document(const Request& r) {
  json doc = json::object();
  doc["v"] = kSchemaVersion;
  doc["tool"] = r.tool;
  if (!r.binary.empty()) {
    doc["binary"] = text(r.binary);
  }
  json argv = json::array();
  for (const auto& arg : r.argv) {
    argv.push_back(text(arg));
  }
  doc["argv"] = std::move(argv);
  if (!r.account.empty()) {
    doc["account"] = text(r.account);
  }
  if (r.stdin_digest) {
    doc["stdin"] = cid_string(*r.stdin_digest);
  }
  if (r.terminal.stdout_tty || r.terminal.stderr_tty) {
    doc["tty"] = { { "stdout", r.terminal.stdout_tty },
                   { "stderr", r.terminal.stderr_tty },
                   { "columns", r.terminal.columns } };
  }
  if (r.terminal.merged) {
    doc["merged"] = true;
  }
  if (!r.version.empty()) {
    doc["version"] = text(r.version);
  }
  if (r.program) {
    doc["program"] = { { "path", text(r.program->path) },
                       { "what", r.program->what } };
  }
  // A variable's name is an object key, which must be UTF-8; the rare name
  // that is not (`ipfsacc run --key-env`) goes, as hex, into an object of
  // its own.
  json env = json::object();
  json env_hex = json::object();
  auto add_env = [&](const std::vector<std::string>& names) {
    for (const auto& name : names) {
      if (util::valid_utf8(name)) {
        env[name] = env_value(name);
      } else {
        env_hex[to_hex(std::span(reinterpret_cast<const uint8_t*>(name.data()),
                                 name.size()))] = env_value(name);
      }
    }
  };
  if (r.policy) {
    add_env(r.policy->key_env);
  }
  if (r.rule) {
    add_env(r.rule->key_env);
  }
  if (!env.empty()) {
    doc["env"] = std::move(env);
  }
  if (!env_hex.empty()) {
    doc["env_hex"] = std::move(env_hex);
  }
  // Settings files change answers without showing in argv or environment.
  json files = json::object();
  std::optional<std::filesystem::path> base;
  auto add_files = [&](const std::vector<std::string>& paths) {
    for (const auto& spec : paths) {
      auto expanded = util::expand_path(spec);
      if (expanded.empty()) {
        continue;
      }
      std::filesystem::path path(expanded);
      if (path.is_relative()) {
        if (!base) {
          auto cwd = current_dir();
          base = find_repo_root(cwd).value_or(std::filesystem::path(cwd));
        }
        path = *base / path;
      }
      auto contents = util::read_file(path);
      files[spec] =
        contents ? json(cid_string(sha256(*contents))) : json(nullptr);
    }
  };
  if (r.policy) {
    add_files(r.policy->key_files);
  }
  if (r.rule) {
    add_files(r.rule->key_files);
  }
  if (!files.empty()) {
    doc["files"] = std::move(files);
  }
  if (r.rule && !r.rule->context.empty() && context_applies(*r.rule, r.argv)) {
    json context = json::object();
    std::string cwd = current_dir();
    for (const auto& c : r.rule->context) {
      if (c == "cwd") {
        context["cwd"] = text(cwd);
      } else if (c == "git_remote") {
        json remotes = json::array();
        if (auto git_dir = find_git_dir(cwd)) {
          for (const auto& remote : git_remotes(*git_dir)) {
            remotes.push_back(text(remote));
          }
        }
        context["git_remote"] = std::move(remotes);
      } else if (c == "git_state") {
        context["git_state"] = git_state(cwd);
      }
    }
    doc["context"] = std::move(context);
  }
  // nlohmann's object is a std::map: keys come out sorted, and dump() with no
  // indent adds no whitespace.
  return doc.dump();
}

std::optional<std::string> account_token(
  const ToolPolicy& policy,
  std::span<const std::string> injected) {
  for (const auto& source : policy.account) {
    if (!source.env.empty()) {
      for (const auto& entry : injected) {
        if (entry.size() > source.env.size() + 1 &&
            entry.starts_with(source.env) && entry[source.env.size()] == '=') {
          return entry;
        }
      }
      const char* value = std::getenv(source.env.c_str());
      if (value && *value) {
        return std::string(source.env) + "=" + value;
      }
      continue;
    }
    auto path = util::expand_path(source.file);
    if (path.empty()) {
      continue;
    }
    auto contents = util::read_file(path);
    if (!contents) {
      continue;
    }
    if (source.regex.empty()) {
      return "file=" + *contents;
    }
    if (auto captured = source.regex.capture(*contents)) {
      return "file=" + *captured;
    }
  }
  return std::nullopt;
}

std::string account_hash(std::string_view token,
                         std::span<const uint8_t> namespace_key) {
  uint8_t out[32];
  crypto_generichash(out,
                     sizeof(out),
                     reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(),
                     namespace_key.empty() ? nullptr : namespace_key.data(),
                     namespace_key.size());
  return "h:" + to_hex(out);
}

std::vector<std::string> call_scopes(const ToolPolicy& policy,
                                     std::span<const std::string> args) {
  std::vector<std::string> scopes;
  for (const auto& source : policy.scope) {
    for (const auto& flag : source.flags) {
      if (auto v = flag_value(args, flag); v && !v->empty()) {
        scopes.push_back(util::lower(*v));
      }
    }
    if (!source.env.empty()) {
      if (const char* v = std::getenv(source.env.c_str()); v && *v) {
        scopes.push_back(util::lower(v));
      }
    }
    if (!source.arg_regex.empty()) {
      for (const auto& arg : args) {
        if (auto c = source.arg_regex.capture(arg)) {
          scopes.push_back(util::lower(*c));
          break;
        }
      }
    }
    if (source.git_remote) {
      if (auto git_dir = find_git_dir(current_dir())) {
        for (const auto& remote : git_remotes(*git_dir)) {
          if (auto slug = repo_slug(remote); !slug.empty()) {
            scopes.push_back(slug);
          }
        }
      }
    }
    if (!scopes.empty()) {
      break; // The first source that names a scope decides.
    }
  }
  std::sort(scopes.begin(), scopes.end());
  scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
  return scopes;
}

} // namespace ipfsacc
