#include "e2e_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "tests/support/clock.h"

namespace e2e {

namespace {

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// "key value" pairs of a line like `ordergated ready listen=X metrics_port=Y ...`.
std::string Field(const std::string& line, const std::string& key) {
  const std::string needle = " " + key + "=";
  const size_t pos = line.find(needle);
  if (pos == std::string::npos) return "";
  const size_t start = pos + needle.size();
  const size_t end = line.find(' ', start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

bool HavePythonZmq() {
  return access("/usr/bin/python3", X_OK) == 0 &&
         std::system("/usr/bin/python3 -c 'import zmq' 2>/dev/null") == 0;
}

std::string BinDir() {
  if (const char* env = std::getenv("ORDERGATE_E2E_BIN_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return ORDERGATE_BIN_DIR;
}

// ---------------------------------------------------------------------------------------------
// Json

std::optional<Json> Json::Parse(std::string_view text) {
  Json j;
  j.raw_ = std::make_shared<std::string>(text);
  j.parser_ = std::make_shared<simdjson::dom::parser>();
  if (j.parser_->parse(*j.raw_).get(j.root_) != simdjson::SUCCESS) return std::nullopt;
  return j;
}

std::optional<simdjson::dom::element> Json::Get(std::string_view path) const {
  simdjson::dom::element cur = root_;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    simdjson::dom::object obj;
    if (cur.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
    simdjson::dom::element next;
    if (obj.at_key(key).get(next) != simdjson::SUCCESS) return std::nullopt;
    cur = next;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return cur;
}

std::optional<std::string> Json::Str(std::string_view path) const {
  auto e = Get(path);
  if (!e) return std::nullopt;
  std::string_view sv;
  if (e->get_string().get(sv) != simdjson::SUCCESS) return std::nullopt;
  return std::string(sv);
}

std::optional<int64_t> Json::Int(std::string_view path) const {
  auto e = Get(path);
  if (!e) return std::nullopt;
  int64_t v = 0;
  if (e->get_int64().get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

std::optional<double> Json::Num(std::string_view path) const {
  auto e = Get(path);
  if (!e) return std::nullopt;
  double v = 0;
  if (e->get_double().get(v) == simdjson::SUCCESS) return v;
  int64_t i = 0;
  if (e->get_int64().get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  return std::nullopt;
}

std::optional<bool> Json::Bool(std::string_view path) const {
  auto e = Get(path);
  if (!e) return std::nullopt;
  bool v = false;
  if (e->get_bool().get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

bool Json::Has(std::string_view path) const { return Get(path).has_value(); }

// ---------------------------------------------------------------------------------------------
// Journal

size_t Journal::Count(const std::string& uuid) const {
  auto it = by_uuid.find(uuid);
  return it == by_uuid.end() ? 0 : it->second.size();
}

std::optional<int64_t> Journal::Ticket(const std::string& uuid) const {
  auto it = by_uuid.find(uuid);
  if (it == by_uuid.end() || it->second.empty()) return std::nullopt;
  return it->second.front().ticket;
}

std::vector<std::string> Journal::Duplicates() const {
  std::vector<std::string> out;
  for (const auto& [uuid, v] : by_uuid) {
    if (v.size() > 1) out.push_back(uuid);
  }
  return out;
}

Journal ReadJournal(const std::string& path) {
  Journal j;
  std::ifstream in(path);
  if (!in) return j;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto doc = Json::Parse(line);
    if (!doc) {
      ++j.unreadable_lines;
      continue;
    }
    JournalEntry e;
    e.uuid = doc->S("uuid");
    e.action = doc->S("action");
    e.ticket = doc->Int("ticket").value_or(0);
    j.by_uuid[e.uuid].push_back(e);
    j.entries.push_back(std::move(e));
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// Clients

ReqClient::ReqClient(zmq::context_t& ctx, std::string endpoint)
    : ctx_(ctx), endpoint_(std::move(endpoint)) {
  Reset();
}

void ReqClient::Reset() {
  sock_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::req);
  sock_->set(zmq::sockopt::linger, 0);
  sock_->connect(endpoint_);
}

std::optional<std::string> ReqClient::Call(const std::string& body, Ms timeout) {
  sock_->send(zmq::buffer(body), zmq::send_flags::none);
  zmq::pollitem_t item{sock_->handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if ((item.revents & ZMQ_POLLIN) == 0) {
    Reset();
    return std::nullopt;
  }
  zmq::message_t msg;
  if (!sock_->recv(msg, zmq::recv_flags::none)) {
    Reset();
    return std::nullopt;
  }
  return msg.to_string();
}

std::optional<Json> ReqClient::CallJson(const std::string& body, Ms timeout) {
  auto r = Call(body, timeout);
  if (!r) return std::nullopt;
  return Json::Parse(*r);
}

DealerClient::DealerClient(zmq::context_t& ctx, const std::string& endpoint)
    : sock_(ctx, zmq::socket_type::dealer) {
  sock_.set(zmq::sockopt::linger, 0);
  sock_.connect(endpoint);
}

void DealerClient::Send(const std::string& body) { SendFrames({"", body}); }

void DealerClient::SendFrames(const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    sock_.send(zmq::buffer(frames[i]), flags);
  }
}

std::optional<std::string> DealerClient::Recv(Ms timeout) {
  zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if ((item.revents & ZMQ_POLLIN) == 0) return std::nullopt;
  std::vector<std::string> frames;
  for (;;) {
    zmq::message_t m;
    if (!sock_.recv(m, zmq::recv_flags::none)) return std::nullopt;
    frames.push_back(m.to_string());
    if (!m.more()) break;
  }
  return frames.back();  // [empty][json]: the body is the last frame
}

std::optional<Json> DealerClient::RecvJson(Ms timeout) {
  auto r = Recv(timeout);
  if (!r) return std::nullopt;
  return Json::Parse(*r);
}

std::string OpenBody(const std::string& uuid, double volume, const std::string& extra) {
  char vol[64];
  std::snprintf(vol, sizeof vol, "%.2f", volume);
  std::string b = R"({"action":"OPEN","uuid":")" + JsonEscape(uuid) +
                  R"(","symbol":"EURUSD","type":"BUY","volume":)" + vol;
  if (!extra.empty()) b += "," + extra;
  return b + "}";
}

std::string CloseBody(const std::string& uuid, int64_t ticket, const std::string& extra) {
  std::string b = R"({"action":"CLOSE","uuid":")" + JsonEscape(uuid) + R"(","ticket":)" +
                  std::to_string(ticket);
  if (!extra.empty()) b += "," + extra;
  return b + "}";
}

std::string StatusBody(const std::string& uuid) {
  return R"({"action":"ORDER_STATUS","uuid":")" + JsonEscape(uuid) + R"("})";
}

std::string PingBody() { return R"({"action":"PING","uuid":")" + UniqueId("ping") + R"("})"; }

std::string UniqueId(std::string_view prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*s-%d-%llx-%llu", static_cast<int>(prefix.size()),
                prefix.data(), static_cast<int>(::getpid()),
                static_cast<unsigned long long>(salt & 0xffffff),
                static_cast<unsigned long long>(counter.fetch_add(1)));
  return buf;
}

std::vector<std::string> SanitizerReports(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".stderr") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("ERROR: AddressSanitizer") != std::string::npos ||
          line.find("ERROR: LeakSanitizer") != std::string::npos ||
          line.find("runtime error:") != std::string::npos) {
        out.push_back(entry.path().filename().string() + ": " + line);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTTP and ports

std::pair<int, std::string> HttpGet(int port, const std::string& path, Ms timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {0, ""};
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {0, ""};
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return {0, ""};
  }
  std::string resp;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  int code = 0;
  if (std::sscanf(resp.c_str(), "HTTP/1.%*d %d", &code) != 1) return {0, resp};
  const size_t body = resp.find("\r\n\r\n");
  return {code, body == std::string::npos ? "" : resp.substr(body + 4)};
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---------------------------------------------------------------------------------------------
// World

World::World() = default;

World::~World() {
  // Gateway first (it talks to the simulator), then the simulator; both are SIGKILLed if alive.
  gw.reset();
  sim.reset();
}

void World::StartSim(const std::vector<std::string>& extra, const std::string& bind) {
  std::vector<std::string> args = {"--bind", bind, "--journal", journal(), "--log-level", "warn"};
  args.insert(args.end(), extra.begin(), extra.end());
  ++sim_starts;
  sim = std::make_unique<Process>(BinDir() + "/ordergate-bridge-sim", args,
                                  dir.File("sim-" + std::to_string(sim_starts) + ".stderr"));
  const std::string prefix = "ordergate-bridge-sim listening on ";
  auto line = sim->WaitForLine(prefix, Ms(15000));
  INFO("simulator stderr:\n" << sim->Stderr());
  REQUIRE(line.has_value());
  sim_endpoint = line->substr(prefix.size());
  REQUIRE(sim_endpoint.rfind("tcp://", 0) == 0);
}

void World::StartGateway(const std::vector<std::string>& extra, const std::string& bridge) {
  std::vector<std::string> args = {"--listen",         "tcp://127.0.0.1:*",
                                   "--bridge",         bridge.empty() ? sim_endpoint : bridge,
                                   "--data-dir",       data_dir(),
                                   "--log-level",      "warn",
                                   "--metrics-listen", "127.0.0.1:0",
                                   "--retention",      "7d"};
  args.insert(args.end(), extra.begin(), extra.end());
  ++gw_starts;
  gw = std::make_unique<Process>(BinDir() + "/ordergated", args,
                                 dir.File("gw-" + std::to_string(gw_starts) + ".stderr"));
  auto line = gw->WaitForLine("ordergated ready ", Ms(20000));
  INFO("ordergated stderr:\n" << gw->Stderr());
  REQUIRE(line.has_value());
  gw_endpoint = Field(*line, "listen");
  const std::string mp = Field(*line, "metrics_port");
  metrics_port = mp.empty() ? 0 : std::atoi(mp.c_str());
  REQUIRE(gw_endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
  REQUIRE(gw_endpoint.find('*') == std::string::npos);
  REQUIRE(Field(*line, "data_dir") == data_dir());
}

void World::StartGatewayLinked(const std::vector<std::string>& extra) {
  StartGateway(extra);
  REQUIRE(WaitBridge("up"));
}

void World::Start(const std::vector<std::string>& sim_extra,
                  const std::vector<std::string>& gw_extra) {
  StartSim(sim_extra);
  StartGatewayLinked(gw_extra);
}

std::optional<int> World::StopGateway(int sig, Ms timeout) {
  if (!gw) return std::nullopt;
  gw->Signal(sig);
  auto st = gw->Wait(timeout);
  if (!st) return std::nullopt;
  return Process::Decode(*st);
}

void World::KillGateway() {
  if (!gw) return;
  gw->Signal(SIGKILL);
  gw->Wait(Ms(10000));
}

bool World::WaitBridge(const std::string& want, Ms timeout) {
  ReqClient c(ctx, gw_endpoint);
  return ordergate::test_support::WaitUntil(
      [&] {
        auto r = c.CallJson(PingBody(), Ms(3000));
        return r && r->S("gateway.bridge") == want;
      },
      timeout, Ms(50));
}

CtlRun Ctl(World& w, const std::vector<std::string>& args) {
  static int runs = 0;
  std::vector<std::string> full = {"--gateway", "127.0.0.1:" + std::to_string(w.metrics_port)};
  full.insert(full.end(), args.begin(), args.end());
  const std::string err_file = w.dir.File("ctl-" + std::to_string(++runs) + ".stderr");
  Process p(BinDir() + "/ordergatectl", full, err_file);
  const auto st = p.Wait(Ms(20000));
  REQUIRE(st.has_value());
  CtlRun r;
  r.exit_code = Process::Decode(*st);
  for (const std::string& line : p.StdoutLines()) r.out += line + "\n";
  r.err = p.Stderr();
  return r;
}

}  // namespace e2e
