// ipfsacc export: entries as JSON Lines, outputs in base64 with their CIDs.

#include "commands.hpp"
#include "entries.hpp"
#include "progress_flags.hpp"
#include "secrets/signing.hpp"
#include "storage/car.hpp"
#include "storage/exchange.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <unistd.h>

namespace ipfsacc::app {

namespace {

struct ExportOptions {
  std::string file = "-";
  std::string format = "jsonl";
  Selection selection;
  ProgressWhen progress = ProgressWhen::terminal;
};

struct Exported {
  uint64_t entries = 0;
  uint64_t payload = 0;
  uint64_t corrupt = 0;
};

// Writes the selected entries as a CARv1 archive (see storage/car.hpp):
// the header names every entry block as a root, then come the entry blocks
// and the output blocks, each output once however many entries share it.
// Everything is read in one transaction, so the archive is one snapshot.
// progress shows the entries read, then the entries written.
std::expected<Exported, std::string> export_car(
  storage::Store& store,
  const Selection& selection,
  const secrets::SigningKey* signer,
  const std::function<bool(std::string_view)>& sink,
  util::Progress& progress) {
  Exported done;
  int64_t now = util::now_ms();
  auto read = store.read([&](storage::StoreReader& r) {
    progress.stage({ "Reading",
                     "entries",
                     r.table_sizes().entries,
                     util::CountBytes::yes,
                     0 });
    struct Selected {
      storage::Entry entry;
      storage::BlockId id;
      std::string block;
    };
    std::vector<Selected> selected;
    r.for_each_entry([&](const Digest& key, storage::Entry e) {
      if (!selection.matches(e, now)) {
        progress.add(1);
        return true;
      }
      auto out = r.blob(e.stdout_digest, e.stdout_size);
      auto err = r.blob(e.stderr_digest, e.stderr_size);
      if (!out || !err || sha256(*out) != e.stdout_digest ||
          sha256(*err) != e.stderr_digest) {
        ++done.corrupt;
        progress.add(1);
        return true;
      }
      progress.add(1, e.stdout_size + e.stderr_size);
      e.display = shown_command(e);
      std::string block = storage::encode_car_entry(key, e, signer);
      storage::BlockId id{ storage::kCodecDagCbor, sha256(block) };
      selected.push_back({ std::move(e), id, std::move(block) });
      return true;
    });
    progress.stage(
      { "Writing", "entries", selected.size(), util::CountBytes::yes, 0 });
    std::vector<storage::BlockId> roots;
    for (const auto& s : selected) {
      roots.push_back(s.id);
    }
    storage::CarWriter car(sink);
    bool ok = car.header(roots);
    for (const auto& s : selected) {
      ok = ok &&
           car.block(s.id,
                     std::span(reinterpret_cast<const uint8_t*>(s.block.data()),
                               s.block.size()));
    }
    std::set<Digest> written;
    for (const auto& s : selected) {
      const auto& e = s.entry;
      uint64_t block_bytes = 0;
      for (auto [digest, size] :
           { std::pair(e.stdout_digest, e.stdout_size),
             std::pair(e.stderr_digest, e.stderr_size) }) {
        if (!ok || !written.insert(digest).second) {
          continue;
        }
        auto bytes = r.blob(digest, size);
        ok = bytes && car.block({ storage::kCodecRaw, digest }, *bytes);
        block_bytes += size;
      }
      progress.add(1, block_bytes);
      ++done.entries;
      done.payload += e.stdout_size + e.stderr_size;
    }
  });
  if (!read) {
    return std::unexpected(read.error());
  }
  return done;
}

} // namespace

Command setup_export(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand(
    "export", "write entries as JSON Lines (outputs in base64, with CIDs)");
  cmd->add_option("FILE", o->file, "where to write; - for stdout (default)")
    ->type_name("");
  cmd->add_option("--tool", o->selection.tool, "only entries of this tool")
    ->type_name("TOOL");
  cmd
    ->add_option("--format",
                 o->format,
                 "jsonl (the default) or car (a CARv1 archive that "
                 "`ipfs dag import` loads)")
    ->check(CLI::IsMember({ "jsonl", "car" }));
  cmd
    ->add_option("--match",
                 o->selection.glob,
                 "only entries whose command matches this glob")
    ->type_name("GLOB");
  add_progress_flags(cmd, o->progress);
  cmd->footer("One entry per line: its key (request CID), metadata, and "
              "stdout and stderr\nwith the CIDs of their bytes, so `ipfsacc "
              "import` can verify them. Secrets in\ncommand lines are "
              "redacted. With the signing key in the secrets store\n(`ipfsacc "
              "secrets signing-key`) every entry is signed, bound to its "
              "key;\nmachines with remote_trusted_keys import only entries "
              "signed by those keys.\n\nWith --format car: a CARv1 "
              "archive whose raw blocks are the outputs (their CIDs\nare the "
              "blob CIDs) and "
              "whose DAG-CBOR root blocks are the entries, linking\nto "
              "them. `ipfsacc import` reads both formats.\n\nOn a terminal, "
              "an export that takes longer than a second shows its\n"
              "progress on stderr: entries looked at out of those in the "
              "cache, bytes\nwritten, rate and time left (not while the "
              "export itself goes to the\nterminal).");
  return {
    cmd,
    [o](const Config& config) {
      auto store = open_cache(config, storage::Access::read_only);
      if (!store) {
        return error(store.error());
      }
      bool to_stdout = o->file == "-";
      std::string tmp;
      int fd = STDOUT_FILENO;
      if (!to_stdout) {
        // Written beside the target and renamed: a reader never sees
        // half an export.
        tmp = fmt::format("{}.tmp.{}", o->file, ::getpid());
        fd =
          ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
          return error(
            fmt::format("cannot create {}: {}", o->file, std::strerror(errno)));
        }
      }
      uint64_t exported = 0;
      uint64_t payload = 0;
      uint64_t corrupt = 0;
      bool write_failed = false;
      std::string buffer;
      auto flush = [&] {
        if (!write_failed &&
            !util::write_all(fd, buffer.data(), buffer.size())) {
          write_failed = true;
        }
        buffer.clear();
      };
      // Signed when this machine holds the team's key: machines that
      // trust keys import nothing else.
      auto signing_key = secrets::load_signing_key();
      const secrets::SigningKey* signer = signing_key ? &*signing_key : nullptr;
      int64_t now = util::now_ms();
      auto progress = make_progress(
        o->progress, to_stdout ? DataOnStdout::yes : DataOnStdout::no);
      if (o->format == "car") {
        // The CAR header holds the roots: nothing is written before
        // every entry has been read.
        auto sink = [&](std::string_view bytes) {
          buffer += bytes;
          if (buffer.size() >= (4 << 20)) {
            flush();
          }
          return !write_failed;
        };
        std::expected<Exported, std::string> done = Exported{};
        if (*store) {
          done = export_car(**store, o->selection, signer, sink, *progress);
        } else {
          storage::CarWriter(sink).header({}); // no cache: no entries
        }
        if (!done) {
          progress->finish();
          if (!to_stdout) {
            ::close(fd);
            ::unlink(tmp.c_str());
          }
          return error(done.error());
        }
        exported = done->entries;
        payload = done->payload;
        corrupt = done->corrupt;
      } else if (*store) {
        auto read = (*store)->read([&](storage::StoreReader& r) {
          progress->stage({ "Exporting",
                            "entries",
                            r.table_sizes().entries,
                            util::CountBytes::yes,
                            0 });
          r.for_each_entry([&](const Digest& key, storage::Entry e) {
            if (!o->selection.matches(e, now)) {
              progress->add(1);
              return true;
            }
            auto out = r.blob(e.stdout_digest, e.stdout_size);
            auto err = r.blob(e.stderr_digest, e.stderr_size);
            if (!out || !err || sha256(*out) != e.stdout_digest ||
                sha256(*err) != e.stderr_digest) {
              ++corrupt;
              progress->add(1);
              return true;
            }
            e.display = shown_command(e);
            size_t before = buffer.size();
            storage::append_export_line(buffer, key, e, *out, *err, signer);
            buffer += '\n';
            progress->add(1, buffer.size() - before);
            ++exported;
            payload += e.stdout_size + e.stderr_size;
            if (buffer.size() >= (4 << 20)) {
              flush();
            }
            return !write_failed;
          });
        });
        if (!read) {
          progress->finish();
          if (!to_stdout) {
            ::close(fd);
            ::unlink(tmp.c_str());
          }
          return error(read.error());
        }
      }
      progress->finish();
      flush();
      if (write_failed || (!to_stdout && ::close(fd) != 0)) {
        int saved = errno;
        if (!to_stdout) {
          ::unlink(tmp.c_str());
        }
        return error(fmt::format("cannot write {}: {}",
                                 to_stdout ? "stdout" : o->file,
                                 std::strerror(saved)));
      }
      if (!to_stdout && ::rename(tmp.c_str(), o->file.c_str()) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        return error(
          fmt::format("cannot write {}: {}", o->file, std::strerror(saved)));
      }
      if (corrupt > 0) {
        fmt::print(stderr,
                   "ipfsacc: warning: skipped {} entries whose outputs "
                   "are missing or corrupt (ipfsacc doctor --deep)\n",
                   corrupt);
      }
      if (!signer && !config.get("remote_trusted_keys").empty()) {
        fmt::print(stderr,
                   "ipfsacc: warning: the entries are not signed (no "
                   "signing key could be read from the secrets store: "
                   "ipfsacc secrets signing-key); machines with "
                   "remote_trusted_keys will not import them\n");
      }
      fmt::print(stderr,
                 "Exported {} {} ({} of outputs){}{}.\n",
                 exported,
                 exported == 1 ? "entry" : "entries",
                 util::format_size(payload),
                 to_stdout ? "" : " to " + o->file,
                 signer ? ", signed by " + to_hex(signer->public_key()) : "");
      return kExitOk;
    }
  };
}

} // namespace ipfsacc::app
