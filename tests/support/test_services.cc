#include "tests/support/test_services.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

const char* kPgBin = "/usr/lib/postgresql/15/bin";

// Runs a shell command, returns its combined output; throws with it on failure.
std::string run(const std::string& command) {
  std::string full = command + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(full.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe.get())) output.append(buffer.data(), n);
  int status = pclose(pipe.release());
  if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command + "\n" + output);
  return output;
}

bool running_as_root() { return geteuid() == 0; }

// Prefix that runs a command as the postgres user when we are root
// (initdb refuses to run as root).
std::string as_postgres(const std::string& command) {
  if (!running_as_root()) return command;
  return "runuser -u postgres -- " + command;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

// A fresh directory under `parent` (the system temp dir when empty).
std::string make_temp_dir(const std::string& prefix, const std::string& parent = "") {
  fs::path base = parent.empty() ? fs::temp_directory_path() : fs::path(parent);
  std::string pattern = (base / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::string content;
  std::getline(in, content);
  return content;
}

// SLUICE_TEST_RUN_DIR, set by scripts/test.sh to a directory of its own: the
// servers of one run live under it, so the run can stop exactly its own servers
// (a crashed test leaves its postmaster behind) and no one else's.
std::string run_dir() {
  const char* dir = std::getenv("SLUICE_TEST_RUN_DIR");
  if (dir == nullptr || *dir == '\0') return "";
  if (!fs::is_directory(dir)) throw std::runtime_error(std::string("SLUICE_TEST_RUN_DIR is not a directory: ") + dir);
  return dir;
}

}  // namespace

PostgresServer::PostgresServer() {
  root_dir_ = make_temp_dir("sluice-test-pg-", run_dir());
  data_dir_ = root_dir_ + "/data";
  if (running_as_root()) {
    passwd* pw = getpwnam("postgres");
    if (pw == nullptr) throw std::runtime_error("user postgres not found: install Debian's postgresql-15");
    if (::chown(root_dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown " + root_dir_);
  }
  run(as_postgres(std::string(kPgBin) + "/initdb -D " + data_dir_ +
                  " -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync"));
  port_ = free_port();
  start();
}

PostgresServer::~PostgresServer() {
  try {
    if (running_) pg_ctl("-m immediate stop");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: stopping test PostgreSQL: %s\n", e.what());
  }
  std::error_code ignored;
  fs::remove_all(root_dir_, ignored);
}

std::string PostgresServer::pg_ctl(const std::string& args) const {
  return run(as_postgres(std::string(kPgBin) + "/pg_ctl -D " + data_dir_ + " " + args));
}

void PostgresServer::start() {
  std::string options = "-p " + std::to_string(port_) + " -k " + root_dir_ +
                        " -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                        " -c max_connections=200";
  pg_ctl("-w -t 60 -l " + root_dir_ + "/server.log -o '" + options + "' start");
  running_ = true;
}

void PostgresServer::stop(const std::string& mode) {
  pg_ctl("-w -m " + mode + " stop");
  running_ = false;
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::create_database(const std::string& name) {
  query(url(), "CREATE DATABASE \"" + name + "\"");
  return url(name);
}

DevBrokerProcess::DevBrokerProcess(int brokers) {
  dir_ = make_temp_dir("sluice-test-broker-");
  std::string address_file = dir_ + "/bootstrap";
  std::string control_file = dir_ + "/control";
  std::string binary = executable_path("sluice-dev-broker");
  std::string brokers_text = std::to_string(brokers);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // The broker dies with the test process, whatever happens to it.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, STDOUT_FILENO);
    ::execl(binary.c_str(), binary.c_str(), "--brokers", brokers_text.c_str(), "--address-file",
            address_file.c_str(), "--control-file", control_file.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(control_file)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("sluice-dev-broker exited during start-up (" + binary + ")");
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("sluice-dev-broker did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  bootstrap_ = read_file(address_file);
  control_address_ = read_file(control_file);
}

DevBrokerProcess::~DevBrokerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string DevBrokerProcess::control(const std::string& command) const {
  size_t colon = control_address_.rfind(':');
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::stoi(control_address_.substr(colon + 1))));
  ::inet_pton(AF_INET, control_address_.substr(0, colon).c_str(), &address.sin_addr);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot reach the dev broker's control port " + control_address_);
  }
  std::string line = command + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    throw std::runtime_error("cannot send to the dev broker's control port");
  }
  std::string reply;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') reply += c;
  ::close(fd);
  return reply;
}

void DevBrokerProcess::create_topic(const std::string& topic, int partitions) const {
  std::string reply = control("topic-create " + topic + " " + std::to_string(partitions));
  if (reply != "ok") throw std::runtime_error("topic-create " + topic + ": " + reply);
}

std::string sluice_properties(const std::string& topic, const std::string& group, const std::string& database_url,
                              const std::string& dlq, const std::string& extra) {
  return "topics = " + topic + "\n" + "kafka.bootstrap.servers = " + dev_broker().bootstrap_servers() + "\n" +
         "kafka.group.id = " + group + "\n" + "kafka.session.timeout.ms = 3000\n" +
         "kafka.heartbeat.interval.ms = 500\n" + "connection.url = " + database_url + "\n" +
         "table.name.format = orders\n" + "errors.deadletterqueue.topic.name = " + dlq + "\n" + "metrics.listen =\n" +
         extra;
}

PostgresServer& postgres() {
  static PostgresServer server;
  return server;
}

DevBrokerProcess& dev_broker() {
  static DevBrokerProcess broker;
  return broker;
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

std::vector<SqlRow> query(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to " + url + ": " + PQerrorMessage(conn.get()));
  }
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(PQexec(conn.get(), sql.c_str()), PQclear);
  ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error("query failed: " + sql + ": " + PQresultErrorMessage(result.get()));
  }
  std::vector<SqlRow> rows;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    SqlRow row;
    for (int c = 0; c < PQnfields(result.get()); ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        row.push_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result.get(), r, c), static_cast<size_t>(PQgetlength(result.get(), r, c))));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::optional<std::string> query_value(const std::string& url, const std::string& sql) {
  auto rows = query(url, sql);
  if (rows.size() != 1 || rows[0].size() != 1) {
    throw std::runtime_error("expected one value from: " + sql + " (got " + std::to_string(rows.size()) + " rows)");
  }
  return rows[0][0];
}

std::string rows(const std::string& url, const std::string& sql) {
  std::string out;
  for (const auto& r : query(url, sql)) {
    for (size_t i = 0; i < r.size(); ++i) out += (i ? "," : "") + r[i].value_or("NULL");
    out += ";";
  }
  return out;
}

void copy_in(const std::string& url, const std::string& copy_statement, const std::string& data) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to " + url + ": " + PQerrorMessage(conn.get()));
  }
  std::unique_ptr<PGresult, void (*)(PGresult*)> started(PQexec(conn.get(), copy_statement.c_str()), PQclear);
  if (PQresultStatus(started.get()) != PGRES_COPY_IN) {
    throw std::runtime_error(copy_statement + ": " + PQresultErrorMessage(started.get()));
  }
  if (PQputCopyData(conn.get(), data.data(), static_cast<int>(data.size())) != 1 ||
      PQputCopyEnd(conn.get(), nullptr) != 1) {
    throw std::runtime_error(copy_statement + ": " + PQerrorMessage(conn.get()));
  }
  while (PGresult* raw = PQgetResult(conn.get())) {
    std::unique_ptr<PGresult, void (*)(PGresult*)> result(raw, PQclear);
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      throw std::runtime_error(copy_statement + ": " + PQresultErrorMessage(result.get()));
    }
  }
}

SluiceProcess::SluiceProcess(const std::vector<std::string>& arguments, std::string log_path)
    : log_path_(std::move(log_path)) {
  std::string binary = executable_path("sluice");
  std::vector<std::string> argv_storage = arguments;
  argv_storage.insert(argv_storage.begin(), binary);
  std::vector<char*> argv;
  for (auto& argument : argv_storage) argv.push_back(argument.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execv(binary.c_str(), argv.data());
    std::_Exit(127);
  }
}

SluiceProcess::~SluiceProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::optional<int> SluiceProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_code_) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

void SluiceProcess::send_signal(int signal) const {
  if (!exit_code_) ::kill(pid_, signal);
}

std::string SluiceProcess::log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string executable_path(const std::string& name) {
  if (name == "sluice") return SLUICE_BINARY_PATH;
  if (name == "sluice-dev-broker") return SLUICE_DEV_BROKER_PATH;
  throw std::runtime_error("unknown executable " + name);
}

}  // namespace sluice::testing
