#pragma once
// Running a piece of a test as an unprivileged user. Tests run as root here and in CI, and root
// reads files whatever their mode; to see the EACCES a user would see, the code runs in a
// child process that drops to uid/gid 65534 (nobody). Non-root runs need no child.

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <exception>
#include <functional>
#include <string>

namespace joules::testing {

struct UnprivilegedResult {
  bool ran = false;        // false: could not drop privileges; `output` says why
  std::string output;      // what the body returned, or "exception: WHAT"
};

inline UnprivilegedResult run_unprivileged(const std::function<std::string()>& body) {
  auto guarded = [&]() -> std::string {
    try {
      return body();
    } catch (const std::exception& e) {
      return std::string("exception: ") + e.what();
    }
  };
  if (::geteuid() != 0) return {true, guarded()};
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return {false, "pipe failed"};
  const pid_t pid = ::fork();
  if (pid < 0) return {false, "fork failed"};
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::string out;
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      out = "\x01" "cannot drop root privileges (setuid/setgid to 65534 refused)";
    } else if (::geteuid() == 0) {
      out = "\x01" "still root after setuid";
    } else {
      out = guarded();
    }
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
      const ssize_t n = ::write(pipe_fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!out.empty() && out[0] == '\x01') return {false, out.substr(1)};
  if (!WIFEXITED(status)) return {false, "unprivileged child died"};
  return {true, out};
}

}  // namespace joules::testing
