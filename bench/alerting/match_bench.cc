// Matching throughput of the subscription cell index at a given number of
// subscriptions, one thread. Prints one line of key=value pairs that
// bench/alerting/run.sh turns into a table.
//
//   alerting_match_bench <subscriptions> [reports] [seed]
//
// Subscriptions: 85% circles (50 m .. 5 km, log-uniform), 10% polygons
// (star-shaped, 6-12 vertices, up to 3 km), 5% named neighbourhoods of the
// two sample cities, spread over the contiguous United States; 30% filter on
// two categories, 30% on a minimum severity. Workloads:
//   none  - reports in the Atlantic east of the US: no subscription there, the
//           case whose cost must not grow with the number of subscriptions
//   us    - reports spread like the subscriptions (some match)
//   city  - reports in Chicago, where neighbourhood subscriptions also live
#include <fstream>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <unistd.h>

#include "processor/alerting/subscription_registry.h"

namespace {

using namespace safestream;
using processor::alerting::Match;
using processor::alerting::MatchPoint;
using processor::alerting::SubscriptionRegistry;

constexpr double kPi = 3.14159265358979323846;

long rssBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

core::GeoPoint destination(core::GeoPoint from, double bearing, double distance) {
  double d = distance / 6371008.8, lat1 = from.lat * kPi / 180, lon1 = from.lon * kPi / 180;
  double lat2 = std::asin(std::sin(lat1) * std::cos(d) + std::cos(lat1) * std::sin(d) * std::cos(bearing));
  double lon2 = lon1 + std::atan2(std::sin(bearing) * std::sin(d) * std::cos(lat1),
                                  std::cos(d) - std::sin(lat1) * std::sin(lat2));
  return {lat2 * 180 / kPi, lon2 * 180 / kPi};
}

struct Workload {
  const char* name;
  double lat0, lat1, lon0, lon1;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: alerting_match_bench <subscriptions> [reports] [seed]\n";
    return 2;
  }
  const long n = std::stol(argv[1]);
  const long reports = argc > 2 ? std::stol(argv[2]) : 2000000;
  std::mt19937_64 rng(argc > 3 ? std::stoull(argv[3]) : 42);

  auto boundaries = std::make_shared<const core::CityCatalog>(core::CityCatalog::load(core::defaultCitiesPath()));
  // (city, name) of every neighbourhood of every city with a boundary file.
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& city : boundaries->cities()) {
    for (const auto& hood : city.neighbourhoods) names.emplace_back(city.id, hood.name);
  }
  std::uniform_real_distribution<double> lat(25, 49), lon(-124, -67), unit(0, 1), angle(0, 2 * kPi);
  std::uniform_int_distribution<std::size_t> pickName(0, names.size() - 1);
  auto cats = core::alertCategories();
  std::uniform_int_distribution<std::size_t> pickCat(0, cats.size() - 1);

  const long rssBefore = rssBytes();
  SubscriptionRegistry registry(boundaries);
  std::vector<core::Subscription> subs;
  subs.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    core::Subscription s;
    char id[48];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012ld", i);
    s.id = id;
    const double k = unit(rng);
    if (k < 0.85) {
      s.areaType = core::AreaType::circle;
      s.center = {lat(rng), lon(rng)};
      s.radiusM = 50 * std::pow(100.0, unit(rng));
    } else if (k < 0.95) {
      s.areaType = core::AreaType::polygon;
      core::GeoPoint c{lat(rng), lon(rng)};
      const double r = 200 + 2800 * unit(rng);
      const int v = 6 + static_cast<int>(unit(rng) * 7);
      core::Ring ring;
      for (int j = 0; j < v; ++j) ring.push_back(destination(c, (j + 0.9 * unit(rng)) / v * 2 * kPi, r * (0.4 + 0.6 * unit(rng))));
      ring.push_back(ring.front());
      s.polygon.push_back(std::move(ring));
    } else {
      s.areaType = core::AreaType::neighbourhood;
      const auto& [city, name] = names[pickName(rng)];
      s.city = city;
      s.neighbourhood = name;
    }
    if (unit(rng) < 0.3) s.categories = {std::string(cats[pickCat(rng)]), std::string(cats[pickCat(rng)])};
    if (unit(rng) < 0.3) s.minSeverity = 1 + static_cast<int>(unit(rng) * 5);
    subs.push_back(std::move(s));
  }
  const auto buildStart = std::chrono::steady_clock::now();
  const auto rejected = registry.replaceAll(std::move(subs));
  const double buildSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - buildStart).count();
  subs = {};
  const long rssAfter = rssBytes();

  std::cout << "subscriptions=" << registry.size() << " rejected=" << rejected << " build_s=" << buildSeconds
            << " bytes_per_sub=" << (registry.size() ? (rssAfter - rssBefore) / static_cast<long>(registry.size()) : 0);
  const Workload workloads[] = {{"none", 30, 45, -60, -40}, {"us", 25, 49, -124, -67}, {"city", 41.65, 42.02, -87.85, -87.55}};
  for (const auto& w : workloads) {
    std::uniform_real_distribution<double> wlat(w.lat0, w.lat1), wlon(w.lon0, w.lon1);
    // Points generated up front so the timing is matching only.
    std::vector<MatchPoint> points(static_cast<std::size_t>(std::min<long>(reports, 1000000)));
    for (auto& p : points) {
      p.location = {wlat(rng), wlon(rng)};
      p.category = cats[pickCat(rng)];
      p.severity = 1 + static_cast<int>(unit(rng) * 5);
      p.neighbourhood = "";
    }
    long matched = 0;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < reports; ++i) {
      const auto m = registry.match(points[static_cast<std::size_t>(i) % points.size()]);
      matched += static_cast<long>(m.size());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << ' ' << w.name << "_per_s=" << static_cast<long>(reports / secs) << ' ' << w.name
              << "_matches_per_report=" << static_cast<double>(matched) / static_cast<double>(reports);
  }
  std::cout << '\n';
  return 0;
}
