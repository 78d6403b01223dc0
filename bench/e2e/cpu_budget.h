// Who used the machine's CPUs during a benchmark run: the consumer (sluice, or
// the harness's plain consumer), PostgreSQL (the
// postmaster, its live children and the children it reaped), the dev broker,
// everything else, and how much stayed idle. Samples /proc (Linux only); the
// figures between two moments come from the samples nearest to them, so they
// are as fine as the sampling interval. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sluice::bench {

class CpuBudget {
 public:
  // `consumer`: the process consuming the topic (sluice, or the harness for
  // the Kafka drain).
  CpuBudget(pid_t consumer, pid_t postmaster, pid_t broker);

  // Records the CPU seconds used so far by each party.
  void sample();

  struct Usage {
    double seconds = 0;    // wall time between the two samples
    int cores = 0;
    double consumer = 0;   // CPU seconds
    double postgres = 0;
    double broker = 0;
    double other = 0;      // busy CPU time of everything else (the harness, the kernel's threads)
    double idle = 0;
    double stolen = 0;     // taken by the hypervisor
  };
  // Usage between the samples nearest to `from` and `to`; nullopt when the
  // samples do not cover both.
  std::optional<Usage> between(std::chrono::system_clock::time_point from,
                               std::chrono::system_clock::time_point to) const;

 private:
  struct Sample {
    std::chrono::system_clock::time_point at;
    double consumer = 0, postgres = 0, broker = 0, busy = 0, idle = 0, stolen = 0;
  };
  const Sample* nearest(std::chrono::system_clock::time_point at) const;

  pid_t consumer_, postmaster_, broker_;
  int cores_;
  std::vector<Sample> samples_;
};

// "CPU while consuming (9.95 s x 2 cores = 19.9 s): sluice 7.1 s, PostgreSQL ...",
// naming the consumer measured (the first pid) `consumer`.
std::string describe(const CpuBudget::Usage& usage, const std::string& consumer);

// The postmaster's pid from its data directory's postmaster.pid.
pid_t postmaster_pid(const std::string& data_dir);

}  // namespace sluice::bench
