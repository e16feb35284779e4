#include "exec/runner.hpp"

#include "util/fs.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pty.h>
#include <sodium.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

namespace ipfsacc::exec {

namespace {

volatile sig_atomic_t g_child = 0;

const int kForwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

void forward_signal(int sig, siginfo_t* info, void*) {
  // A signal from the terminal (Ctrl-C) already reached the child, which is
  // in our process group; forward only those sent to us by a process.
  if (g_child > 0 && info && info->si_code <= 0) {
    ::kill(g_child, sig);
  }
}

int64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000;
}

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

// Our environment plus extra "NAME=value" entries that replace same names.
std::vector<std::string> child_env(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& x : extra) {
      if (std::string_view(x).starts_with(name)) {
        replaced = true;
      }
    }
    if (!replaced) {
      env.emplace_back(entry);
    }
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Wipes the last count entries of env: the copies of extra_env, which may
// hold secrets.
void wipe_extra(std::vector<std::string>& env, size_t count) {
  for (size_t i = env.size() - std::min(count, env.size()); i < env.size();
       ++i) {
    sodium_memzero(env[i].data(), env[i].size());
  }
}

void add_segment(std::vector<storage::Segment>& segments,
                 storage::Stream stream,
                 size_t size) {
  if (!segments.empty() && segments.back().stream == stream) {
    segments.back().size += size;
  } else {
    segments.push_back({ stream, size });
  }
}

bool open_pty(int& master, int& slave) {
  winsize ws{};
  bool have_size = ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ||
                   ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0;
  if (::openpty(&master, &slave, nullptr, nullptr, have_size ? &ws : nullptr) !=
      0) {
    return false;
  }
  // Pass the tool's bytes through unchanged ("\n" stays "\n"); the user's
  // terminal does its own output processing when we write them.
  termios tio;
  if (::tcgetattr(slave, &tio) == 0) {
    tio.c_oflag &= ~static_cast<tcflag_t>(OPOST);
    ::tcsetattr(slave, TCSANOW, &tio);
  }
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  return true;
}

} // namespace

void Recording::remove_files() {
  out.remove_file();
  err.remove_file();
}

bool RunResult::exited_ok() const {
  return started && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

int RunResult::shell_code() const {
  if (WIFSIGNALED(wait_status)) {
    return 128 + WTERMSIG(wait_status);
  }
  return WEXITSTATUS(wait_status);
}

RunResult run(const RunOptions& options) {
  RunResult result;
  int out_read = -1, out_write = -1, err_read = -1, err_write = -1;
  int in_read = -1, in_write = -1, in_file = -1;

  auto make_pipe = [](int& r, int& w) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      return false;
    }
    r = fds[0];
    w = fds[1];
    return true;
  };
  bool ok = true;
  if (!options.inherit_stdio) {
    ok = options.stdout_pty ? open_pty(out_read, out_write)
                            : make_pipe(out_read, out_write);
    // One pipe or one pty for both, so the bytes arrive in the order the
    // tool wrote them, as on the one file or terminal it would get directly.
    if (ok && options.merged) {
      err_write = ::fcntl(out_write, F_DUPFD_CLOEXEC, 3);
      ok = err_write >= 0;
    } else {
      ok = ok && (options.stderr_pty ? open_pty(err_read, err_write)
                                     : make_pipe(err_read, err_write));
    }
  }
  if (ok && options.stdin_data) {
    if (!options.stdin_data->file.empty()) {
      in_file = ::open(options.stdin_data->file.c_str(), O_RDONLY | O_CLOEXEC);
      ok = in_file >= 0;
    } else {
      ok = make_pipe(in_read, in_write);
    }
  }
  if (!ok) {
    result.spawn_errno = errno;
    for (int* fd : { &out_read,
                     &out_write,
                     &err_read,
                     &err_write,
                     &in_read,
                     &in_write }) {
      close_fd(*fd);
    }
    return result;
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!options.inherit_stdio) {
    posix_spawn_file_actions_adddup2(&actions, out_write, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_write, STDERR_FILENO);
  }
  if (in_read >= 0) {
    posix_spawn_file_actions_adddup2(&actions, in_read, STDIN_FILENO);
  } else if (in_file >= 0) {
    posix_spawn_file_actions_adddup2(&actions, in_file, STDIN_FILENO);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : kForwarded) {
    sigaddset(&defaults, sig);
  }
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  // Forward signals from the moment the child exists.
  struct sigaction forward {};
  forward.sa_sigaction = forward_signal;
  forward.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&forward.sa_mask);
  struct sigaction old_actions[std::size(kForwarded)];
  for (size_t i = 0; i < std::size(kForwarded); ++i) {
    sigaction(kForwarded[i], &forward, &old_actions[i]);
  }
  struct sigaction ignore_pipe {};
  ignore_pipe.sa_handler = SIG_IGN;
  struct sigaction old_pipe;
  sigaction(SIGPIPE, &ignore_pipe, &old_pipe);

  auto env = child_env(options.extra_env);
  auto argv = c_strings(options.argv);
  auto envp = c_strings(env);
  int64_t start = monotonic_ms();
  pid_t pid;
  int rc = posix_spawn(
    &pid, options.path.c_str(), &actions, &attr, argv.data(), envp.data());
  wipe_extra(env, options.extra_env.size());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close_fd(out_write);
  close_fd(err_write);
  close_fd(in_read);
  close_fd(in_file);
  if (rc != 0) {
    result.spawn_errno = rc;
    close_fd(out_read);
    close_fd(err_read);
    close_fd(in_write);
    for (size_t i = 0; i < std::size(kForwarded); ++i) {
      sigaction(kForwarded[i], &old_actions[i], nullptr);
    }
    sigaction(SIGPIPE, &old_pipe, nullptr);
    return result;
  }
  result.started = true;
  g_child = pid;

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  Recording& rec = result.recording;
  StreamRecorder out_rec(rec.out, options.spill_dir);
  StreamRecorder err_rec(rec.err, options.spill_dir);
  size_t stdin_done = 0;
  if (in_write >= 0) {
    ::fcntl(in_write, F_SETFL, O_NONBLOCK);
    if (options.stdin_data->memory.empty()) {
      close_fd(in_write);
    }
  }

  bool child_done = false;
  int64_t quiet_since = -1;
  char buffer[65536];
  while (out_read >= 0 || err_read >= 0) {
    pollfd fds[4];
    nfds_t n = 0;
    int out_i = -1, err_i = -1, in_i = -1, pid_i = -1;
    if (out_read >= 0) {
      out_i = static_cast<int>(n);
      fds[n++] = { out_read, POLLIN, 0 };
    }
    if (err_read >= 0) {
      err_i = static_cast<int>(n);
      fds[n++] = { err_read, POLLIN, 0 };
    }
    if (in_write >= 0) {
      in_i = static_cast<int>(n);
      fds[n++] = { in_write, POLLOUT, 0 };
    }
    if (pidfd >= 0 && !child_done) {
      pid_i = static_cast<int>(n);
      fds[n++] = { pidfd, POLLIN, 0 };
    }
    // Once the child has exited, a grandchild may still hold our pipes open;
    // stop waiting for it after a short quiet period, as a terminal would.
    int timeout = child_done ? 100 : (pidfd >= 0 ? -1 : 100);
    int ready = ::poll(fds, n, timeout);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    if (ready == 0) {
      if (!child_done) {
        int status;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          result.wait_status = status;
          child_done = true;
          pid = -1;
        }
        continue;
      }
      if (quiet_since >= 0 && monotonic_ms() - quiet_since >= 100) {
        break;
      }
      quiet_since = quiet_since < 0 ? monotonic_ms() : quiet_since;
      continue;
    }
    quiet_since = -1;
    if (pid_i >= 0 && (fds[pid_i].revents & POLLIN)) {
      child_done = true;
    }
    if (in_i >= 0 && fds[in_i].revents) {
      const auto& data = options.stdin_data->memory;
      ssize_t w =
        ::write(in_write, data.data() + stdin_done, data.size() - stdin_done);
      if (w > 0) {
        stdin_done += static_cast<size_t>(w);
      }
      if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
          stdin_done == data.size()) {
        close_fd(in_write); // Done, or the child stopped reading.
      }
    }
    struct Channel {
      int index;
      int& fd;
      int target;
      storage::Stream stream;
      StreamRecorder& recorder;
    };
    for (Channel ch :
         { Channel{
             out_i, out_read, STDOUT_FILENO, storage::Stream::out, out_rec },
           Channel{ err_i,
                    err_read,
                    STDERR_FILENO,
                    storage::Stream::err,
                    err_rec } }) {
      if (ch.index < 0 || !fds[ch.index].revents) {
        continue;
      }
      ssize_t got = ::read(ch.fd, buffer, sizeof(buffer));
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (got <= 0) { // EOF, or EIO from a pty whose child has gone.
        close_fd(ch.fd);
        continue;
      }
      auto size = static_cast<size_t>(got);
      if (options.forward && !util::write_all(ch.target, buffer, size)) {
        // Our reader went away (`| head`): stop reading so the tool gets
        // SIGPIPE on its next write, exactly as without ipfsacc.
        rec.complete = false;
        close_fd(ch.fd);
        continue;
      }
      if (options.record) {
        if (!ch.recorder.add(buffer, size)) {
          rec.complete = false;
        }
        add_segment(rec.segments, ch.stream, size);
      }
    }
  }
  close_fd(out_read);
  close_fd(err_read);
  close_fd(in_write);
  if (pid > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.wait_status = status;
  }
  if (pidfd >= 0) {
    ::close(pidfd);
  }
  g_child = 0;
  result.duration_ms = monotonic_ms() - start;
  if (!out_rec.finish() || !err_rec.finish()) {
    rec.complete = false;
  }
  for (size_t i = 0; i < std::size(kForwarded); ++i) {
    sigaction(kForwarded[i], &old_actions[i], nullptr);
  }
  sigaction(SIGPIPE, &old_pipe, nullptr);
  return result;
}

void exec_tool(const std::string& path,
               const std::vector<std::string>& argv,
               const std::vector<std::string>& extra_env) {
  auto args = c_strings(argv);
  if (extra_env.empty()) {
    ::execv(path.c_str(), args.data());
    return;
  }
  auto env = child_env(extra_env);
  auto envp = c_strings(env);
  ::execve(path.c_str(), args.data(), envp.data());
  int saved = errno;
  wipe_extra(env, extra_env.size());
  errno = saved;
}

void exit_like(int wait_status) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    rlimit no_core{ 0, 0 };
    ::setrlimit(RLIMIT_CORE, &no_core);
    std::signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(sig);
    ::_exit(128 + sig);
  }
  ::_exit(WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 1);
}

int report_spawn_failure(std::string_view name, int error) {
  if (error == ENOENT) {
    fmt::print(stderr, "ipfsacc: {}: command not found\n", name);
    return 127;
  }
  fmt::print(stderr, "ipfsacc: {}: {}\n", name, std::strerror(error));
  return 126;
}

} // namespace ipfsacc::exec
