// SPDX-License-Identifier: MIT
// sinkholed: the blocking DNS resolver daemon.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "blocklist/list_check.h"
#include "policy/snapshot_builder.h"
#include "resolver/config/config.h"
#include "resolver/control/listeners.h"
#include "resolver/control/server.h"
#include "sinkhole/version.h"


int main(int argc, char** argv) {
  CLI::App app{
      "sinkholed — a DNS resolver that enforces blocklists for ISP subscribers.\n"
      "Blocked names get a sinkhole answer; everything else is forwarded and returned.",
      "sinkholed"};
  std::string config_path = "/etc/sinkholed/sinkholed.yaml";
  bool check = false;
  app.add_option("-c,--config", config_path, "Configuration file (YAML)")->capture_default_str();
  app.add_flag("--check", check, "Validate the configuration, print a summary and exit");
  std::vector<std::string> check_list;
  std::string list_format;
  app.add_option("--check-list", check_list,
                 "Load blocklist file(s), print entries, rules, duplicates, skipped lines and "
                 "every rejected line as file:line, then exit (0 clean, 1 rejects, 2 unreadable)");
  app.add_option("--format", list_format,
                 "Format for --check-list: domains, hosts, adblock, rpz, patterns "
                 "(default: from the file extension)");
  app.set_version_flag("-V,--version", std::string("sinkholed ") + sinkhole::kVersion);
  app.footer(
      "Signals: SIGTERM/SIGINT stop gracefully (queries in flight are answered);\n"
      "SIGUSR1 logs all counters as one JSON line.\n"
      "Example config: deploy/examples/sinkholed.yaml");
  CLI11_PARSE(app, argc, argv);

  if (!check_list.empty()) {
    sinkhole::blocklist::Format f{};
    if (!list_format.empty() && !sinkhole::blocklist::parse_format(list_format, f)) {
      std::cerr << "sinkholed: unknown list format '" << list_format
                << "' (domains, hosts, adblock, rpz, patterns)\n";
      return 2;
    }
    return static_cast<int>(sinkhole::blocklist::check_lists(
        check_list, list_format.empty() ? nullptr : &f, std::cout));
  }

  auto logger = spdlog::stderr_color_mt("sinkholed");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  const auto loaded = sinkhole::config::load_config(config_path);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e << "\n";
    std::cerr << "sinkholed: configuration rejected (" << loaded.errors.size() << " error"
              << (loaded.errors.size() == 1 ? "" : "s") << ")\n";
    return 1;
  }
  const auto& cfg = *loaded.config;
  // Sockets first (see listeners.h): queries sent while the lists compile wait for us.
  std::vector<sinkhole::pipeline::ListenFds> fds;
  sinkhole::control::StartExtras extras;
  if (!check) {
    auto bound = sinkhole::control::bind_listeners(cfg);
    if (!bound) return 1;
    fds = std::move(*bound);
    if (cfg.metrics.listen) {
      extras.metrics_fd = sinkhole::control::bind_metrics_listener(*cfg.metrics.listen);
      if (extras.metrics_fd < 0) {
        sinkhole::control::close_listeners(fds);
        return 1;
      }
    }
  }
  // Blocked-query counters by list/category/action, kept across reloads (block_stats.h).
  sinkhole::metrics::BlockStats block_stats(std::max<size_t>(fds.size(), 1));
  extras.block_stats = &block_stats;
  // Lists, actions and policies: read and compiled now, so a bad list fails the start.
  auto policies = sinkhole::policy::build_snapshot_from_file(config_path, 1, &block_stats);
  extras.build_seconds = policies.seconds;
  for (const auto& w : policies.warnings) std::cerr << "warning: " << w << "\n";
  if (!policies.snapshot) {
    sinkhole::control::close_listeners(fds);
    if (extras.metrics_fd >= 0) ::close(extras.metrics_fd);
    for (const auto& e : policies.errors) std::cerr << e << "\n";
    std::cerr << "sinkholed: configuration rejected (" << policies.errors.size() << " error"
              << (policies.errors.size() == 1 ? "" : "s") << ")\n";
    return 1;
  }
  if (check) {
    std::cout << config_path << ": OK: " << cfg.server.listen.size() << " listen address(es), "
              << cfg.upstream.servers.size() << " upstream(s)"
              << (cfg.upstream.from_resolv_conf ? " from /etc/resolv.conf" : "") << "; "
              << policies.summary << "\n";
    for (const auto& l : policies.snapshot->lists)
      std::cout << "  list " << l.name << " (" << sinkhole::blocklist::to_string(l.format)
                << ", category " << l.category << "): " << l.stats.entries << " entries, "
                << l.stats.rules << " rules, " << l.stats.rejects.size() << " rejected lines\n";
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log.level));
  std::signal(SIGPIPE, SIG_IGN);
  malloc_trim(0);  // the lists' parse buffers are gone: let RSS show what serving needs
  spdlog::info("policies: {} ({:.3f} s)", policies.summary, policies.seconds);
  return sinkhole::control::run_server(cfg, std::move(fds), std::move(policies.snapshot), extras);
}
