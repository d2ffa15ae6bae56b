// Helpers for the PostgreSQL store suites (postgres_test_util.h).
#include "tests/idempotency/postgres_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <regex>

#include "absl/strings/str_cat.h"
#include "idempotency/postgres_connection.h"
#include "tests/support/temp_dir.h"

namespace ordergate::idempotency::pgtest {

std::string ClusterScript(const std::string& args) {
  const std::string cmd =
      absl::StrCat(ORDERGATE_SOURCE_DIR, "/deploy/postgres/cluster.sh ", args, " 2>&1");
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  const int rc = pclose(f);
  INFO("cluster.sh " << args << ":\n" << out);
  REQUIRE(rc == 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

namespace {

struct SharedCluster {
  std::string dir;
  bool owned = false;
  std::string dsn;
  ~SharedCluster() {
    if (owned) {
      std::system(absl::StrCat(ORDERGATE_SOURCE_DIR, "/deploy/postgres/cluster.sh stop ", dir,
                               " >/dev/null 2>&1; rm -rf ", dir.substr(0, dir.rfind('/')))
                      .c_str());
    }
  }
};

}  // namespace

const std::string& SharedDsn() {
  static SharedCluster* cluster = [] {
    auto* c = new SharedCluster;
    const char* env = std::getenv("ORDERGATE_PG_CLUSTER_DIR");
    if (env != nullptr && *env != '\0') {
      c->dir = env;
    } else {
      const std::string parent = test_support::MakeTempDir("ordergate-pg-");
      ::chmod(parent.c_str(), 0755);  // the servers may run as another user (root → postgres)
      c->dir = parent + "/cluster";
      c->owned = true;
    }
    c->dsn = ClusterScript("start " + c->dir);
    static std::unique_ptr<SharedCluster> keeper(c);  // stopped at exit
    return c;
  }();
  return cluster->dsn;
}

std::string Sql(const std::string& dsn, const std::string& sql) {
  pg::PgConnection c;
  absl::Status s = c.Connect(dsn, 5'000, 10'000, {});
  INFO("connect " << dsn << ": " << s.ToString());
  REQUIRE(s.ok());
  pg::PgResult r;
  s = c.Exec(sql.c_str(), {}, &r);
  INFO(sql << ": " << c.last_error());
  REQUIRE(s.ok());
  return r.rows() > 0 && r.columns() > 0 ? r.Get(0, 0) : std::string();
}

std::string FreshSchemaDsn(const std::string& dsn) {
  std::random_device rd;
  const std::string schema = absl::StrCat("og_t", rd(), rd() % 1000);
  Sql(dsn, "CREATE SCHEMA " + schema);
  return absl::StrCat(dsn, " options='-c search_path=", schema, "'");
}

PostgresStoreOptions Options(const std::string& dsn, const std::string& gateway_id) {
  PostgresStoreOptions o;
  o.dsn = dsn;
  o.gateway_id = gateway_id;
  o.pool_size = 2;
  o.statement_timeout_ms = 5'000;
  o.connect_timeout_ms = 2'000;
  return o;
}

std::unique_ptr<PostgresStore> OpenOrDie(const PostgresStoreOptions& o) {
  absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
  INFO("PostgresStore::Open: " << s.status().ToString());
  REQUIRE(s.ok());
  return std::move(*s);
}

int PortOf(const std::string& dsn) {
  std::smatch m;
  const std::regex re("port=([0-9]+)");
  REQUIRE(std::regex_search(dsn, m, re));
  return std::stoi(m[1].str());
}

std::string WithPort(const std::string& dsn, int port) {
  return std::regex_replace(dsn, std::regex("port=[0-9]+"), absl::StrCat("port=", port));
}

TcpProxy::TcpProxy(int upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listen_fd_ >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(listen_fd_, 64) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  std::lock_guard<std::mutex> l(mu_);
  for (std::thread& t : relays_) t.join();
  for (int fd : held_) ::close(fd);
}

void TcpProxy::SetDown(bool down) {
  if (down) ++generation_;
  down_ = down;
}

void TcpProxy::SetSilent(bool silent) {
  if (!silent) {
    ++generation_;  // the relays that stalled close
    std::lock_guard<std::mutex> l(mu_);
    for (int fd : held_) ::close(fd);
    held_.clear();
  }
  silent_ = silent;
}

void TcpProxy::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    if (down_) {
      ::close(client);
      continue;
    }
    if (silent_) {
      std::lock_guard<std::mutex> l(mu_);
      held_.push_back(client);
      continue;
    }
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(upstream_port_.load()));
    if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(server);
      ::close(client);
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    relays_.emplace_back([this, client, server] { Relay(client, server); });
  }
}

void TcpProxy::Relay(int client, int server) {
  const uint64_t generation = generation_;
  std::vector<char> buf(1 << 16);
  // Client → server framing: the startup message has no type byte, every later one does.
  bool startup = true;
  std::string header;    // bytes of the current message's header seen so far
  size_t remaining = 0;  // payload bytes of the current message still to pass
  bool close_now = false;
  while (!stop_ && !close_now && generation == generation_) {
    if (silent_) {  // stalled: nothing read, nothing sent, nothing closed
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) continue;
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(server, buf.data(), buf.size());
      if (n <= 0 || ::send(client, buf.data(), static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(client, buf.data(), buf.size());
      if (n <= 0) break;
      bool commit = false;
      for (ssize_t i = 0; i < n;) {
        if (remaining > 0) {
          const size_t take = std::min(remaining, static_cast<size_t>(n - i));
          if (header.size() == 5 && header[0] == 'Q' && take >= 6 &&
              std::memcmp(buf.data() + i, "COMMIT", 6) == 0) {
            commit = true;
          }
          header.push_back('+');  // only the first slice of a payload is looked at
          remaining -= take;
          i += static_cast<ssize_t>(take);
          if (remaining == 0) header.clear();
          continue;
        }
        header.push_back(buf[static_cast<size_t>(i++)]);
        const size_t need = startup ? 4 : 5;
        if (header.size() == need) {
          uint32_t len = 0;
          std::memcpy(&len, header.data() + need - 4, 4);
          len = ntohl(len);
          remaining = len - 4;
          if (startup) header.assign(5, '\0');  // never taken for a 'Q'
          startup = false;
          if (remaining == 0) header.clear();
        }
      }
      if (commit) ++commits_seen_;
      if (commit && drop_commit_.exchange(false)) break;
      if (::send(server, buf.data(), static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
      if (commit && lose_commit_answer_.exchange(false)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the server commit
        close_now = true;
      }
    }
  }
  ::close(client);
  ::close(server);
}

}  // namespace ordergate::idempotency::pgtest
