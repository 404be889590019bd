// Process metrics in the Prometheus text format (0.0.4): counters, gauges and
// histograms, with labels. Recording is a few relaxed atomic operations; finding the
// series of a label set takes a shared lock, so hot paths keep the series they use.
// Label values must come from bounded sets (route patterns, status codes), never ids.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace ledgerflow::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket (not cumulative), the last one being +Inf.
  std::vector<uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Bounds for durations in seconds, 50 us to 10 s.
std::vector<double> LatencyBuckets();

// A metric name with its help text and type, and its series by label set.
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::function<std::unique_ptr<T>()> make)
      : name_(std::move(name)), help_(std::move(help)), make_(std::move(make)) {}

  T& With(const Labels& labels = {});
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  // Calls `visit(labels, series)` for every series, in label order.
  void ForEach(const std::function<void(const Labels&, const T&)>& visit) const;

 private:
  std::string name_;
  std::string help_;
  std::function<std::unique_ptr<T>()> make_;
  mutable std::shared_mutex mu_;
  std::map<Labels, std::unique_ptr<T>> series_;
};

class Registry {
 public:
  Family<Counter>& AddCounter(const std::string& name, const std::string& help);
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help);
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds);
  // A gauge read when scraped: `read` returns its series.
  using Reader = std::function<std::vector<std::pair<Labels, double>>()>;
  void AddGaugeReader(const std::string& name, const std::string& help, Reader read);

  // The text exposition format, families in registration order.
  std::string Render() const;

 private:
  struct ReaderFamily {
    std::string name, help;
    Reader read;
  };
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<ReaderFamily> readers_;
  std::vector<std::pair<char, size_t>> order_;  // kind, index
};

// The process's registry: every module records into it, /metrics renders it.
Registry& Default();

// A label value or help text escaped for the text format.
std::string EscapeLabelValue(const std::string& v);

template <typename T>
T& Family<T>::With(const Labels& labels) {
  {
    std::shared_lock lock(mu_);
    auto it = series_.find(labels);
    if (it != series_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = series_[labels];
  if (!slot) slot = make_();
  return *slot;
}

template <typename T>
void Family<T>::ForEach(const std::function<void(const Labels&, const T&)>& visit) const {
  std::shared_lock lock(mu_);
  for (const auto& [labels, series] : series_) visit(labels, *series);
}

}  // namespace ledgerflow::metrics
