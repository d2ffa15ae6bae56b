// A strategy's smallest use of the installed ordergate (tests/consumer/run.sh): one order through
// the embedded gateway to the bridge at argv[1], with the store in argv[2], under the uuid argv[3]
// (default "consumer-1").
//
//   consumer tcp://127.0.0.1:PORT /tmp/data-dir [UUID]
//
// Prints the outcome's wire reply; exit 0 only when it is FILLED with a ticket, 1 otherwise
// (stderr says why), 2 for a bad command line.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "ordergate/gateway.h"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: consumer BRIDGE_ENDPOINT DATA_DIR [UUID]\n");
    return 2;
  }
  ordergate::GatewayOptions options;
  options.bridge_endpoint = argv[1];
  options.data_dir = argv[2];
  auto opened = ordergate::Gateway::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "consumer: open: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<ordergate::Gateway> gw = std::move(*opened);

  // Open() does not wait for the bridge; an order before the link is up would be refused with
  // BRIDGE_DOWN (not recorded, so it could be sent again; waiting is simpler here). At most 10 s.
  for (int i = 0; i < 500 && !gw->stats().bridge_up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  ordergate::Order order;
  order.uuid = argc == 4 ? argv[3] : "consumer-1";
  order.symbol = "EURUSD";
  order.type = ordergate::TradeType::kBuy;
  order.volume = 0.01;
  const ordergate::Outcome out = gw->SubmitAndWait(order);
  std::printf("%s %s ticket=%lld error_code=%s reply=%s\n", out.uuid.c_str(),
              ordergate::OutcomeStatusName(out.status), static_cast<long long>(out.ticket),
              out.error_code.c_str(), out.reply_json.c_str());
  const absl::Status closed = gw->Close();
  if (!closed.ok()) {
    std::fprintf(stderr, "consumer: close: %s\n", std::string(closed.message()).c_str());
    return 1;
  }
  if (out.status != ordergate::OutcomeStatus::kFilled || out.ticket <= 0) {
    std::fprintf(stderr, "consumer: expected FILLED with a ticket\n");
    return 1;
  }
  return 0;
}
