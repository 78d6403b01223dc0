// sluice-dev-broker: runs a DevBroker until SIGTERM/SIGINT.
//
//   sluice-dev-broker [--brokers N] [--topic NAME:PARTITIONS]... [--address-file FILE]
//                     [--control-file FILE]
//
// Prints the bootstrap address as the first line on stdout, then
// "control=127.0.0.1:PORT": a loopback line protocol for tests
// (topic-create NAME PARTITIONS | broker-down ID | broker-up ID |
//  request-errors API_KEY ERROR_CODE COUNT | request-errors-clear API_KEY |
//  topic-error NAME ERROR_CODE | ping),
// answering "ok" or "error: ..." per line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "dev_broker.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;
  std::string address_file;
  std::string control_file;
};

int usage(const char* message) {
  std::fprintf(stderr,
               "sluice-dev-broker: %s\n"
               "usage: sluice-dev-broker [--brokers N] [--topic NAME:PARTITIONS]... [--address-file FILE] "
               "[--control-file FILE]\n"
               "A development and test Kafka broker (librdkafka's mock cluster) on loopback: in memory,\n"
               "about 5 MB kept per partition, no persistence, no security.\n",
               message);
  return 2;
}

bool write_file(const std::string& path, const std::string& content) {
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp);
    if (!out) return false;
    out << content << "\n";
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

std::string handle_command(sluice::kafka::DevBroker& broker, const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  if (verb == "ping") return "ok";
  if (verb == "topic-create") {
    std::string topic;
    int partitions = 0;
    if (!(in >> topic >> partitions)) return "error: usage topic-create NAME PARTITIONS";
    auto status = broker.create_topic(topic, partitions);
    return status ? "ok" : "error: " + status.error().message;
  }
  if (verb == "broker-down" || verb == "broker-up") {
    int id = 0;
    if (!(in >> id)) return "error: usage " + verb + " ID";
    auto status = broker.set_broker_down(id, verb == "broker-down");
    return status ? "ok" : "error: " + status.error().message;
  }
  if (verb == "request-errors") {
    int api_key = 0, code = 0, count = 0;
    if (!(in >> api_key >> code >> count)) return "error: usage request-errors API_KEY ERROR_CODE COUNT";
    broker.push_request_errors(static_cast<int16_t>(api_key), code, count);
    return "ok";
  }
  if (verb == "request-errors-clear") {
    int api_key = 0;
    if (!(in >> api_key)) return "error: usage request-errors-clear API_KEY";
    broker.clear_request_errors(static_cast<int16_t>(api_key));
    return "ok";
  }
  if (verb == "topic-error") {
    std::string topic;
    int code = 0;
    if (!(in >> topic >> code)) return "error: usage topic-error NAME ERROR_CODE";
    broker.set_topic_error(topic, code);
    return "ok";
  }
  return "error: unknown command '" + verb + "'";
}

// Serves the control protocol until g_stop; one client at a time.
void serve_control(sluice::kafka::DevBroker& broker, int listener) {
  int client = -1;
  std::string pending;
  while (!g_stop) {
    pollfd fds[2] = {{listener, POLLIN, 0}, {client, POLLIN, 0}};
    int n = ::poll(fds, client >= 0 ? 2 : 1, 200);
    if (n <= 0) continue;
    if (fds[0].revents & POLLIN) {
      int accepted = ::accept(listener, nullptr, nullptr);
      if (accepted >= 0) {
        if (client >= 0) ::close(client);
        client = accepted;
        pending.clear();
      }
    }
    if (client >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buffer[4096];
      ssize_t got = ::read(client, buffer, sizeof buffer);
      if (got <= 0) {
        ::close(client);
        client = -1;
        continue;
      }
      pending.append(buffer, static_cast<size_t>(got));
      size_t eol;
      while ((eol = pending.find('\n')) != std::string::npos) {
        std::string reply = handle_command(broker, pending.substr(0, eol)) + "\n";
        pending.erase(0, eol + 1);
        if (::write(client, reply.data(), reply.size()) < 0) break;
      }
    }
  }
  if (client >= 0) ::close(client);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help" || arg == "-h") {
      usage("help");
      return 0;
    } else if (arg == "--brokers") {
      const char* v = next();
      if (v == nullptr || (options.brokers = std::atoi(v)) < 1) return usage("--brokers needs a positive number");
    } else if (arg == "--topic") {
      const char* v = next();
      if (v == nullptr) return usage("--topic needs NAME:PARTITIONS");
      std::string spec = v;
      size_t colon = spec.rfind(':');
      int partitions = colon == std::string::npos ? 1 : std::atoi(spec.c_str() + colon + 1);
      if (colon == 0 || partitions < 1) return usage("--topic needs NAME:PARTITIONS with PARTITIONS >= 1");
      options.topics.emplace_back(spec.substr(0, colon), partitions);
    } else if (arg == "--address-file") {
      const char* v = next();
      if (v == nullptr) return usage("--address-file needs a path");
      options.address_file = v;
    } else if (arg == "--control-file") {
      const char* v = next();
      if (v == nullptr) return usage("--control-file needs a path");
      options.control_file = v;
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  auto started = sluice::kafka::DevBroker::start(options.brokers);
  if (!started) {
    std::fprintf(stderr, "sluice-dev-broker: %s\n", started.error().message.c_str());
    return 1;
  }
  auto& broker = **started;
  for (const auto& [topic, partitions] : options.topics) {
    if (auto status = broker.create_topic(topic, partitions); !status) {
      std::fprintf(stderr, "sluice-dev-broker: %s\n", status.error().message.c_str());
      return 1;
    }
  }

  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 4) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::fprintf(stderr, "sluice-dev-broker: cannot open the control port: %s\n", std::strerror(errno));
    return 1;
  }
  std::string control = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  std::string bootstrap = broker.bootstrap_servers();

  if (!options.address_file.empty() && !write_file(options.address_file, bootstrap)) {
    std::fprintf(stderr, "sluice-dev-broker: cannot write %s\n", options.address_file.c_str());
    return 1;
  }
  if (!options.control_file.empty() && !write_file(options.control_file, control)) {
    std::fprintf(stderr, "sluice-dev-broker: cannot write %s\n", options.control_file.c_str());
    return 1;
  }
  std::cout << bootstrap << "\ncontrol=" << control << std::endl;

  serve_control(broker, listener);
  ::close(listener);
  return 0;
}
