// Order scope: whose uuid an order is, and the names it goes by in the store and at the bridge.
//
//   std::string key, bridge_uuid;
//   AppendStoreKey("strategy-a", "ord-1", &key);          // "strategy-a\0ord-1"
//   AppendBridgeUuid("strategy-a", "ord-1", &bridge_uuid);  // "og" + 32 hex digits
//   ScopedUuid s = SplitStoreKey(key);                      // {"strategy-a", "ord-1"}
//
// Why: with CURVE on, a uuid is the idempotency key of one authenticated client (section 2 of
// the contract): two clients may send the same uuid and they are two orders, and neither can read
// or replay the other's outcome. So the store key is the identity and the uuid, and the uuid sent
// to the bridge must be unique across clients, because the bridge link pairs replies by it and
// ORDER_STATUS asks the bridge about it. Without CURVE the identity is empty and both names are
// the uuid itself: the one global scope of every store written before identities, unchanged.
//
//   - store key:   uuid                              (empty identity)
//                  identity + '\0' + uuid             (otherwise; no uuid or name contains '\0')
//   - bridge uuid: uuid                              (empty identity)
//                  "og" + hex(SHA-256(identity '\0' uuid))[0..32)   (otherwise)
//
// The bridge uuid of a named client is "og" and 32 lowercase hex digits (within the contract's
// uuid rules, so the bridge takes it as any other), derived from the key alone: a restarted
// gateway asks about an UNKNOWN order under the name it was sent with. Two orders share one only
// by a collision of SHA-256's first 128 bits. A client of the global scope could send a uuid of
// that very form, which is why a front end has one mechanism: CURVE for every client or for none
// (a store that held global-scope orders before CURVE was turned on keeps them under their own
// uuids). The audit log records each mapping (identity, uuid, bridge uuid) for reconciliation
// with MT5's journal.
//
// Thread-safety: pure functions. Allocation: only by appending to `out`.
#ifndef ORDERGATE_TRANSPORT_ORDER_SCOPE_H_
#define ORDERGATE_TRANSPORT_ORDER_SCOPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ordergate {

// Appends the store key of `uuid` as sent by `identity` to *out.
void AppendStoreKey(absl::string_view identity, absl::string_view uuid, std::string* out);

// Appends the uuid under which the order of `uuid` from `identity` travels to the bridge.
void AppendBridgeUuid(absl::string_view identity, absl::string_view uuid, std::string* out);

struct ScopedUuid {
  absl::string_view identity;  // empty: no CURVE (the global scope)
  absl::string_view uuid;
};

// The parts of a store key (views into `key`). A key without '\0' is a uuid of the global scope.
ScopedUuid SplitStoreKey(absl::string_view key);

// "identity/uuid", or the uuid alone for the empty identity: how logs and tools name an order.
std::string OrderLabel(absl::string_view key);

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_ORDER_SCOPE_H_
