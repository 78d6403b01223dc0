// The metrics registry and its Prometheus text rendering: names, labels,
// escaping, histogram buckets, collectors, removal.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <limits>
#include <thread>

namespace sluice::metrics {
namespace {

TEST(Registry, RendersCountersAndGaugesWithHelpTypeAndLabels) {
  Registry registry;
  registry.counter("sluice_events_consumed_total", "records read", {{"topic", "orders"}}).add(3);
  registry.counter("sluice_events_consumed_total", "records read", {{"topic", "customers"}}).add();
  registry.gauge("sluice_postgres_up", "1 when reachable").set(1);
  EXPECT_EQ(registry.render(),
            "# HELP sluice_events_consumed_total records read\n"
            "# TYPE sluice_events_consumed_total counter\n"
            "sluice_events_consumed_total{topic=\"customers\"} 1\n"
            "sluice_events_consumed_total{topic=\"orders\"} 3\n"
            "# HELP sluice_postgres_up 1 when reachable\n"
            "# TYPE sluice_postgres_up gauge\n"
            "sluice_postgres_up 1\n");
}

TEST(Registry, TheSameNameAndLabelsGiveTheSameSeries) {
  Registry registry;
  Counter& a = registry.counter("c_total", "h", {{"x", "1"}});
  Counter& b = registry.counter("c_total", "h", {{"x", "1"}});
  EXPECT_EQ(&a, &b);
  a.add(2);
  EXPECT_EQ(registry.value("c_total", {{"x", "1"}}), 2);
  EXPECT_EQ(registry.value("c_total", {{"x", "2"}}), 0);
  EXPECT_EQ(registry.value("missing"), 0);
}

TEST(Registry, ATypeClashIsAProgrammingError) {
  Registry registry;
  registry.counter("m", "h");
  EXPECT_THROW(registry.gauge("m", "h"), std::logic_error);
}

TEST(Registry, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.counter("rejects_total", "by rule\nand \\ table", {{"rule", "regex:\"a\\d\"\nx"}}).add();
  EXPECT_EQ(registry.render(),
            "# HELP rejects_total by rule\\nand \\\\ table\n"
            "# TYPE rejects_total counter\n"
            "rejects_total{rule=\"regex:\\\"a\\\\d\\\"\\nx\"} 1\n");
}

TEST(Registry, HistogramsRenderCumulativeBucketsSumAndCount) {
  Registry registry;
  const double bounds[] = {0.1, 1, 10};
  Histogram& h = registry.histogram("d_seconds", "durations", bounds);
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(5);
  h.observe(50);
  EXPECT_EQ(registry.render(),
            "# HELP d_seconds durations\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{le=\"0.1\"} 2\n"
            "d_seconds_bucket{le=\"1\"} 2\n"
            "d_seconds_bucket{le=\"10\"} 3\n"
            "d_seconds_bucket{le=\"+Inf\"} 4\n"
            "d_seconds_sum 55.15\n"
            "d_seconds_count 4\n");
}

TEST(Registry, HistogramLabelsComeBeforeLe) {
  Registry registry;
  const double bounds[] = {1};
  registry.histogram("h", "x", bounds, {{"table", "t"}}).observe(2);
  std::string text = registry.render();
  EXPECT_NE(text.find("h_bucket{table=\"t\",le=\"1\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{table=\"t\",le=\"+Inf\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_count{table=\"t\"} 1\n"), std::string::npos) << text;
}

TEST(Registry, RemovedSeriesDisappearAndEmptyFamiliesAreNotRendered) {
  Registry registry;
  registry.gauge("lag", "l", {{"partition", "0"}}).set(5);
  registry.gauge("lag", "l", {{"partition", "1"}}).set(7);
  registry.remove("lag", {{"partition", "0"}});
  EXPECT_EQ(registry.render(), "# HELP lag l\n# TYPE lag gauge\nlag{partition=\"1\"} 7\n");
  registry.remove("lag", {{"partition", "1"}});
  EXPECT_EQ(registry.render(), "");
}

TEST(Registry, CollectorsAddSamplesAtRenderTimeUntilRemoved) {
  Registry registry;
  int calls = 0;
  registry.add_collector("v_total", "validation", MetricType::kCounter, [&calls] {
    ++calls;
    return std::vector<Sample>{{{{"table", "t"}, {"rule", "min:0"}}, 4}};
  });
  EXPECT_EQ(registry.render(), "# HELP v_total validation\n# TYPE v_total counter\nv_total{table=\"t\",rule=\"min:0\"} 4\n");
  EXPECT_EQ(calls, 1);
  registry.remove_collector("v_total");
  EXPECT_EQ(registry.render(), "");
}

TEST(Registry, FormatsSpecialValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1.5), "1.5");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Registry, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  Counter& counter = registry.counter("c_total", "h");
  const double bounds[] = {1};
  Histogram& histogram = registry.histogram("h", "h", bounds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.add();
        histogram.observe(0.5);
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 50; ++i) (void)registry.render();
  });
  for (auto& thread : threads) thread.join();
  scraper.join();
  EXPECT_EQ(counter.value(), 40000u);
  EXPECT_EQ(histogram.snapshot().count(), 40000u);
  EXPECT_DOUBLE_EQ(histogram.snapshot().sum, 20000);
}

TEST(Histogram, RejectsBoundsThatDoNotIncrease) {
  const double bad[] = {1, 1};
  EXPECT_THROW(Histogram{bad}, std::invalid_argument);
}

}  // namespace
}  // namespace sluice::metrics
