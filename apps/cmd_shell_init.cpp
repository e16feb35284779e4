// ipfsacc shell-init bash|zsh|fish: definitions that send the wrapped tools
// through ipfsacc in an interactive shell, for an rc file:
//   eval "$(ipfsacc shell-init bash)"
//
// Completion of the tools keeps working through them:
// - bash gets aliases: bash looks up the completion of the first word as it
//   is typed, so `gh pr <TAB>` still uses gh's own completion.
// - zsh gets functions: zsh expands aliases before completing (unless
//   complete_aliases is set) and would complete `ipfsacc gh` instead, while a
//   function keeps the name that gh's compdef is registered for.
// - fish gets functions, completed by name from the tool's own file.

#include "commands.hpp"

#include <fmt/format.h>

namespace ipfsacc::app {

namespace {

struct ShellInitOptions {
  std::string shell;
};

bool plain(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("-_./+,:@%=").find(c) != std::string_view::npos;
  });
}

// s as one word for bash and zsh, exactly (eval reads it back as s).
std::string posix_quote(std::string_view s) {
  if (plain(s)) {
    return std::string(s);
  }
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// s as one word for fish: in single quotes only \ and ' are special.
std::string fish_quote(std::string_view s) {
  if (plain(s)) {
    return std::string(s);
  }
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

std::string definitions(std::string_view shell,
                        const std::vector<ToolBinary>& tools) {
  std::string self = ipfsacc_command();
  std::string out = fmt::format(
    "# ipfsacc shell-init {0}: these tools go through ipfsacc's cache.\n"
    "# In your {1}: {2}\n",
    shell,
    shell == "bash"  ? "~/.bashrc"
    : shell == "zsh" ? "~/.zshrc"
                     : "~/.config/fish/config.fish",
    shell == "fish" ? "ipfsacc shell-init fish | source"
                    : fmt::format("eval \"$(ipfsacc shell-init {})\"", shell));
  std::vector<std::string_view> missing;
  std::vector<std::string_view> excluded;
  for (const auto& tool : tools) {
    if (!tool.safe_name) {
      continue;
    }
    if (tool.excluded) {
      excluded.push_back(tool.name);
      continue;
    }
    if (tool.path.empty()) {
      missing.push_back(tool.name);
      continue;
    }
    if (shell == "bash") {
      out += fmt::format(
        "alias {}={}\n",
        tool.name,
        posix_quote(fmt::format("{} {}", posix_quote(self), tool.name)));
    } else if (shell == "zsh") {
      out += fmt::format(
        "function {0} {{ {1} {0} \"$@\"; }}\n", tool.name, posix_quote(self));
    } else {
      out += fmt::format("function {0} --description '{0} through the "
                         "ipfsacc cache'\n    {1} {0} $argv\nend\n",
                         tool.name,
                         fish_quote(self));
    }
  }
  if (!missing.empty()) {
    out += fmt::format("# not installed: {}\n", fmt::join(missing, " "));
  }
  if (!excluded.empty()) {
    out += fmt::format("# excluded (config key exclude): {}\n",
                       fmt::join(excluded, " "));
  }
  return out;
}

} // namespace

Command setup_shell_init(CLI::App& app) {
  auto options = std::make_shared<ShellInitOptions>();
  auto* cmd = app.add_subcommand(
    "shell-init",
    "print the aliases (bash) or functions (zsh, fish) that send the "
    "installed tools through ipfsacc");
  cmd->add_option("shell", options->shell, "bash, zsh or fish")
    ->required()
    ->check(CLI::IsMember({ "bash", "zsh", "fish" }));
  return { cmd, [options](const Config& config) {
            fmt::print("{}",
                       definitions(options->shell, tool_binaries(config)));
            return 0;
          } };
}

} // namespace ipfsacc::app
