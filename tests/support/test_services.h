// Real services for integration tests: a throwaway PostgreSQL 15 server and a
// dev broker process, started on first use, one of each per test executable,
// and torn down at exit (also when tests fail). Tests never skip: when a service
// cannot start, the test fails with the reason. Not thread-safe: call from the
// test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sluice::testing {

class PostgresServer {
 public:
  // initdb in a fresh temp dir (as the postgres user when running as root), a
  // free port, the socket in the temp dir. The temp dir is created under
  // $SLUICE_TEST_RUN_DIR when set (scripts/test.sh stops the servers left
  // there), else in the system temp dir. Throws std::runtime_error on failure.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // URL of database `database` as the superuser.
  std::string url(const std::string& database = "postgres") const;
  // Creates a fresh database and returns its URL: isolation between tests.
  std::string create_database(const std::string& name);

  // Stops the server (`mode`: smart, fast, immediate) and starts it again on the
  // same port, for outage tests.
  void stop(const std::string& mode = "immediate");
  void start();
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::string pg_ctl(const std::string& args) const;

  std::string root_dir_;
  std::string data_dir_;
  int port_ = 0;
  bool running_ = false;
};

class DevBrokerProcess {
 public:
  // Runs the sluice-dev-broker executable with `brokers` brokers.
  explicit DevBrokerProcess(int brokers = 1);
  ~DevBrokerProcess();
  DevBrokerProcess(const DevBrokerProcess&) = delete;
  DevBrokerProcess& operator=(const DevBrokerProcess&) = delete;

  const std::string& bootstrap_servers() const { return bootstrap_; }
  // Sends one control command; returns the broker's reply ("ok" or "error: ...").
  std::string control(const std::string& command) const;
  void create_topic(const std::string& topic, int partitions) const;
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  std::string bootstrap_;
  std::string control_address_;
  pid_t pid_ = -1;
};

// The per-executable instances.
PostgresServer& postgres();
DevBrokerProcess& dev_broker();

// A name unique within this test run, safe as a topic, table or database name.
std::string unique_name(const std::string& prefix);

// Runs `sql` on `url` and returns the rows as text (nullopt for NULL).
// Throws std::runtime_error with PostgreSQL's message on failure.
using SqlRow = std::vector<std::optional<std::string>>;
std::vector<SqlRow> query(const std::string& url, const std::string& sql);
// The single value of a one-row, one-column query.
std::optional<std::string> query_value(const std::string& url, const std::string& sql);
// The rows of `sql` on `url` as one text: values joined by ',', each row ended
// by ';', NULL as "NULL" ("1,a;2,NULL;").
std::string rows(const std::string& url, const std::string& sql);

// Runs `copy_statement` (COPY ... FROM STDIN) on `url` with `data` as input.
void copy_in(const std::string& url, const std::string& copy_statement, const std::string& data);

// A sluice process started by a test; stdout and stderr go to `log_path`.
// Killed (SIGKILL) when destroyed while still running.
class SluiceProcess {
 public:
  SluiceProcess(const std::vector<std::string>& arguments, std::string log_path);
  ~SluiceProcess();
  SluiceProcess(const SluiceProcess&) = delete;
  SluiceProcess& operator=(const SluiceProcess&) = delete;

  // The exit code (128 + signal when killed by one), or nullopt while it still
  // runs after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void send_signal(int signal) const;
  std::string log() const;
  pid_t pid() const { return pid_; }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// The properties of a `sluice run` against these services: `topic` into table
// `orders` of `database_url`, consumer group `group`, dead letters to `dlq`,
// metrics off, and a short session (the dev broker holds a group for
// session.timeout.ms - 1 s after a member leaves). `extra` is appended.
std::string sluice_properties(const std::string& topic, const std::string& group, const std::string& database_url,
                              const std::string& dlq, const std::string& extra = "");

// Path of a built executable of this project ("sluice", "sluice-dev-broker").
std::string executable_path(const std::string& name);

}  // namespace sluice::testing
