// Fuzz target: the HTTP path's answer parsers (lib/sdk): what turns an API's
// answer (status, headers, body) into the output the tool's CLI would print,
// for every tool with an HTTP path (gh, groq, claude, gemini, hf, vastai).
// The calls are made through run_tool, as a wrapped call makes them, with a
// transport that answers from the input instead of the network.
//
// The input: its first byte picks the call (kCalls); the rest holds the
// answers to the call's requests, in order, separated by kSeparator. An
// answer is its status on the first line, then header lines up to an empty
// line, then the body; an answer without an empty line is all body, with
// status 200. A request past the last answer gets a transport error.
#include "fuzz.hpp"
#include "sdk/sdk.hpp"

#include <charconv>
#include <map>
#include <string>
#include <vector>

using namespace ipfsacc;

namespace {

constexpr std::string_view kSeparator = "\n--8<--\n";

struct CallSpec {
  std::string_view tool;
  std::string_view binary;
  std::vector<std::string> args;
};

// Every mapped command of every tool, with the options that change how its
// answer is read (--json fields, --paginate, output formats).
const std::vector<CallSpec> kCalls = {
  { "gh", "gh", { "api", "repos/octo-org/hello" } },
  { "gh", "gh", { "api", "--paginate", "repos/octo-org/hello/issues" } },
  { "gh", "gh", { "api", "-i", "repos/octo-org/hello/issues" } },
  { "gh", "gh", { "api", "-X", "HEAD", "repos/octo-org/hello/releases" } },
  { "gh",
    "gh",
    { "repo",
      "list",
      "octo-org",
      "--json",
      "name,nameWithOwner,description,isPrivate,isFork,updatedAt,"
      "primaryLanguage,licenseInfo,owner,stargazerCount,latestRelease" } },
  { "gh",
    "gh",
    { "repo", "list", "octo-org", "--json", "name", "--limit", "2" } },
  { "gh",
    "gh",
    { "repo",
      "view",
      "octo-org/hello",
      "--json",
      "name,description,defaultBranchRef,createdAt,diskUsage,forkCount,"
      "homepageUrl,isArchived,isTemplate,parent,repositoryTopics,url" } },
  { "gh",
    "gh",
    { "pr",
      "list",
      "-R",
      "octo-org/hello",
      "--state",
      "all",
      "--json",
      "number,title,author,labels,assignees,isDraft,state,headRefName,"
      "baseRefName,createdAt,mergedAt,milestone,reviewDecision,url" } },
  { "gh",
    "gh",
    { "pr",
      "list",
      "-R",
      "octo-org/hello",
      "--json",
      "number,title,closed,additions,deletions,mergedBy,"
      "headRepositoryOwner" } },
  { "gh",
    "gh",
    { "issue",
      "list",
      "-R",
      "octo-org/hello",
      "--json",
      "number,title,author,labels,assignees,state,closedAt,milestone,body" } },
  { "gh",
    "gh",
    { "issue",
      "list",
      "-R",
      "octo-org/hello",
      "-L",
      "5",
      "--json",
      "number,updatedAt,url,createdAt,id" } },
  { "gh",
    "gh",
    { "run",
      "list",
      "-R",
      "octo-org/hello",
      "--json",
      "databaseId,status,conclusion,displayTitle,event,headBranch,headSha,"
      "name,number,startedAt,workflowName,url" } },
  { "gh",
    "gh",
    { "run",
      "list",
      "-R",
      "octo-org/hello",
      "--json",
      "databaseId,createdAt,updatedAt,workflowDatabaseId" } },
  { "gh",
    "gh",
    { "release",
      "list",
      "-R",
      "octo-org/hello",
      "--json",
      "name,tagName,isDraft,isLatest,isPrerelease,publishedAt,createdAt" } },
  { "gh", "gh", { "release", "list", "-R", "octo-org/hello" } },
  { "groq", "groq", { "--system", "S", "Q" } },
  { "groq", "groq", { "--json", "-m", "llama-3.3-70b-versatile", "Q" } },
  { "claude", "claude", { "-p", "hello" } },
  { "claude", "claude", { "-p", "hello", "--output-format", "json" } },
  { "gemini", "gemini", { "-p", "hello" } },
  { "gemini", "gemini", { "-p", "hello", "-o", "json" } },
  { "hf", "huggingface-cli", { "whoami" } },
  { "hf", "hf", { "auth", "whoami" } },
  { "hf", "hf", { "models", "info", "openai-community/gpt2" } },
  { "hf",
    "hf",
    { "datasets", "info", "rajpurkar/squad", "--revision", "main" } },
  { "hf", "hf", { "spaces", "info", "gradio/hello_world" } },
  { "hf", "hf", { "models", "ls", "--search", "gpt", "--limit", "3" } },
  { "hf", "hf", { "datasets", "ls", "--author", "rajpurkar" } },
  { "hf", "hf", { "spaces", "ls", "--limit", "2" } },
  { "vastai", "vastai", { "search", "offers", "--raw" } },
  { "vastai",
    "vastai",
    { "search",
      "offers",
      "gpu_name=RTX_4090 num_gpus>=2",
      "-o",
      "dph",
      "--raw" } },
  { "vastai", "vastai", { "show", "instances", "--raw" } },
  { "vastai", "vastai", { "show", "machines", "--raw" } },
  { "vastai", "vastai", { "show", "user", "--raw" } },
};

const std::map<std::string, std::string, std::less<>> kEnv = {
  { "GH_TOKEN", "ghp_fuzz" },
  { "GROQ_API_KEY", "gsk_fuzz" },
  { "ANTHROPIC_API_KEY", "sk-ant-fuzz" },
  { "GEMINI_API_KEY", "AIza-fuzz" },
  { "HF_TOKEN", "hf_fuzz" },
  { "VAST_API_KEY", "vast_test_key_123" },
  { "HOME", "/nonexistent" },
  { "NO_COLOR", "1" },
};

http::Response answer_of(std::string_view text) {
  http::Response response;
  response.status = 200;
  size_t blank = text.find("\n\n");
  if (blank == std::string_view::npos) {
    response.body = text;
    return response;
  }
  auto head = text.substr(0, blank);
  response.body = text.substr(blank + 2);
  size_t eol = head.find('\n');
  auto status = head.substr(0, eol);
  std::from_chars(
    status.data(), status.data() + status.size(), response.status);
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 1);
    eol = head.find('\n');
    auto line = head.substr(0, eol);
    if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      response.headers.push_back(
        { std::string(line.substr(0, colon)), std::string(value) });
    }
  }
  return response;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const auto& spec = kCalls[data[0] % kCalls.size()];
  std::vector<http::Response> answers;
  for (auto rest = fuzz::text(data + 1, size - 1);;) {
    size_t end = rest.find(kSeparator);
    answers.push_back(answer_of(rest.substr(0, end)));
    if (end == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(end + kSeparator.size());
  }

  sdk::Invocation call;
  call.tool = spec.tool;
  call.binary = spec.binary;
  call.args = spec.args;
  call.env = [](std::string_view name) -> std::optional<std::string> {
    if (auto it = kEnv.find(name); it != kEnv.end()) {
      return it->second;
    }
    return std::nullopt;
  };
  size_t next = 0;
  call.transport = [&](const http::Request&) -> http::Result {
    if (next == answers.size()) {
      return std::unexpected(http::Error{ "connection refused" });
    }
    return answers[next++];
  };
  const auto* tool = sdk::find_tool(spec.tool);
  fuzz::check(tool != nullptr, "every call's tool has an HTTP path");
  (void)sdk::run_tool(*tool, call);
  return 0;
}
