// Helpers for the PostgreSQL store suites: the cluster (deploy/postgres/cluster.sh), a fresh schema
// per test, and a loopback TCP proxy that can cut the database off or lose the answer to a COMMIT.
#ifndef ORDERGATE_TESTS_IDEMPOTENCY_POSTGRES_TEST_UTIL_H_
#define ORDERGATE_TESTS_IDEMPOTENCY_POSTGRES_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "idempotency/postgres_store.h"

namespace ordergate::idempotency::pgtest {

// Runs `deploy/postgres/cluster.sh ARGS` and returns its last output line; REQUIREs success.
std::string ClusterScript(const std::string& args);

// The primary's DSN of the suite's cluster: with ORDERGATE_PG_CLUSTER_DIR set (ctest's fixture
// started it there), that cluster; otherwise one started in a temp dir at first use and stopped at
// exit. The standby is never promoted in it (the failover test starts a cluster of its own).
const std::string& SharedDsn();

// A fresh schema in the database of `dsn` (og_t<random>); returns `dsn` with search_path set to it,
// so each test sees empty tables of its own.
std::string FreshSchemaDsn(const std::string& dsn);

PostgresStoreOptions Options(const std::string& dsn, const std::string& gateway_id);
std::unique_ptr<PostgresStore> OpenOrDie(const PostgresStoreOptions& o);

// Runs SQL on a connection of its own (test set-up and inspection); REQUIREs success. Returns the
// first column of the first row ("" when there is none).
std::string Sql(const std::string& dsn, const std::string& sql);

// "host=… port=P …" → P.
int PortOf(const std::string& dsn);
// `dsn` with its port replaced by `port`.
std::string WithPort(const std::string& dsn, int port);

// Relays 127.0.0.1:port() to 127.0.0.1:upstream_port, one thread per connection pair.
class TcpProxy {
 public:
  explicit TcpProxy(int upstream_port);
  ~TcpProxy();
  int port() const { return port_; }
  // While down, every open connection is closed and new ones are closed at once.
  void SetDown(bool down);
  // A black hole: while silent, nothing is relayed either way and nothing is closed (open
  // connections stall; new ones are accepted and held, never answered), as a dead peer or a
  // dropping firewall looks to a client. Ending the silence closes every connection that lived
  // through it (their streams lost bytes); new ones relay again.
  void SetSilent(bool silent);
  // The next simple-query "COMMIT" a client sends is forwarded to the server, and then both sides
  // are closed without relaying the answer: the COMMIT happened, its answer was lost.
  void LoseNextCommitAnswer() { lose_commit_answer_ = true; }
  // The next "COMMIT" is not forwarded: both sides are closed instead (the server rolls back).
  void DropNextCommit() { drop_commit_ = true; }
  int commits_seen() const { return commits_seen_; }
  // New connections go to 127.0.0.1:port from now on and every open one is closed: a failover
  // behind a fixed address (a virtual IP, HAProxy), which closes what was open to the old server.
  void SetUpstream(int port) {
    upstream_port_ = port;
    ++generation_;
  }

 private:
  void AcceptLoop();
  void Relay(int client, int server);
  std::atomic<int> upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> down_{false};
  std::atomic<bool> silent_{false};
  std::atomic<bool> lose_commit_answer_{false};
  std::atomic<bool> drop_commit_{false};
  std::atomic<int> commits_seen_{0};
  std::atomic<uint64_t> generation_{0};  // bumped by SetDown(true): relays of older ones close
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> relays_;
  std::vector<int> held_;  // connections accepted while silent (guarded by mu_)
};

}  // namespace ordergate::idempotency::pgtest

#endif  // ORDERGATE_TESTS_IDEMPOTENCY_POSTGRES_TEST_UTIL_H_
