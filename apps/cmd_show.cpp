// ipfsacc show: one entry's metadata, or its recorded output, verified.

#include "commands.hpp"
#include "entries.hpp"
#include "serve/answer_store.hpp"
#include "util/fs.hpp"

#include <fmt/format.h>
#include <unistd.h>

namespace ipfsacc::app {

namespace {

struct ShowOptions {
  std::string key;
  bool stdout_only = false;
  bool stderr_only = false;
  bool json = false;
};

std::string when(int64_t t_ms, int64_t now) {
  auto ago = now - t_ms;
  return ago >= 0
           ? fmt::format("{} ago", util::format_duration(util::Millis(ago)))
           : fmt::format("in {}", util::format_duration(util::Millis(-ago)));
}

// The canonical request a proxied entry's key was made of (kept in its
// stored head), parsed; nullopt for other entries and older proxied ones.
std::optional<nlohmann::json> proxied_request(const storage::Entry& e,
                                              std::string_view head_bytes) {
  if (e.tool != "serve") {
    return std::nullopt;
  }
  auto head = serve::decode_head(head_bytes);
  if (!head || head->request.empty()) {
    return std::nullopt;
  }
  auto doc = nlohmann::json::parse(head->request, nullptr, false);
  if (doc.is_discarded()) {
    return std::nullopt;
  }
  return doc;
}

// Whether the request's canonical text hashes to the key: the document
// shown is the one the key was made of.
bool request_matches(const Digest& key, std::string_view head_bytes) {
  auto head = serve::decode_head(head_bytes);
  return head && sha256(head->request) == key;
}

void print_text(const Digest& key,
                const storage::Entry& e,
                bool out_ok,
                bool err_ok,
                int64_t now,
                const std::optional<nlohmann::json>& request,
                bool request_ok) {
  auto blob = [](const Digest& d, uint64_t size, bool ok) {
    if (size == 0) {
      return std::string("0 B");
    }
    return fmt::format("{} {} ({})",
                       util::format_size(size),
                       cid_string(d),
                       ok ? "verified" : "CORRUPT");
  };
  fmt::print("key        {}\n", cid_string(key));
  fmt::print("command    {}\n", shown_command(e));
  fmt::print("tool       {} (rule {})\n", e.tool, e.operation);
  fmt::print("exit code  {}\n", e.exit_code);
  fmt::print("created    {}\n", when(e.created_ms, now));
  fmt::print("expires    {}{}\n",
             when(e.expires_ms, now),
             e.expires_ms <= now ? " (expired)" : "");
  fmt::print("last used  {}\n", when(e.last_used_ms, now));
  fmt::print("hits       {}\n", e.hits);
  fmt::print("run time   {}\n",
             util::format_duration(util::Millis(e.duration_ms)));
  fmt::print("stdout     {}\n", blob(e.stdout_digest, e.stdout_size, out_ok));
  fmt::print("stderr     {}\n", blob(e.stderr_digest, e.stderr_size, err_ok));
  fmt::print("segments   {}\n", e.segments.size());
  if (!e.tags.empty()) {
    fmt::print("tags       {}\n", fmt::join(e.tags, " "));
  }
  if (request) {
    // One member a line, sorted, so that two keys' documents diff cleanly.
    fmt::print(
      "request    {}\n{}\n",
      request_ok ? "the canonical request (its CID is the key)"
                 : "the canonical request (does NOT match the key)",
      request->dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

} // namespace

Command setup_show(CLI::App& app) {
  auto o = std::make_shared<ShowOptions>();
  auto* cmd = app.add_subcommand(
    "show", "show an entry's metadata, or its recorded output");
  cmd->add_option("KEY", o->key, "the entry's key CID, or a unique prefix")
    ->type_name("")
    ->required();
  cmd->add_flag("--stdout",
                o->stdout_only,
                "write the recorded stdout (verified against its CID)");
  cmd->add_flag("--stderr",
                o->stderr_only,
                "write the recorded stderr; with --stdout, replay both as "
                "recorded");
  cmd->add_flag("--json", o->json, "the metadata as JSON")
    ->excludes("--stdout")
    ->excludes("--stderr");
  return {
    cmd,
    [o](const Config& config) {
      auto store = open_cache(config, storage::Access::read_only);
      if (!store) {
        return error(store.error());
      }
      if (!*store) {
        return error("the cache is empty");
      }
      int status = kExitOk;
      auto read = (*store)->read([&](storage::StoreReader& r) {
        auto key = resolve_key(r, o->key);
        if (!key) {
          status = error(key.error());
          return;
        }
        auto entry = r.entry(*key);
        if (!entry) {
          status = error(fmt::format("the record of {} is corrupt (remove it: "
                                     "ipfsacc purge --key {})",
                                     cid_string(*key),
                                     cid_string(*key)));
          return;
        }
        const auto& e = *entry;
        auto out = r.blob(e.stdout_digest, e.stdout_size);
        auto err = r.blob(e.stderr_digest, e.stderr_size);
        bool out_ok = out && sha256(*out) == e.stdout_digest;
        bool err_ok = err && sha256(*err) == e.stderr_digest;
        int64_t now = util::now_ms();
        std::string_view head_bytes =
          err_ok ? std::string_view(reinterpret_cast<const char*>(err->data()),
                                    err->size())
                 : std::string_view();
        auto request = proxied_request(e, head_bytes);
        bool request_ok = request && request_matches(*key, head_bytes);
        if (o->stdout_only || o->stderr_only) {
          // Nothing is written unless every byte to write verifies.
          if ((o->stdout_only && !out_ok) || (o->stderr_only && !err_ok)) {
            status = error(fmt::format(
              "the recorded {} of {} is missing or does not match its "
              "CID (remove it: ipfsacc purge --key {})",
              o->stdout_only && !out_ok ? "stdout" : "stderr",
              cid_string(*key),
              cid_string(*key)));
            return;
          }
          size_t out_pos = 0;
          size_t err_pos = 0;
          for (const auto& s : e.segments) {
            bool is_out = s.stream == storage::Stream::out;
            auto& pos = is_out ? out_pos : err_pos;
            if (is_out ? o->stdout_only : o->stderr_only) {
              const auto& bytes = is_out ? *out : *err;
              util::write_all(is_out ? STDOUT_FILENO : STDERR_FILENO,
                              bytes.data() + pos,
                              s.size);
            }
            pos += s.size;
          }
          return;
        }
        if (o->json) {
          auto j = entry_json(*key, e, now);
          j["stdout"]["verified"] = out_ok || e.stdout_size == 0;
          j["stderr"]["verified"] = err_ok || e.stderr_size == 0;
          if (request) {
            j["request"] = *request;
            j["request_matches_key"] = request_ok;
          }
          fmt::print(
            "{}\n",
            j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
        } else {
          print_text(*key, e, out_ok, err_ok, now, request, request_ok);
        }
      });
      if (!read) {
        return error(read.error());
      }
      return status;
    }
  };
}

} // namespace ipfsacc::app
