// Helpers for the end-to-end tests: child processes (ordergated, ordergate-bridge-sim), temporary
// directories, the simulator's journal, raw ZeroMQ clients and JSON replies.
//
// Everything here is parallel-safe: ports come from the kernel (tcp://127.0.0.1:*), every test has
// its own directory, and every child process is killed when its handle goes away (and by the kernel
// through PR_SET_PDEATHSIG if the test binary itself dies).
#pragma once

#include <simdjson.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace e2e {

using Ms = std::chrono::milliseconds;

// The directory holding ordergated and ordergate-bridge-sim.
std::string BinDir();

// /usr/bin/python3 with Debian's python3-zmq: what the Python strategy scripts need (tests that run
// them skip with a warning without it).
bool HavePythonZmq();

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction
// (tests/support/temp_dir.h; kept when ORDERGATE_E2E_KEEP is set).
class TempDir : public ordergate::test_support::TempDir {
 public:
  TempDir() : ordergate::test_support::TempDir("ordergate-e2e-") {}
};

// A child process started with fork/execv: stdout lines kept, stderr to a file, SIGKILLed on
// destruction (tests/support/child_process.h).
using Process = ordergate::test_support::Process;

// One parsed JSON document (reply or journal line). Copies share the document.
class Json {
 public:
  static std::optional<Json> Parse(std::string_view text);
  const std::string& raw() const { return *raw_; }
  // `path` is "key" or "key.sub". Missing or wrong type -> nullopt.
  std::optional<std::string> Str(std::string_view path) const;
  std::optional<int64_t> Int(std::string_view path) const;
  std::optional<double> Num(std::string_view path) const;
  std::optional<bool> Bool(std::string_view path) const;
  bool Has(std::string_view path) const;
  std::optional<simdjson::dom::element> Get(std::string_view path) const;
  // Convenience: Str or "".
  std::string S(std::string_view path) const { return Str(path).value_or(""); }

 private:
  std::shared_ptr<std::string> raw_;
  std::shared_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
};

// The simulator's journal: one line per executed order.
struct JournalEntry {
  std::string uuid;
  std::string action;
  int64_t ticket = 0;
};
struct Journal {
  std::vector<JournalEntry> entries;
  size_t unreadable_lines = 0;
  std::map<std::string, std::vector<JournalEntry>> by_uuid;
  size_t Count(const std::string& uuid) const;
  std::optional<int64_t> Ticket(const std::string& uuid) const;  // first execution's ticket
  std::vector<std::string> Duplicates() const;                   // uuids executed more than once
};
Journal ReadJournal(const std::string& path);

// A REQ client like MT5-CRS strategies use. On a receive timeout the socket is rebuilt (a REQ
// socket is stuck after an unanswered request).
class ReqClient {
 public:
  ReqClient(zmq::context_t& ctx, std::string endpoint);
  std::optional<std::string> Call(const std::string& body, Ms timeout = Ms(5000));
  std::optional<Json> CallJson(const std::string& body, Ms timeout = Ms(5000));

 private:
  void Reset();
  zmq::context_t& ctx_;
  std::string endpoint_;
  std::unique_ptr<zmq::socket_t> sock_;
};

// A DEALER client: sends [empty][json], may have many requests outstanding.
class DealerClient {
 public:
  DealerClient(zmq::context_t& ctx, const std::string& endpoint);
  void Send(const std::string& body);
  void SendFrames(const std::vector<std::string>& frames);
  std::optional<std::string> Recv(Ms timeout);  // the body of the next reply
  std::optional<Json> RecvJson(Ms timeout);

 private:
  zmq::socket_t sock_;
};

// Request bodies.
std::string OpenBody(const std::string& uuid, double volume = 0.1, const std::string& extra = "");
std::string CloseBody(const std::string& uuid, int64_t ticket, const std::string& extra = "");
std::string StatusBody(const std::string& uuid);
std::string PingBody();
std::string UniqueId(std::string_view prefix);  // unique across processes and calls

// Lines of the *.stderr files in `dir` that report a sanitizer finding (ASan/UBSan/LSan builds).
std::vector<std::string> SanitizerReports(const std::string& dir);

// HTTP GET on 127.0.0.1:port; returns {status code, body}, code 0 if the connection failed.
std::pair<int, std::string> HttpGet(int port, const std::string& path, Ms timeout = Ms(3000));
// A TCP port that was free a moment ago (for a bridge that is started later).
int FreePort();

// One test's world: a temp dir, a ZeroMQ context, a simulator and a gateway.
struct World {
  TempDir dir;
  zmq::context_t ctx;
  std::unique_ptr<Process> sim;
  std::unique_ptr<Process> gw;
  std::string sim_endpoint;
  std::string gw_endpoint;
  int metrics_port = 0;
  int gw_starts = 0;
  int sim_starts = 0;

  World();
  ~World();
  std::string journal() const { return dir.File("journal.jsonl"); }
  std::string data_dir() const { return dir.File("data"); }

  // Starts the simulator with --journal journal() and --bind `bind` plus `extra`; REQUIREs it
  // ready.
  void StartSim(const std::vector<std::string>& extra,
                const std::string& bind = "tcp://127.0.0.1:*");
  // Starts ordergated on data_dir() against `bridge` (sim_endpoint if empty) plus `extra` (later
  // flags win); REQUIREs it ready.
  void StartGateway(const std::vector<std::string>& extra, const std::string& bridge = "");
  // StartGateway(extra) against the running simulator, then REQUIREs the bridge link up.
  void StartGatewayLinked(const std::vector<std::string>& extra);
  // StartSim(sim_extra), then StartGatewayLinked(gw_extra): the usual start of a test.
  void Start(const std::vector<std::string>& sim_extra = {},
             const std::vector<std::string>& gw_extra = {});
  // SIGTERM (or another signal) then wait; returns the decoded exit status (see Process::Decode).
  std::optional<int> StopGateway(int sig, Ms timeout = Ms(15000));
  void KillGateway();  // SIGKILL and reap
  // Polls PING until gateway.bridge == want; true when seen.
  bool WaitBridge(const std::string& want, Ms timeout = Ms(10000));
};

// One run of the real ordergatectl against the world's gateway (--gateway 127.0.0.1:<metrics
// port> before `args`); REQUIREs it exits within 20 s.
struct CtlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CtlRun Ctl(World& w, const std::vector<std::string>& args);

}  // namespace e2e
