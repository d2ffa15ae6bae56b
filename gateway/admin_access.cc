#include "gateway/admin_access.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ordergate::gateway {

namespace {

// Equal bytes, in time that depends on the lengths only.
bool SameToken(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

absl::StatusOr<std::string> ReadAdminTokenFile(const std::string& path) {
  if (path.empty()) return std::string();
  const std::string named = absl::StrCat("admin_token_file ", path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string why = absl::StrCat(named, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(why);
    if (err == EACCES) return absl::PermissionDeniedError(why);
    return absl::InvalidArgumentError(why);
  }
  struct stat st {};
  std::string content;
  absl::Status bad;
  if (::fstat(fd, &st) != 0) {
    bad = absl::InvalidArgumentError(absl::StrCat(named, ": ", std::strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    bad = absl::InvalidArgumentError(absl::StrCat(named, " is not a regular file"));
  } else if ((st.st_mode & 07777) != 0600) {
    bad = absl::InvalidArgumentError(absl::StrCat(
        named, " has mode ", ModeText(st.st_mode),
        ": it must be 0600 (readable and writable by its owner only), so that no other account "
        "can read the token: chmod 600 ",
        path));
  } else {
    char buf[kMaxAdminTokenBytes + 64];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && content.size() <= sizeof buf) {
      content.append(buf, static_cast<size_t>(n));
    }
    if (n < 0) bad = absl::InvalidArgumentError(absl::StrCat(named, ": ", std::strerror(errno)));
  }
  ::close(fd);
  if (!bad.ok()) return bad;
  const absl::string_view token = absl::StripTrailingAsciiWhitespace(content);
  if (token.size() < kMinAdminTokenBytes || token.size() > kMaxAdminTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat(named, " must hold one token of ",
                                                   kMinAdminTokenBytes, "..", kMaxAdminTokenBytes,
                                                   " characters (it holds ", token.size(), ")"));
  }
  for (char ch : token) {
    if (ch <= ' ' || ch > '~') {
      return absl::InvalidArgumentError(
          absl::StrCat(named,
                       ": the token must be printable ASCII without spaces (it travels "
                       "in an HTTP header), e.g. openssl rand -hex 32"));
    }
  }
  return std::string(token);
}

bool IsLoopbackAddress(absl::string_view ip) {
  absl::string_view v4 = ip;
  if (absl::StartsWithIgnoreCase(ip, "::ffff:")) v4 = ip.substr(7);
  const std::string text(v4);
  in_addr a4{};
  if (::inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    return (ntohl(a4.s_addr) >> 24) == 127;
  }
  in6_addr a6{};
  const std::string text6(ip);
  if (::inet_pton(AF_INET6, text6.c_str(), &a6) == 1) {
    return std::memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
  }
  return false;
}

AdminAccessDecision DecideAdminAccess(absl::string_view remote_ip, int remote_port,
                                      absl::string_view authorization, absl::string_view token) {
  const std::string peer = absl::StrCat(remote_ip, ":", remote_port);
  if (!authorization.empty()) {
    constexpr absl::string_view kBearer = "Bearer ";
    if (token.empty()) {
      return {false,
              "this gateway has no admin_token_file, so it accepts no token: call from "
              "loopback without one"};
    }
    if (!absl::StartsWith(authorization, kBearer) ||
        !SameToken(absl::StripAsciiWhitespace(authorization.substr(kBearer.size())), token)) {
      return {false, "the token does not match the gateway's admin_token_file"};
    }
    return {true, absl::StrCat("token from ", peer)};
  }
  if (IsLoopbackAddress(remote_ip)) return {true, absl::StrCat("loopback ", peer)};
  return {false, absl::StrCat("a call that changes anything must come from loopback or carry the "
                              "token of the gateway's admin_token_file (Authorization: Bearer "
                              "TOKEN); this one came from ",
                              peer, " without one")};
}

}  // namespace ordergate::gateway
