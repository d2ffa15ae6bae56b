// Internal to the bridge simulator: a minimal JSON writer (keys are literals, values escaped) and
// the odd replies of issue 9 (finding 2). Not part of the simulator's public API (bridge_sim.h).
// Everything here is plain code: non-blocking, no shared state, safe from any thread.
#ifndef ORDERGATE_TRANSPORT_SIM_SIM_JSON_H_
#define ORDERGATE_TRANSPORT_SIM_SIM_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "transport/sim/bridge_sim.h"

namespace ordergate::transport::sim::internal {

// Appends `s` as a JSON string (quoted, escaped).
void AppendEscaped(std::string& out, std::string_view s);
void AppendInt(std::string& out, int64_t v);
// The shortest round-trip form; null for NaN/Inf; a double past the 64-bit integers keeps ".0".
void AppendDouble(std::string& out, double v);

// Writes one object into `out`: the constructor opens it, Close() closes it.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ObjectWriter& Str(std::string_view key, std::string_view v) {
    Key(key);
    AppendEscaped(out_, v);
    return *this;
  }
  ObjectWriter& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_ += json;
    return *this;
  }
  ObjectWriter& Int(std::string_view key, int64_t v) {
    Key(key);
    AppendInt(out_, v);
    return *this;
  }
  ObjectWriter& Num(std::string_view key, double v) {
    Key(key);
    AppendDouble(out_, v);
    return *this;
  }
  void Close() { out_ += '}'; }

 private:
  void Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }
  std::string& out_;
  bool first_ = true;
};

// What the odd reply `kind` (one OddReplyKind bit) says about an order with `uuid_json` (already
// JSON): none of them settles the order. `ticket` is the real ticket when the order executed (0
// when not), shown only by the no-status reply; the FILLED ones carry their bogus ticket instead.
std::string OddReplyText(uint32_t kind, const std::string& uuid_json, int64_t ticket,
                         std::string_view symbol, double volume, double price,
                         const std::string& timestamp);

// The kinds set in `mask`, in bit order (for a uniform draw).
int CountOddReplyKinds(uint32_t mask);
uint32_t NthOddReplyKind(uint32_t mask, int n);

}  // namespace ordergate::transport::sim::internal

#endif  // ORDERGATE_TRANSPORT_SIM_SIM_JSON_H_
