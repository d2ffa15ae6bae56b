// CURVE certificates in the ZPL format of czmq's zcert/zcertstore (https://rfc.zeromq.org/spec/4/),
// the convention ZeroMQ users already keep their keys in:
//
//   #   ZeroMQ CURVE Public Certificate          <- comments: '#' lines, anywhere
//
//   metadata
//       name = "strategy-a"                      <- the client's identity on the gateway
//   curve
//       public-key = "<40 Z85 characters>"
//       secret-key = "<40 Z85 characters>"       <- only in the secret certificate (NAME_secret)
//
//   auto pair = WriteCurveCertificatePair("/etc/ordergate/keys", "strategy-a");   // keygen
//   auto server = ReadCurveSecretCertificate("/etc/ordergate/keys/gateway.key_secret");
//   auto clients = LoadCurveAllowlist("/etc/ordergate/clients");
//
// The reader takes what czmq writes and what a person edits: comments (whole lines, or after a
// value), blank lines, indentation by 4 spaces per level, values quoted ("..." or '...') or bare,
// sections other than `metadata` and `curve` (ignored). It refuses, with a message naming the file
// and the line, a tab or an indentation that is not a multiple of 4 or skips a level, a name with
// characters ZPL does not allow, text after a value, an unterminated quote, a key given twice, a
// key that is not 40 characters of Z85, and a secret key that does not belong to the public key.
//
// Keys are Z85 text (40 characters for 32 bytes) everywhere in this interface. All calls are
// start-up calls: they read or write files, allocate, and block on the file system. Thread-safety:
// none needed; no shared state. No ZeroMQ or libsodium type appears here.
#ifndef ORDERGATE_TRANSPORT_CURVE_CERT_H_
#define ORDERGATE_TRANSPORT_CURVE_CERT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ordergate::transport {

struct CurveCertificate {
  std::string name;        // metadata.name; "" when the file has none
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters; "" in a public certificate
  std::string path;        // the file it was read from ("" when parsed from text)
};

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

// A fresh keypair (libzmq's zmq_curve_keypair, from libsodium's random source). kInternal when
// libzmq was built without CURVE.
absl::StatusOr<CurveKeyPair> GenerateCurveKeyPair();

// True when `z85` is 40 characters of Z85 (a 32-byte key).
bool IsCurveKey(absl::string_view z85);

// Parses a certificate's text. `file` names it in messages ("FILE:LINE: ..."). OK needs a valid
// curve.public-key; a secret-key, when present, must be valid and match it. kInvalidArgument
// otherwise.
absl::StatusOr<CurveCertificate> ParseCurveCertificate(absl::string_view text,
                                                       absl::string_view file);

// The text czmq's zcert_save_public (with_secret false) or zcert_save_secret (true) writes, with
// a header that says ordergatectl generated it on `date` (free text, e.g. "2026-12-04 22:31:05").
// The name must be a valid name (IsCertificateName) or empty.
std::string FormatCurveCertificate(const CurveCertificate& cert, bool with_secret,
                                   absl::string_view date);

// 1..64 characters of [A-Za-z0-9._-]: safe as a file name, a log word and a ZPL value.
bool IsCertificateName(absl::string_view name);

// Reads and parses the file at `path`. kNotFound / kPermissionDenied / kInvalidArgument with a
// message naming the file.
absl::StatusOr<CurveCertificate> ReadCurveCertificate(const std::string& path);

// The server's secret certificate: ReadCurveCertificate, and the file must hold a secret-key and
// must not be readable, writable or executable by group or others (kPermissionDenied naming the
// file and its mode, saying `chmod 600`): a secret key others can read is no longer secret.
absl::StatusOr<CurveCertificate> ReadCurveSecretCertificate(const std::string& path);

// The allowlist: every regular file directly in `dir` (symbolic links followed) that is not hidden
// (name starting with '.') and whose name does not end in "_secret" (czmq's secret half, which
// zcertstore skips too) is read as a client's public certificate. Each must have a metadata.name
// that IsCertificateName accepts, and no secret-key (a secret key has no business in the
// allowlist); no two may share a name or a public key. Sorted by file name. kNotFound when `dir`
// is missing; kInvalidArgument naming the file(s) otherwise. An empty directory is OK (nobody is
// admitted; the caller says so).
absl::StatusOr<std::vector<CurveCertificate>> LoadCurveAllowlist(const std::string& dir);

// What WriteCurveCertificatePair wrote.
struct WrittenCertificatePair {
  std::string public_path;  // DIR/NAME.key, mode 0644
  std::string secret_path;  // DIR/NAME.key_secret, mode 0600
  std::string public_key;   // Z85
};

// ordergatectl keygen: a fresh keypair named `name` (IsCertificateName, else kInvalidArgument),
// written as DIR/NAME.key (public, 0644) and DIR/NAME.key_secret (secret, 0600), as zcert_save
// names them. DIR is created (mode 0700, parents not) when missing. Refuses to overwrite
// (kAlreadyExists naming the file; nothing is written then). The modes are set explicitly,
// whatever the umask. kInternal / kPermissionDenied naming the path on file-system failures.
absl::StatusOr<WrittenCertificatePair> WriteCurveCertificatePair(const std::string& dir,
                                                                 const std::string& name);

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_CURVE_CERT_H_
