// Who may change anything through the admin interface (gateway/admin_api.h), and the token that
// lets a caller in from elsewhere than loopback.
//
//   absl::StatusOr<std::string> token = ReadAdminTokenFile(cfg.admin_token_file);   // start-up
//   AdminAccessDecision d = DecideAdminAccess(req.remote_addr, req.remote_port,
//                                             req.get_header_value("Authorization"), *token);
//   if (!d.allowed) { /* 403, d.why */ }
//
// The rule (issue 11): a mutating call is refused unless it comes from loopback or carries the
// token of the file named by admin_token_file. Read-only calls are not checked: they expose what
// /metrics already does, plus uuids and their states. Loopback counts as trusted because only a
// process on the gateway's own host can connect from it; a reverse proxy on that host would make
// every caller look local, so put none in front of the admin interface (or give it no loopback
// path to it).
#ifndef ORDERGATE_GATEWAY_ADMIN_ACCESS_H_
#define ORDERGATE_GATEWAY_ADMIN_ACCESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ordergate::gateway {

// A token is 16..1024 bytes of printable ASCII without spaces (it travels in an HTTP header).
inline constexpr size_t kMinAdminTokenBytes = 16;
inline constexpr size_t kMaxAdminTokenBytes = 1024;

// Reads the admin token from `path`. Start-up call; blocks on the file. "" for an empty path (no
// token configured: only loopback may change anything). The file must be a regular file (a
// symlink is followed) of mode exactly 0600 — readable by its owner only, so that the token is
// not readable by every local account; its content, with trailing whitespace (the newline an
// editor adds) removed, is the token. Errors (kInvalidArgument, or kNotFound / kPermissionDenied
// when it cannot be opened) name the file and what to do, e.g.
// "admin_token_file /etc/ordergate/admin.token has mode 0644: it must be 0600 (chmod 600 ...)".
absl::StatusOr<std::string> ReadAdminTokenFile(const std::string& path);

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (IPv4 loopback reached over IPv6), as
// written by inet_ntop. Pure.
bool IsLoopbackAddress(absl::string_view ip);

struct AdminAccessDecision {
  bool allowed = false;
  // allowed: how the caller was admitted, for the log: "loopback 127.0.0.1:40312" or
  // "token from 10.1.2.3:5120". Refused: why, for the 403 body.
  std::string who_or_why;
};

// The decision for one mutating call from `remote_ip`:`remote_port` carrying the HTTP
// `authorization` header value ("" when absent), with `token` the configured token ("" when none):
//  - an Authorization header must be "Bearer <token>" with the configured token, or the call is
//    refused, from loopback too (a wrong credential is never ignored);
//  - without one, only loopback is admitted.
// Pure; compares the token in time independent of where it differs.
AdminAccessDecision DecideAdminAccess(absl::string_view remote_ip, int remote_port,
                                      absl::string_view authorization, absl::string_view token);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_ADMIN_ACCESS_H_
