#include "cli/metrics_server.h"

#include <httplib.h>

#include <charconv>

namespace sluice::cli {
namespace {

constexpr const char* kTextFormat = "text/plain; version=0.0.4; charset=utf-8";
constexpr size_t kWorkers = 2;

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& listen,
                                                            const metrics::Registry& registry,
                                                            ReadinessCheck readiness) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Error::fatal("bad_configuration", "metrics.listen: '" + listen + "' is not host:port");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  std::string_view port_text = std::string_view(listen).substr(colon + 1);
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return Error::fatal("bad_configuration", "metrics.listen: '" + listen + "' has no valid port");
  }

  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  http.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  http.set_read_timeout(std::chrono::seconds(5));
  http.set_write_timeout(std::chrono::seconds(5));
  http.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.render(), kTextFormat);
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  http.Get("/readyz", [readiness = std::move(readiness)](const httplib::Request&, httplib::Response& response) {
    Readiness state = readiness();
    response.status = state.ready ? 200 : 503;
    response.set_content(state.reason + "\n", "text/plain");
  });

  if (port == 0) {
    port = http.bind_to_any_port(host);
    if (port < 0) return Error::fatal("metrics_listen", "metrics.listen: cannot listen on " + listen);
  } else if (!http.bind_to_port(host, port)) {
    return Error::fatal("metrics_listen", "metrics.listen: cannot listen on " + listen + " (address in use?)");
  }
  server->host_ = host;
  server->port_ = port;
  server->thread_ = std::thread([&http] { http.listen_after_bind(); });
  // stop() only reaches a server that is already listening.
  for (int i = 0; i < 5000 && !http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return server;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice::cli
