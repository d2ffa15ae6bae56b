#include "idempotency/record_value.h"

#include "absl/status/statusor.h"
#include "idempotency/rocksdb_store.h"

namespace ordergate::idempotency {
namespace internal {
namespace {

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xffu);
  out->append(b, sizeof(b));
}

void PutI64(std::string* out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((u >> (8 * i)) & 0xffu);
  out->append(b, sizeof(b));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

}  // namespace

void EncodeParts(RecordState state, int64_t created_ms, int64_t updated_ms,
                 absl::string_view fingerprint, absl::string_view reply, std::string* out) {
  out->clear();
  out->reserve(kHeaderSize + 8 + fingerprint.size() + reply.size());
  out->push_back(static_cast<char>(kRecordVersion));
  out->push_back(static_cast<char>(state));
  PutI64(out, created_ms);
  PutI64(out, updated_ms);
  PutU32(out, static_cast<uint32_t>(fingerprint.size()));
  out->append(fingerprint.data(), fingerprint.size());
  PutU32(out, static_cast<uint32_t>(reply.size()));
  out->append(reply.data(), reply.size());
}

const char* DecodeInto(absl::string_view key, absl::string_view value, Record* out) {
  if (value.size() < kHeaderSize + 4) return "record value truncated (header)";
  const char* p = value.data();
  if (static_cast<uint8_t>(p[0]) != kRecordVersion) return "unknown record version";
  const uint8_t state = static_cast<uint8_t>(p[kStateOffset]);
  if (!IsStoredState(state)) return "invalid record state";
  size_t pos = kHeaderSize;
  const size_t fp_len = GetU32(p + pos);
  pos += 4;
  if (fp_len > value.size() - pos) return "record value truncated (fingerprint)";
  const size_t fp_pos = pos;
  pos += fp_len;
  if (value.size() - pos < 4) return "record value truncated (reply length)";
  const size_t reply_len = GetU32(p + pos);
  pos += 4;
  if (reply_len != value.size() - pos) return "record value length mismatch (reply)";
  out->key.assign(key.data(), key.size());
  out->state = static_cast<RecordState>(state);
  out->created_unix_ms = GetI64(p + kCreatedOffset);
  out->updated_unix_ms = GetI64(p + kUpdatedOffset);
  out->fingerprint.assign(p + fp_pos, fp_len);
  out->reply.assign(p + pos, reply_len);
  return nullptr;
}

}  // namespace internal

std::string EncodeRecordValue(const Record& r) {
  std::string out;
  internal::EncodeParts(r.state, r.created_unix_ms, r.updated_unix_ms, r.fingerprint, r.reply,
                        &out);
  return out;
}

absl::StatusOr<Record> DecodeRecordValue(absl::string_view key, absl::string_view value) {
  Record r;
  if (const char* why = internal::DecodeInto(key, value, &r)) return absl::DataLossError(why);
  return r;
}

}  // namespace ordergate::idempotency
