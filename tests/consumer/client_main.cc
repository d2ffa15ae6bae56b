// A strategy's smallest use of the installed C++ client (tests/consumer/run.sh): one order through
// ordergated at argv[1] under the uuid argv[2] (default: a UUIDv4 the client makes).
//
//   consumer_client tcp://127.0.0.1:PORT [UUID]
//
// Prints the outcome; exit 0 only when it is FILLED with a ticket, 1 otherwise (stderr says why),
// 2 for a bad command line.
#include <cstdio>
#include <memory>
#include <string>

#include "ordergate/client.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: consumer_client GATEWAY_ENDPOINT [UUID]\n");
    return 2;
  }
  ordergate::ClientOptions options;
  options.endpoint = argv[1];
  auto connected = ordergate::Client::Connect(options);
  if (!connected.ok()) {
    std::fprintf(stderr, "consumer_client: connect: %s\n",
                 std::string(connected.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<ordergate::Client> client = std::move(*connected);
  ordergate::Order order;
  order.uuid = argc == 3 ? argv[2] : "";
  order.symbol = "EURUSD";
  order.type = ordergate::TradeType::kBuy;
  order.volume = 0.01;
  const ordergate::Outcome out = client->SubmitAndWait(order);
  std::printf("%s %s ticket=%lld error_code=%s timeout_ms=%lld\n", out.uuid.c_str(),
              ordergate::OutcomeStatusName(out.status), static_cast<long long>(out.ticket),
              out.error_code.c_str(), static_cast<long long>(client->request_timeout_ms()));
  client->Close();
  if (out.status != ordergate::OutcomeStatus::kFilled || out.ticket <= 0) {
    std::fprintf(stderr, "consumer_client: expected FILLED with a ticket\n");
    return 1;
  }
  return 0;
}
