// MetricsServer: the HTTP endpoint on `metrics.listen`. GET /metrics renders
// the registry in the Prometheus text format; GET /healthz answers 200 while
// the process serves requests; GET /readyz answers 200 when the readiness
// check passes and 503 otherwise, with the reason as the body.
// Requests are served on the server's own threads (two workers), so the
// registry and the readiness check must be thread-safe. Stops in the destructor.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "metrics/registry.h"
#include "sluice/result.h"

namespace httplib {
class Server;
}

namespace sluice::cli {

struct Readiness {
  bool ready = false;
  std::string reason;  // one line: what is (not) ready
};

class MetricsServer {
 public:
  using ReadinessCheck = std::function<Readiness()>;

  // Binds `listen` ("host:port", "[v6]:port"; port 0 picks a free one) and
  // starts serving. Errors: a malformed address or a port in use (fatal).
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& listen, const metrics::Registry& registry,
                                                      ReadinessCheck readiness);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  MetricsServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::string host_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace sluice::cli
