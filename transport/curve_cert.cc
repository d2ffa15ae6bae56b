#include "transport/curve_cert.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ordergate::transport {
namespace {

constexpr size_t kKeyZ85Chars = 40;
constexpr size_t kKeyBytes = 32;
constexpr size_t kIndent = 4;
constexpr size_t kMaxNameChars = 64;

// ZPL (rfc 4): a name starts with an alphanumeric and goes on with these.
bool IsZplNameChar(char c, bool first) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  if (first) return false;
  return std::strchr("$-_@.&+/", c) != nullptr && c != '\0';
}

bool DecodeZ85(absl::string_view z85, uint8_t out[kKeyBytes]) {
  if (z85.size() != kKeyZ85Chars) return false;
  char text[kKeyZ85Chars + 1];
  std::memcpy(text, z85.data(), kKeyZ85Chars);
  text[kKeyZ85Chars] = '\0';
  return zmq_z85_decode(out, text) != nullptr;
}

std::string ErrnoText(int err) { return std::strerror(err); }

struct Parser {
  absl::string_view file;
  CurveCertificate cert;
  bool have_public = false;
  bool have_secret = false;
  bool have_name = false;

  absl::Status Fail(int line, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", what));
  }

  // One line (without its newline). `sections` holds the names of the open levels.
  absl::Status Line(int no, absl::string_view line, std::vector<std::string>* sections) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t indent = 0;
    while (indent < line.size() && (line[indent] == ' ' || line[indent] == '\t')) {
      if (line[indent] == '\t')
        return Fail(no, "a tab in the indentation (ZPL indents by 4 spaces)");
      ++indent;
    }
    absl::string_view rest = line.substr(indent);
    if (rest.empty() || rest.front() == '#') return absl::OkStatus();  // blank or comment
    if (indent % kIndent != 0) {
      return Fail(no,
                  absl::StrCat("indentation of ", indent, " spaces (ZPL indents by 4 per level)"));
    }
    const size_t level = indent / kIndent;
    if (level > sections->size()) return Fail(no, "indented deeper than the section it is in");
    sections->resize(level);

    size_t n = 0;
    while (n < rest.size() && IsZplNameChar(rest[n], n == 0)) ++n;
    if (n == 0) return Fail(no, absl::StrCat("'", rest.substr(0, 1), "' cannot start a name"));
    const std::string name(rest.substr(0, n));
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(n));

    if (rest.empty() || rest.front() == '#') {  // a section (or a name without a value)
      sections->push_back(name);
      return absl::OkStatus();
    }
    if (rest.front() != '=') {
      return Fail(no, absl::StrCat("expected '=' or the end of the line after '", name, "'"));
    }
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(1));
    std::string value;
    if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
      const char quote = rest.front();
      const size_t end = rest.find(quote, 1);
      if (end == absl::string_view::npos)
        return Fail(no, "a quoted value without its closing quote");
      value = std::string(rest.substr(1, end - 1));
      rest = rest.substr(end + 1);
    } else {
      size_t end = 0;
      while (end < rest.size() && rest[end] != '#' &&
             !absl::ascii_isspace(static_cast<unsigned char>(rest[end]))) {
        ++end;
      }
      value = std::string(rest.substr(0, end));
      rest = rest.substr(end);
    }
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (!rest.empty() && rest.front() != '#') {
      return Fail(no, absl::StrCat("text after the value of '", name, "'"));
    }
    sections->push_back(name);  // a name with a value may still have children in ZPL
    if (level != 1) return absl::OkStatus();
    const std::string& section = (*sections)[0];
    if (section == "curve" && (name == "public-key" || name == "secret-key")) {
      bool& have = name == "public-key" ? have_public : have_secret;
      if (have) return Fail(no, absl::StrCat("curve ", name, " given twice"));
      uint8_t raw[kKeyBytes];
      if (!DecodeZ85(value, raw)) {
        return Fail(no, absl::StrCat("curve ", name, " must be 40 characters of Z85, got ",
                                     value.size(), " characters"));
      }
      have = true;
      (name == "public-key" ? cert.public_key : cert.secret_key) = std::move(value);
    } else if (section == "metadata" && name == "name") {
      if (have_name) return Fail(no, "metadata name given twice");
      have_name = true;
      cert.name = std::move(value);
    }
    return absl::OkStatus();
  }
};

absl::Status CheckFileError(const std::string& path, int err, absl::string_view doing) {
  const std::string msg = absl::StrCat("cannot ", doing, " ", path, ": ", ErrnoText(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return CheckFileError(path, errno, "open");
  std::string text;
  char buf[4096];
  constexpr size_t kMaxCertBytes = 64 << 10;  // a certificate is ~400 bytes
  while (true) {
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return CheckFileError(path, err, "read");
    }
    if (got == 0) break;
    text.append(buf, static_cast<size_t>(got));
    if (text.size() > kMaxCertBytes) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than ", kMaxCertBytes, " bytes: not a certificate"));
    }
  }
  ::close(fd);
  return text;
}

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Creates `path` exclusively with `mode` (whatever the umask) and writes `text`.
absl::Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(path, " exists: refusing to overwrite it"));
    }
    return CheckFileError(path, errno, "create");
  }
  absl::Status st;
  if (::fchmod(fd, mode) != 0) st = CheckFileError(path, errno, "chmod");
  size_t done = 0;
  while (st.ok() && done < text.size()) {
    const ssize_t put = ::write(fd, text.data() + done, text.size() - done);
    if (put < 0) {
      if (errno == EINTR) continue;
      st = CheckFileError(path, errno, "write");
      break;
    }
    done += static_cast<size_t>(put);
  }
  if (st.ok() && ::fsync(fd) != 0) st = CheckFileError(path, errno, "fsync");
  if (::close(fd) != 0 && st.ok()) st = CheckFileError(path, errno, "close");
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

}  // namespace

bool IsCurveKey(absl::string_view z85) {
  uint8_t raw[kKeyBytes];
  return DecodeZ85(z85, raw);
}

bool IsCertificateName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameChars) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

absl::StatusOr<CurveKeyPair> GenerateCurveKeyPair() {
  char pub[kKeyZ85Chars + 1] = {};
  char sec[kKeyZ85Chars + 1] = {};
  if (zmq_curve_keypair(pub, sec) != 0) {
    return absl::InternalError(absl::StrCat("zmq_curve_keypair: ", zmq_strerror(zmq_errno()),
                                            " (libzmq built without CURVE?)"));
  }
  return CurveKeyPair{pub, sec};
}

absl::StatusOr<CurveCertificate> ParseCurveCertificate(absl::string_view text,
                                                       absl::string_view file) {
  Parser p;
  p.file = file;
  std::vector<std::string> sections;
  int no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == absl::string_view::npos) end = text.size();
    ++no;
    if (absl::Status st = p.Line(no, text.substr(start, end - start), &sections); !st.ok()) {
      return st;
    }
    start = end + 1;
  }
  if (!p.have_public) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": no curve public-key (not a CURVE certificate)"));
  }
  if (p.have_secret) {
    char derived[kKeyZ85Chars + 1] = {};
    if (zmq_curve_public(derived, p.cert.secret_key.c_str()) != 0 || p.cert.public_key != derived) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": the curve secret-key does not belong to its public-key"));
    }
  }
  p.cert.path = std::string(file);
  return std::move(p.cert);
}

std::string FormatCurveCertificate(const CurveCertificate& cert, bool with_secret,
                                   absl::string_view date) {
  std::string out = absl::StrCat("#   ****  Generated on ", date, " by ordergatectl  ****\n");
  if (with_secret) {
    absl::StrAppend(&out,
                    "#   ZeroMQ CURVE **Secret** Certificate\n"
                    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n");
  } else {
    absl::StrAppend(&out,
                    "#   ZeroMQ CURVE Public Certificate\n"
                    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
                    "#   of this file after exchange. Store public certificates in your home\n"
                    "#   directory, in the .curve subdirectory.\n\n");
  }
  absl::StrAppend(&out, "metadata\n");
  if (!cert.name.empty()) absl::StrAppend(&out, "    name = \"", cert.name, "\"\n");
  absl::StrAppend(&out, "curve\n    public-key = \"", cert.public_key, "\"\n");
  if (with_secret) absl::StrAppend(&out, "    secret-key = \"", cert.secret_key, "\"\n");
  return out;
}

absl::StatusOr<CurveCertificate> ReadCurveCertificate(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return ParseCurveCertificate(*text, path);
}

absl::StatusOr<CurveCertificate> ReadCurveSecretCertificate(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return CheckFileError(path, errno, "stat");
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the secret certificate ", path, " has mode ", ModeText(st.st_mode),
        ": group or others may use it, so its key is no longer secret; chmod 600 ", path));
  }
  absl::StatusOr<CurveCertificate> cert = ReadCurveCertificate(path);
  if (!cert.ok()) return cert.status();
  if (cert->secret_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": no curve secret-key (a public certificate where the secret one "
                     "is expected: czmq names the secret one NAME_secret)"));
  }
  return cert;
}

absl::StatusOr<std::vector<CurveCertificate>> LoadCurveAllowlist(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return CheckFileError(dir, errno, "open the clients directory");
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const absl::string_view name(e->d_name);
    if (name.empty() || name.front() == '.' || absl::EndsWith(name, "_secret")) continue;
    names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::vector<CurveCertificate> certs;
  std::map<std::string, std::string> by_name;  // name -> file
  std::map<std::string, std::string> by_key;   // public key -> file
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir, "/", name);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return CheckFileError(path, errno, "stat");
    if (!S_ISREG(st.st_mode)) continue;
    absl::StatusOr<CurveCertificate> cert = ReadCurveCertificate(path);
    if (!cert.ok()) return cert.status();
    if (!cert->secret_key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path,
                       " holds a secret-key: the clients directory takes public certificates only "
                       "(a client's secret key stays with the client)"));
    }
    if (cert->name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          ": no metadata name: a client's name is its identity on the gateway (metadata, "
          "then    name = \"strategy-a\")"));
    }
    if (!IsCertificateName(cert->name)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": metadata name \"", cert->name,
                                                     "\" must be 1..64 characters of "
                                                     "[A-Za-z0-9._-]"));
    }
    if (auto [it, fresh] = by_name.emplace(cert->name, path); !fresh) {
      return absl::InvalidArgumentError(absl::StrCat(path, " and ", it->second,
                                                     " both name the client \"", cert->name,
                                                     "\": names must be unique"));
    }
    if (auto [it, fresh] = by_key.emplace(cert->public_key, path); !fresh) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " and ", it->second, " hold the same public key: keys must be unique"));
    }
    certs.push_back(std::move(*cert));
  }
  return certs;
}

absl::StatusOr<WrittenCertificatePair> WriteCurveCertificatePair(const std::string& dir,
                                                                 const std::string& name) {
  if (!IsCertificateName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate name \"", name, "\" must be 1..64 characters of [A-Za-z0-9._-]"));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return CheckFileError(dir, errno, "create the directory");
  }
  WrittenCertificatePair out;
  out.public_path = absl::StrCat(dir, "/", name, ".key");
  out.secret_path = absl::StrCat(out.public_path, "_secret");
  for (const std::string& path : {out.public_path, out.secret_path}) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      return absl::AlreadyExistsError(absl::StrCat(path, " exists: refusing to overwrite it"));
    }
  }
  absl::StatusOr<CurveKeyPair> pair = GenerateCurveKeyPair();
  if (!pair.ok()) return pair.status();
  CurveCertificate cert;
  cert.name = name;
  cert.public_key = pair->public_key;
  cert.secret_key = pair->secret_key;
  char date[32] = {};
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &utc);
  // The secret half first: a crash between the two leaves a key nobody trusts yet, never a public
  // certificate whose secret is lost.
  if (absl::Status st =
          WriteNewFile(out.secret_path, FormatCurveCertificate(cert, true, date), 0600);
      !st.ok()) {
    return st;
  }
  if (absl::Status st =
          WriteNewFile(out.public_path, FormatCurveCertificate(cert, false, date), 0644);
      !st.ok()) {
    ::unlink(out.secret_path.c_str());
    return st;
  }
  out.public_key = cert.public_key;
  return out;
}

}  // namespace ordergate::transport
