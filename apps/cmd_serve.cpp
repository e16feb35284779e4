// ipfsacc serve: a caching HTTP proxy in front of the LLM, Hugging Face and
// GitHub APIs, answering from the same cache as the wrapped tools.
//   ipfsacc serve [--listen 127.0.0.1:8100] [--upstream NAME=URL]...
//                 [--upstream-timeout DURATION] [--token TOKEN] [-v]
//   ipfsacc serve --env [bash|zsh|fish]
//   ipfsacc serve [OPTIONS] -- COMMAND...

#include "commands.hpp"
#include "secrets/store.hpp"
#include "serve/answer_store.hpp"
#include "serve/proxy.hpp"
#include "serve/routes.hpp"
#include "serve/server.hpp"
#include "util/fs.hpp"

#include <csignal>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ipfsacc::app {

namespace {

struct ServeOptions {
  std::string listen; // "": serve_listen
  std::vector<std::string> upstreams;
  std::string upstream_timeout; // "": serve_upstream_timeout
  std::string token;
  std::string env_shell;
  std::string port_file;
  bool verbose = false;
};

// The client variables: one per route, pointing at base.
std::vector<std::pair<std::string, std::string>> client_variables(
  std::string_view base) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& route : serve::routes()) {
    out.emplace_back(
      std::string(route.env),
      fmt::format("{}{}{}", base, route.prefix, route.env_suffix));
  }
  return out;
}

std::string base_url(const serve::Listen& listen, uint16_t port) {
  if (listen.host.find(':') != std::string::npos) {
    return fmt::format("http://[{}]:{}", listen.host, port);
  }
  return fmt::format("http://{}:{}", listen.host, port);
}

std::string env_lines(std::string_view shell, std::string_view base) {
  std::string out;
  for (const auto& [name, value] : client_variables(base)) {
    out += shell == "fish" ? fmt::format("set -gx {} '{}'\n", name, value)
                           : fmt::format("export {}='{}'\n", name, value);
  }
  return out;
}

// The secrets store, when there is one; a store that cannot be read is said
// once and left out (requests then carry only their own credentials).
std::shared_ptr<const secrets::Secrets> stored_secrets() {
  auto location = secrets::Location::from_environment();
  if (!secrets::exists(location)) {
    return nullptr;
  }
  auto loaded = secrets::load(location, secrets::passphrase_from_env());
  if (!loaded) {
    fmt::print(stderr,
               "ipfsacc: serve: the secrets store: {}; no stored key is "
               "added to requests\n",
               loaded.error());
    return nullptr;
  }
  return std::make_shared<const secrets::Secrets>(std::move(*loaded));
}

std::expected<serve::ProxySettings, std::string> settings_of(
  const ServeOptions& options,
  const Config& config) {
  serve::ProxySettings settings;
  settings.verbose = options.verbose;
  auto timeout_text = options.upstream_timeout.empty()
                        ? config.get("serve_upstream_timeout")
                        : options.upstream_timeout;
  auto timeout = util::parse_duration(timeout_text);
  if (!timeout || timeout->count() <= 0) {
    return std::unexpected(fmt::format(
      "--upstream-timeout {}: not a duration above zero", timeout_text));
  }
  settings.upstream_timeout = *timeout;
  // The config's upstreams first, so that --upstream replaces them.
  for (const auto& route : serve::routes()) {
    auto url = config.get(fmt::format("serve_upstream.{}", route.name));
    while (url.ends_with('/')) {
      url.pop_back();
    }
    if (!url.empty()) {
      settings.upstreams[std::string(route.name)] = url;
    }
    // A TTL forced for every rule, else one for the route or for serve.
    if (auto ttl = config.ttl_override()) {
      settings.ttls[std::string(route.name)] = *ttl;
    } else if (auto route_ttl = config.tool_ttl("serve", route.name)) {
      settings.ttls[std::string(route.name)] = *route_ttl;
    }
  }
  for (const auto& spec : options.upstreams) {
    auto eq = spec.find('=');
    if (eq == std::string::npos) {
      return std::unexpected(fmt::format("--upstream {}: not NAME=URL", spec));
    }
    auto name = spec.substr(0, eq);
    auto url = spec.substr(eq + 1);
    if (!serve::route_named(name)) {
      return std::unexpected(fmt::format(
        "--upstream {}: no route {} (anthropic, openai, groq, gemini, hf, "
        "github)",
        spec,
        name));
    }
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      return std::unexpected(
        fmt::format("--upstream {}: the URL is not http:// or https://", spec));
    }
    while (url.ends_with('/')) {
      url.pop_back();
    }
    settings.upstreams[name] = url;
  }
  return settings;
}

// Runs command with the client variables in its environment; returns its
// exit status (128 + the signal that ended it). The signals of sigs are
// blocked in this process and waited for here.
int run_command(const std::vector<std::string>& command,
                std::string_view base,
                const sigset_t& sigs) {
  std::vector<std::string> env;
  auto variables = client_variables(base);
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    auto name = entry.substr(0, entry.find('='));
    if (std::none_of(variables.begin(), variables.end(), [&](const auto& v) {
          return v.first == name;
        })) {
      env.emplace_back(entry);
    }
  }
  for (const auto& [name, value] : variables) {
    env.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (auto& e : env) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> args = command;
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &sigs);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int error =
    ::posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  if (error != 0) {
    fmt::print(stderr,
               "ipfsacc: serve: cannot run {}: {}\n",
               command.front(),
               std::strerror(error));
    return error == ENOENT ? 127 : 126;
  }
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      return WIFEXITED(status)     ? WEXITSTATUS(status)
             : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                   : 1;
    }
    siginfo_t info{};
    int sig = ::sigwaitinfo(&sigs, &info);
    // SIGCHLD: look again. A terminal's ^C reaches the command by itself;
    // what another process sends us is passed on.
    if (sig == SIGTERM || sig == SIGHUP ||
        (sig == SIGINT && info.si_code == SI_USER)) {
      ::kill(pid, sig);
    }
  }
}

int run_serve(ServeOptions options,
              std::vector<std::string> command,
              const Config& config) {
  if (options.listen.empty()) {
    options.listen = config.get("serve_listen");
  }
  auto listen = serve::parse_listen(options.listen);
  if (!listen) {
    fmt::print(stderr, "ipfsacc: error: serve: --listen {}\n", listen.error());
    return 2;
  }
  if (!options.env_shell.empty()) {
    fmt::print("{}",
               env_lines(options.env_shell, base_url(*listen, listen->port)));
    return 0;
  }
  if (!command.empty()) {
    // A proxy for one command: a free loopback port of its own.
    listen->host = "127.0.0.1";
    listen->port = 0;
  }
  auto stored = stored_secrets();
  if (options.token.empty() && stored && !serve::is_loopback(listen->host)) {
    // The token is a secret: the store holds it, never the config file. It
    // is what an address others can reach needs; on loopback only --token
    // asks clients for one (a command run under the proxy sends none).
    if (auto token = stored->get("serve_token")) {
      options.token = std::string(*token);
    }
  }
  if (!serve::is_loopback(listen->host) && options.token.empty()) {
    fmt::print(stderr,
               "ipfsacc: error: serve: listening on {} (not loopback) needs "
               "--token (or the secret serve_token), which clients then "
               "send as x-ipfsacc-token; "
               "refusing to start\n",
               listen->host);
    return 1;
  }
  auto settings = settings_of(options, config);
  if (!settings) {
    fmt::print(stderr, "ipfsacc: error: serve: {}\n", settings.error());
    return 2;
  }
  settings->secrets = std::move(stored);
  std::unique_ptr<serve::AnswerStore> store;
  if (auto opened = serve::AnswerStore::open(config)) {
    store = std::move(*opened);
  } else {
    fmt::print(stderr, "ipfsacc: {}; answering uncached\n", opened.error());
  }
  // The signals that end the server (or go to the command) are taken here,
  // in this thread, before any other thread exists to receive them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  if (!command.empty()) {
    sigaddset(&sigs, SIGCHLD);
  }
  ::pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  serve::Proxy proxy(std::move(*settings), std::move(store));
  auto server = serve::Server::start(*listen, options.token, proxy);
  if (!server) {
    fmt::print(stderr, "ipfsacc: error: serve: {}\n", server.error());
    return 1;
  }
  auto base = base_url(*listen, (*server)->port());
  if (!options.port_file.empty()) {
    if (auto written = util::write_file_atomic(
          options.port_file, std::to_string((*server)->port()) + "\n", 0644);
        !written) {
      fmt::print(stderr, "ipfsacc: error: serve: {}\n", written.error());
      return 1;
    }
  }
  int status = 0;
  if (!command.empty()) {
    status = run_command(command, base, sigs);
  } else {
    fmt::print(stderr, "ipfsacc serve: listening on {}\n", base);
    std::fflush(stderr);
    int sig = 0;
    ::sigwait(&sigs, &sig);
    // Drain: no new connection, and the requests in flight end (and store
    // their answers) before the server stops. A second signal stops at once.
    (*server)->quiesce();
    const timespec tick{ 0, 50'000'000 };
    while ((*server)->in_flight() > 0) {
      if (::sigtimedwait(&sigs, nullptr, &tick) > 0) {
        break;
      }
    }
  }
  (*server)->stop();
  return status;
}

} // namespace

Command setup_serve(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
    "serve",
    "a caching HTTP proxy for the LLM, Hugging Face and GitHub APIs: serve "
    "[OPTIONS] [-- COMMAND...]");
  cmd->prefix_command();
  cmd->add_option("--listen",
                  options->listen,
                  "HOST:PORT to listen on (loopback unless --token); "
                  "default: serve_listen, 127.0.0.1:8100");
  cmd
    ->add_option("--upstream",
                 options->upstreams,
                 "NAME=URL: send route NAME (anthropic, openai, groq, "
                 "gemini, hf, github) to URL")
    ->allow_extra_args(false);
  cmd->add_option("--upstream-timeout",
                  options->upstream_timeout,
                  "DURATION an upstream may take to begin its answer, then "
                  "504 (default: serve_upstream_timeout, 10m)");
  cmd->add_option("--token",
                  options->token,
                  "clients must send this in x-ipfsacc-token (default: the "
                  "secret serve_token)");
  cmd
    ->add_option("--env",
                 options->env_shell,
                 "print the client variables for bash, zsh or fish")
    ->expected(0, 1)
    ->default_str("bash")
    ->check(CLI::IsMember({ "bash", "zsh", "fish" }));
  cmd->add_option(
    "--port-file", options->port_file, "write the port listened on here");
  cmd->add_flag("-v,--verbose",
                options->verbose,
                "one line per request on stderr: HIT, MISS, BYPASS or "
                "REVALIDATED, the key, status, bytes, time and why");
  CLI::App* root = &app;
  return { cmd, [options, cmd, root](const Config& config) {
            // CLI11 hands what follows "--" to the parent app, or keeps it
            // (without the "--") for the prefix command.
            auto command = cmd->remaining();
            bool after_dashes = command.empty();
            if (command.empty()) {
              command = root->remaining();
            }
            if (!command.empty() && command.front() == "--") {
              command.erase(command.begin());
              after_dashes = true;
            }
            if (!after_dashes && !command.empty() &&
                command.front().starts_with("-")) {
              fmt::print(stderr,
                         "ipfsacc: serve: unknown option '{}' (see ipfsacc "
                         "serve --help)\n",
                         command.front());
              return 2;
            }
            return run_serve(*options, std::move(command), config);
          } };
}

} // namespace ipfsacc::app
