#include "metrics/registry.h"

#include <cmath>
#include <cstdio>

namespace ledgerflow::metrics {
namespace {

void AtomicAdd(std::atomic<double>& a, double d) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
  }
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

std::string LabelText(const Labels& labels, const std::string& extra_name = "",
                      const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + EscapeLabelValue(v) + "\"";
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void Header(std::string& out, const std::string& name, const std::string& help,
            const char* type) {
  out += "# HELP " + name + " " + EscapeHelp(help) + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Gauge::Add(double d) { AtomicAdd(value_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,    5,     10};
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  counters_.push_back(std::make_unique<Family<Counter>>(
      name, help, [] { return std::make_unique<Counter>(); }));
  order_.emplace_back('c', counters_.size() - 1);
  return *counters_.back();
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  gauges_.push_back(
      std::make_unique<Family<Gauge>>(name, help, [] { return std::make_unique<Gauge>(); }));
  order_.emplace_back('g', gauges_.size() - 1);
  return *gauges_.back();
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(
      name, help, [bounds] { return std::make_unique<Histogram>(bounds); }));
  order_.emplace_back('h', histograms_.size() - 1);
  return *histograms_.back();
}

void Registry::AddGaugeReader(const std::string& name, const std::string& help, Reader read) {
  std::lock_guard lock(mu_);
  readers_.push_back({name, help, std::move(read)});
  order_.emplace_back('r', readers_.size() - 1);
}

std::string Registry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [kind, i] : order_) {
    if (kind == 'c') {
      const auto& f = *counters_[i];
      Header(out, f.name(), f.help(), "counter");
      f.ForEach([&](const Labels& l, const Counter& c) {
        out += f.name() + LabelText(l) + " " + Number(static_cast<double>(c.value())) + "\n";
      });
    } else if (kind == 'g') {
      const auto& f = *gauges_[i];
      Header(out, f.name(), f.help(), "gauge");
      f.ForEach([&](const Labels& l, const Gauge& g) {
        out += f.name() + LabelText(l) + " " + Number(g.value()) + "\n";
      });
    } else if (kind == 'h') {
      const auto& f = *histograms_[i];
      Header(out, f.name(), f.help(), "histogram");
      f.ForEach([&](const Labels& l, const Histogram& h) {
        std::vector<uint64_t> counts = h.counts();
        uint64_t cumulative = 0;
        for (size_t b = 0; b < counts.size(); ++b) {
          cumulative += counts[b];
          std::string le = b < h.bounds().size() ? Number(h.bounds()[b]) : "+Inf";
          out += f.name() + "_bucket" + LabelText(l, "le", le) + " " +
                 Number(static_cast<double>(cumulative)) + "\n";
        }
        out += f.name() + "_sum" + LabelText(l) + " " + Number(h.sum()) + "\n";
        out += f.name() + "_count" + LabelText(l) + " " +
               Number(static_cast<double>(cumulative)) + "\n";
      });
    } else {
      const auto& r = readers_[i];
      Header(out, r.name, r.help, "gauge");
      for (const auto& [labels, value] : r.read()) {
        out += r.name + LabelText(labels) + " " + Number(value) + "\n";
      }
    }
  }
  return out;
}

Registry& Default() {
  static Registry* registry = new Registry();  // never destroyed: recorded into until exit
  return *registry;
}

}  // namespace ledgerflow::metrics
