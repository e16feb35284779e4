// Build tool: compiles the rule files in wrappers/ into C++ (see
// policy_to_cpp), so that a call of ipfsacc parses no JSON and compiles no
// regex it does not use. A rule file that does not parse or holds an invalid
// regex fails the build with its file and line.
//
//   rulegen [--table NAME] OUT.cpp wrappers/a.json wrappers/b.json ...
//
// The table of files is builtin_policies(), or NAME() with --table (the unit
// tests compile a rule file of their own that uses every field).

#include "core/policy.hpp"
#include "util/fs.hpp"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <string_view>

int main(int argc, char** argv) {
  using namespace ipfsacc;
  std::string table_function = "builtin_policies";
  if (argc > 2 && std::string_view(argv[1]) == "--table") {
    table_function = argv[2];
    argc -= 2;
    argv += 2;
  }
  if (argc < 2) {
    fmt::print(stderr, "usage: rulegen [--table NAME] OUT.cpp FILE.json...\n");
    return 2;
  }
  std::string code =
    "// Generated from wrappers/*.json by rulegen. Do not edit.\n"
    "#include \"core/policy.hpp\"\n\nnamespace ipfsacc {\n\nnamespace {\n\n";
  std::string table;
  for (int i = 2; i < argc; ++i) {
    std::filesystem::path path = argv[i];
    auto text = util::read_file(path);
    if (!text) {
      fmt::print(stderr, "rulegen: {}\n", text.error());
      return 1;
    }
    auto origin = "wrappers/" + path.filename().string();
    auto policy = parse_policy(*text, origin, Validate::yes);
    if (!policy) {
      fmt::print(stderr, "{}\n", policy.error());
      return 1;
    }
    std::string function = fmt::format("build_{}", i - 2);
    code += policy_to_cpp(*policy, function) + "\n";
    std::string binaries = " ";
    for (const auto& b : policy->binaries) {
      binaries += b + " ";
    }
    table += fmt::format("    {{\"{}\", \"{}\", {}}},\n",
                         path.filename().string(),
                         binaries,
                         function);
  }
  code += "} // namespace\n\nstd::span<const BuiltinPolicy> " + table_function +
          "() {\n  static const BuiltinPolicy policies[] = {\n" + table +
          "    {\"\", \"\", nullptr},\n  };\n"
          "  return std::span(policies, std::size(policies) - 1);\n}\n\n"
          "} // namespace ipfsacc\n";
  auto written = util::write_file_atomic(argv[1], code, 0644);
  if (!written) {
    fmt::print(stderr, "rulegen: {}\n", written.error());
    return 1;
  }
  return 0;
}
