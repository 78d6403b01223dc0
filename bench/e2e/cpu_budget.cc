#include "cpu_budget.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sluice::bench {
namespace {

const double kTicksPerSecond = static_cast<double>(::sysconf(_SC_CLK_TCK));

struct ProcessTimes {
  pid_t parent = 0;
  double own = 0;       // utime + stime, seconds
  double children = 0;  // cutime + cstime: children waited for
};

// Fields of /proc/PID/stat after the command name, which may hold spaces.
std::optional<ProcessTimes> process_times(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(paren + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
  // f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
  if (f.size() < 15) return std::nullopt;
  ProcessTimes times;
  times.parent = static_cast<pid_t>(std::stol(f[1]));
  times.own = (std::stod(f[11]) + std::stod(f[12])) / kTicksPerSecond;
  times.children = (std::stod(f[13]) + std::stod(f[14])) / kTicksPerSecond;
  return times;
}

// The postmaster, the children it waited for, and those still running. A
// child reaped while /proc is read would count in neither (its time moves to
// the children total after that was read), so the read is repeated until the
// total stayed the same across it.
double postgres_seconds(pid_t postmaster) {
  for (int attempt = 0;; ++attempt) {
    auto root = process_times(postmaster);
    if (!root) return 0;
    double running = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      auto child = process_times(static_cast<pid_t>(std::stol(name)));
      if (child && child->parent == postmaster) running += child->own;
    }
    auto after = process_times(postmaster);
    if (!after) return 0;
    if (after->children == root->children || attempt == 4) return after->own + after->children + running;
  }
}

}  // namespace

CpuBudget::CpuBudget(pid_t consumer, pid_t postmaster, pid_t broker)
    : consumer_(consumer), postmaster_(postmaster), broker_(broker),
      cores_(static_cast<int>(std::thread::hardware_concurrency())) {}

void CpuBudget::sample() {
  Sample s;
  s.at = std::chrono::system_clock::now();
  if (auto times = process_times(consumer_)) s.consumer = times->own;
  if (auto times = process_times(broker_)) s.broker = times->own;
  s.postgres = postgres_seconds(postmaster_);
  // cpu  user nice system idle iowait irq softirq steal ...
  std::ifstream stat("/proc/stat");
  std::string label;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  s.busy = (user + nice + system + irq + softirq) / kTicksPerSecond;
  s.idle = (idle + iowait) / kTicksPerSecond;
  s.stolen = steal / kTicksPerSecond;
  // A process that exited reads as zero: keep its last figure.
  if (!samples_.empty()) s.consumer = std::max(s.consumer, samples_.back().consumer);
  samples_.push_back(s);
}

const CpuBudget::Sample* CpuBudget::nearest(std::chrono::system_clock::time_point at) const {
  const Sample* best = nullptr;
  auto distance = std::chrono::system_clock::duration::max();
  for (const Sample& s : samples_) {
    auto d = s.at > at ? s.at - at : at - s.at;
    if (d < distance) {
      distance = d;
      best = &s;
    }
  }
  // A sample further than a second from the moment does not describe it.
  if (best == nullptr || distance > std::chrono::seconds(1)) return nullptr;
  return best;
}

std::optional<CpuBudget::Usage> CpuBudget::between(std::chrono::system_clock::time_point from,
                                                   std::chrono::system_clock::time_point to) const {
  const Sample* a = nearest(from);
  const Sample* b = nearest(to);
  if (a == nullptr || b == nullptr || b->at <= a->at) return std::nullopt;
  Usage usage;
  usage.seconds = std::chrono::duration<double>(b->at - a->at).count();
  usage.cores = cores_;
  usage.consumer = b->consumer - a->consumer;
  usage.postgres = b->postgres - a->postgres;
  usage.broker = b->broker - a->broker;
  usage.other = std::max(0.0, (b->busy - a->busy) - usage.consumer - usage.postgres - usage.broker);
  usage.idle = b->idle - a->idle;
  usage.stolen = b->stolen - a->stolen;
  return usage;
}

std::string describe(const CpuBudget::Usage& u, const std::string& consumer) {
  char text[320];
  std::snprintf(text, sizeof text,
                "CPU while consuming (%.2f s x %d cores = %.1f s): %s %.1f s, PostgreSQL %.1f s, dev broker %.1f s, "
                "other %.1f s, idle %.1f s",
                u.seconds, u.cores, u.seconds * u.cores, consumer.c_str(), u.consumer, u.postgres, u.broker, u.other, u.idle);
  std::string out = text;
  if (u.stolen >= 0.05) {
    std::snprintf(text, sizeof text, ", stolen by the hypervisor %.1f s", u.stolen);
    out += text;
  }
  return out;
}

pid_t postmaster_pid(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) throw std::runtime_error("no postmaster.pid in " + data_dir);
  return static_cast<pid_t>(pid);
}

}  // namespace sluice::bench
