// ordergatectl keygen NAME DIR (gateway/ordergatectl.h): a CURVE keypair in czmq's certificate
// format (transport/curve_cert.h), for the gateway (its curve_secret_cert) or for a client (its
// public half goes into the gateway's curve_clients_dir). Works offline: no gateway is asked.
#include <memory>
#include <string>

#include "gateway/ordergatectl.h"
#include "transport/curve_cert.h"

namespace ordergate::gateway::ctl {

CtlCommand AddKeygenCommand(CLI::App& app) {
  struct Args {
    std::string name;
    std::string dir;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "keygen",
      "write a CURVE keypair as DIR/NAME.key (public certificate, 0644) and DIR/NAME.key_secret\n"
      "(secret, 0600) in czmq's format; DIR is created 0700 when missing; never overwrites");
  sub->add_option("NAME", args->name,
                  "the certificate's metadata.name: a client's identity on the gateway\n"
                  "(1..64 characters of A-Z a-z 0-9 . _ -)")
      ->required();
  sub->add_option("DIR", args->dir, "where to write the pair")->required();
  return {sub, [args](Context& ctx) {
            auto written = transport::WriteCurveCertificatePair(args->dir, args->name);
            if (!written.ok()) {
              ctx.err() << "ordergatectl: keygen: " << written.status().message() << "\n";
              return 1;
            }
            ctx.out() << "public certificate: " << written->public_path << " (0644)\n"
                      << "secret certificate: " << written->secret_path
                      << " (0600; keep it on the host that uses it)\n"
                      << "public key: " << written->public_key << "\n";
            return 0;
          }};
}

}  // namespace ordergate::gateway::ctl
