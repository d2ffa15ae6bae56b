// Relay correlation: the top-level "uuid" of a GET_ACCOUNT / GET_POSITIONS body, read and swapped.
//
//   RelayUuid client;
//   std::string to_bridge;
//   if (SwapTopLevelUuid(body, "\"ordergate#relay-7\"", &to_bridge, &client)) { ... }
//   // ... the bridge echoes "ordergate#relay-7"; the link pairs the reply by it ...
//   std::string to_client;
//   SwapTopLevelUuid(reply, client.json, &to_client, nullptr);
//
// Why: the bridge echoes uuids and the bridge link pairs replies by them. A relay sent under the
// strategy's own uuid can collide with an order's uuid, with another client's relay ("acct") or
// with nothing at all (a uuid the link cannot carry): its late reply was then taken as an order's
// reply, or crossed to another client. So relays travel under ordergate's own correlation id,
// which contains '#', a character no order uuid may contain (section 2: [A-Za-z0-9._:-]), and the
// strategy's uuid is put back into the reply. Every other member is relayed byte for byte.
//
// Thread-safety: reentrant (a thread_local parser). Never throws; nothing here blocks. Allocates:
// relays are not the hot path.
#ifndef ORDERGATE_TRANSPORT_RELAY_UUID_H_
#define ORDERGATE_TRANSPORT_RELAY_UUID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ordergate {

// The top-level "uuid" member as it was: `json` is its value's JSON text ("null" when the member
// is absent), `text` the unescaped string when it is one.
struct RelayUuid {
  bool present = false;    // the member exists
  bool is_string = false;  // ...and is a JSON string
  std::string json = "null";
  std::string text;
};

// Writes `object` to *out with the value of its top-level "uuid" member replaced by `uuid_json`
// (a JSON value text, inserted as is), or with "uuid":<uuid_json> inserted as the first member
// when it has none. *old (optional) receives the member as it was. Nested "uuid" members are
// untouched. False (and *out unspecified) when `object` is not a JSON object.
bool SwapTopLevelUuid(absl::string_view object, absl::string_view uuid_json, std::string* out,
                      RelayUuid* old);

// Reads the top-level "uuid" member of `object` into *out. False when `object` is not a JSON
// object (then *out says absent).
bool ReadTopLevelUuid(absl::string_view object, RelayUuid* out);

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_RELAY_UUID_H_
