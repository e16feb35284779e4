// Helpers shared by the unit tests: temporary directories, environment
// variables and the working directory, each restored on scope exit.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

extern char** environ;

namespace ipfsacc::test {

namespace fs = std::filesystem;

// A fresh directory (mkdtemp), removed with everything in it on destruction.
class TempDir {
public:
  TempDir() {
    auto pattern = (fs::temp_directory_path() / "ipfsacc-unit.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    // Physical path: current_dir() and git lookups resolve symlinks.
    path_ = fs::canonical(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const fs::path& p) const { return path_ / p; }

private:
  fs::path path_;
};

// Sets or unsets one environment variable; restores the old value.
class ScopedEnv {
public:
  explicit ScopedEnv(std::string name)
    : name_(std::move(name)) {
    if (const char* v = std::getenv(name_.c_str())) {
      old_ = v;
    }
  }
  ScopedEnv(std::string name, const std::string& value)
    : ScopedEnv(std::move(name)) {
    set(value);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

  void set(const std::string& value) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  void unset() { ::unsetenv(name_.c_str()); }

private:
  std::string name_;
  std::optional<std::string> old_;
};

// Removes every IPFSACC_* variable (so the user's settings cannot change a
// test's outcome) and puts them back on destruction.
class CleanIpfsaccEnv {
public:
  CleanIpfsaccEnv() {
    for (char** e = environ; e && *e; ++e) {
      std::string entry(*e);
      if (entry.starts_with("IPFSACC_")) {
        auto eq = entry.find('=');
        saved_.emplace_back(entry.substr(0, eq),
                            eq == std::string::npos ? ""
                                                    : entry.substr(eq + 1));
      }
    }
    for (const auto& [name, value] : saved_) {
      ::unsetenv(name.c_str());
    }
  }
  ~CleanIpfsaccEnv() {
    std::vector<std::string> now;
    for (char** e = environ; e && *e; ++e) {
      std::string entry(*e);
      if (entry.starts_with("IPFSACC_")) {
        now.push_back(entry.substr(0, entry.find('=')));
      }
    }
    for (const auto& name : now) {
      ::unsetenv(name.c_str());
    }
    for (const auto& [name, value] : saved_) {
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  CleanIpfsaccEnv(const CleanIpfsaccEnv&) = delete;
  CleanIpfsaccEnv& operator=(const CleanIpfsaccEnv&) = delete;

private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

// Changes the working directory; restores it on destruction.
class ScopedCwd {
public:
  explicit ScopedCwd(const fs::path& dir)
    : old_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~ScopedCwd() {
    std::error_code ec;
    fs::current_path(old_, ec);
  }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

private:
  fs::path old_;
};

// True when s holds part.
inline bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

} // namespace ipfsacc::test
