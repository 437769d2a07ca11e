// SPDX-License-Identifier: MIT
// sinkholed: the blocking DNS resolver daemon. main() is its steps: parse the command line,
// run --check-list when asked, load the configuration (parsed once: the server settings
// and the policies are read from the same YAML tree), bind the sockets, build the policy,
// then print the --check summary or serve (control/server.h). The main thread becomes the
// control thread.
#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "blocklist/format_inference.h"
#include "blocklist/list_check.h"
#include "policy/semantic_checks.h"
#include "policy/snapshot_builder.h"
#include "resolver/config/config.h"
#include "resolver/config/config_reference.h"
#include "resolver/config/yaml_reader.h"
#include "resolver/control/control_socket.h"
#include "resolver/control/fd_limit.h"
#include "resolver/control/instance_lock.h"
#include "resolver/control/listeners.h"
#include "resolver/control/server.h"
#include "resolver/feeds/list_store.h"
#include "resolver/metrics/hash_key.h"
#include "sinkhole/version.h"

namespace {

using namespace sinkhole;

struct Options {
  std::string config_path = "/etc/sinkholed/sinkholed.yaml";
  bool check = false;
  bool strict = false;
  std::vector<std::string> check_list;
  std::string list_format;
  std::string reference;  // --config-reference: man or markdown
};

// The exit code when the command line says to stop here (--help, --version, an error).
std::optional<int> parse_args(int argc, char** argv, Options& o) {
  CLI::App app{
      "sinkholed — a DNS resolver that enforces blocklists for ISP subscribers.\n"
      "Blocked names get a sinkhole answer; everything else is forwarded and returned.",
      "sinkholed"};
  app.add_option("-c,--config", o.config_path, "Configuration file (YAML)")->capture_default_str();
  auto* check =
      app.add_flag("--check", o.check,
                   "Validate the configuration, print a summary and the strict checks' warnings, "
                   "and exit (1 when it would not start: errors, an empty or refused list)");
  app.add_flag("--strict", o.strict,
               "With --check: the strict checks' warnings (unused lists, dead rules, public "
               "suffixes, forwarding to ourselves, an open resolver, ...) are errors too")
      ->needs(check);
  app.add_option("--check-list", o.check_list,
                 "Load blocklist file(s), print entries, rules, duplicates, skipped lines and "
                 "every rejected line as file:line, then exit (0 clean, 1 rejects, 2 unreadable)");
  app.add_option("--format", o.list_format,
                 "Format for --check-list: domains, hosts, adblock, rpz, patterns "
                 "(default: inferred from the content, then the extension, as the daemon "
                 "does for a list without format:)");
  app.add_option("--config-reference", o.reference,
                 "Print the reference of every configuration key (type, default, live at "
                 "reload or restart, example) as a man page or markdown, then exit")
      ->check(CLI::IsMember({"man", "markdown"}));
  app.set_version_flag("-V,--version", std::string("sinkholed ") + kVersion);
  app.footer(
      "Signals:\n"
      "SIGHUP: reload the configuration and lists (as sinkholectl reload).\n"
      "SIGTERM, SIGINT: stop gracefully (queries in flight are answered).\n"
      "SIGUSR1: log all counters as one JSON line.\n\n"
      "Configuration reference: man 5 sinkholed.yaml (every key, its default, live at reload\n"
      "or restart), or sinkholed --config-reference markdown; the settings in service:\n"
      "sinkholectl config show. Example configs: deploy/examples/ in the source tree,\n"
      "/usr/share/doc/sinkholed/examples/ when installed from the package.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return std::nullopt;
}

int check_lists(const Options& o) {
  blocklist::Format f{};
  if (!o.list_format.empty() && !blocklist::parse_format(o.list_format, f)) {
    std::cerr << "sinkholed: unknown list format '" << o.list_format
              << "' (domains, hosts, adblock, rpz, patterns)\n";
    return 2;
  }
  return static_cast<int>(
      blocklist::check_lists(o.check_list, o.list_format.empty() ? nullptr : &f, std::cout));
}

void start_logging() {
  spdlog::set_default_logger(spdlog::stderr_color_mt("sinkholed"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
}

int rejected(const std::vector<std::string>& errors) {
  for (const auto& e : errors) std::cerr << e << "\n";
  std::cerr << "sinkholed: configuration rejected (" << errors.size() << " error"
            << (errors.size() == 1 ? "" : "s") << ")\n";
  return 1;
}

// One sinkholed per address (instance_lock.h): the locks in the runtime directory, then a
// bind probe for programs that hold none of our locks. Before any socket is bound, so a
// second instance never receives a query.
bool claim_addresses(const config::Config& cfg, control::InstanceLocks& locks) {
  std::string error;
  if (!control::ensure_runtime_dir(cfg.server.runtime_dir, &error) ||
      !locks.acquire(cfg.server.runtime_dir,
                     control::lock_plan(cfg.server.listen, cfg.control.socket), &error)) {
    spdlog::critical("{}; not starting", error);
    return false;
  }
  for (const auto& addr : cfg.server.listen) {
    if (!control::probe_unused(addr, &error)) {
      spdlog::critical("{}; not starting", error);
      return false;
    }
  }
  return true;
}

// Sockets before the lists (see listeners.h): queries sent while they compile wait for us.
bool bind_sockets(const config::Config& cfg, control::Startup& s) {
  auto bound = control::bind_listeners(cfg);
  if (!bound) return false;
  s.fds = std::move(*bound);
  if (!cfg.metrics.listen) return true;
  s.metrics_fd = control::bind_metrics_listener(*cfg.metrics.listen);
  if (s.metrics_fd >= 0) return true;
  control::close_listeners(s.fds);
  return false;
}

void close_sockets(control::Startup& s) {
  control::close_listeners(s.fds);
  if (s.metrics_fd >= 0) ::close(s.metrics_fd);
}

void print_check_summary(const config::Config& cfg, const policy::BuildResult& policies) {
  std::cout << cfg.path << ": OK: " << cfg.server.listen.size() << " listen address(es), "
            << cfg.upstream.servers.size() << " upstream(s)"
            << (cfg.upstream.from_resolv_conf ? " from /etc/resolv.conf" : "") << "; "
            << policies.summary << "\n";
  for (const auto& l : policies.snapshot->lists) {
    std::cout << "  list " << l.name << " (" << blocklist::to_string(l.format) << ", category "
              << l.category << "): " << l.stats.entries << " entries, " << l.stats.rules
              << " rules, " << l.stats.rejects.size() << " rejected lines\n";
    if (l.format_basis != blocklist::FormatBasis::kConfigured)
      std::cout << "    format: " << blocklist::describe({l.format, l.format_basis, l.format_why})
                << "\n";
  }
  if (!policies.findings.empty())
    std::cout << "  " << policies.findings.size() << " warning"
              << (policies.findings.size() == 1 ? "" : "s")
              << " from the strict checks (--strict makes them errors)\n";
}

// What the build said, most important first: list summaries and other warnings, the strict
// checks, then the rejected lines. --check shows them all; a start shows the first 20, as
// a reload does (a list of garbage would otherwise flood the journal).
void print_warnings(const policy::BuildResult& r, bool all) {
  std::vector<const std::string*> lines;
  for (const auto* v : {&r.warnings, &r.findings, &r.details})
    for (const auto& w : *v) lines.push_back(&w);
  const size_t shown = all ? lines.size() : std::min<size_t>(lines.size(), 20);
  for (size_t i = 0; i < shown; ++i) std::cerr << "warning: " << *lines[i] << "\n";
  if (shown < lines.size()) std::cerr << "warning: " << lines.size() - shown << " more warnings\n";
}

// The load summary at start: per list its format (and why, when inferred) and counts.
void log_lists(const policy::PolicySnapshot& snap) {
  for (const auto& l : snap.lists)
    spdlog::info("list {}: {} entries, {} rejected lines, format {}", l.name, l.stats.entries,
                 l.stats.rejects.size(),
                 blocklist::describe({l.format, l.format_basis, l.format_why}));
}

int serve(const config::Config& cfg, control::Startup startup, const std::string& summary) {
  spdlog::set_level(spdlog::level::from_str(cfg.log.level));
  std::signal(SIGPIPE, SIG_IGN);
  malloc_trim(0);  // the lists' parse buffers are gone: let RSS show what serving needs
  spdlog::info("policies: {} ({:.3f} s)", summary, startup.build_seconds);
  log_lists(*startup.policies);
  control::Server server(cfg, std::move(startup));
  return server.run();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const auto exit_code = parse_args(argc, argv, options)) return *exit_code;
  if (!options.reference.empty()) {
    std::cout << (options.reference == "man" ? config::man_page(kVersion)
                                             : config::markdown_reference());
    return 0;
  }
  if (!options.check_list.empty()) return check_lists(options);
  start_logging();

  const auto document = config::load_document(options.config_path);
  if (!document.document) return rejected(document.errors);
  const auto loaded = config::parse_config(*document.document);
  if (!loaded.config) return rejected(loaded.errors);
  const config::Config& cfg = *loaded.config;
  // A control socket that cannot be made as configured fails the start (and --check):
  // without it `systemctl reload` would fail days later.
  if (const auto problem = control::control_socket_problem(cfg.control, cfg.server.runtime_dir);
      !problem.empty())
    return rejected({cfg.path + ": " + problem});

  // The protected-users key: from protected_users.key_file (shared by a fleet) or drawn at
  // random. A key file that cannot be used stops the start (and --check): counting with a
  // random key instead would make this node's sketches silently unmergeable.
  metrics::ProtectedUsers::HashKey hash_key = metrics::ProtectedUsers::random_key();
  if (const auto& pu = cfg.protected_users; !pu.key_file.empty()) {
    const metrics::LoadedKey loaded_key = metrics::load_hash_key(pu.key_file);
    if (!loaded_key.key)
      return rejected({fmt::format("{}: protected_users.key_file {}: {}", pu.key_file_at,
                                   pu.key_file, loaded_key.error)});
    if (!loaded_key.warning.empty())
      spdlog::warn("protected_users.key_file {}: {}", pu.key_file, loaded_key.warning);
    hash_key = *loaded_key.key;
  }

  control::Startup startup;
  control::InstanceLocks locks;  // held until the process ends
  if (!options.check && !claim_addresses(cfg, locks)) return 1;
  if (!options.check) control::raise_and_log_fd_limit(cfg);
  if (!options.check && !bind_sockets(cfg, startup)) return 1;
  // Blocked-query counters by list/category/action, kept across reloads (block_stats.h).
  metrics::BlockStats block_stats(std::max<size_t>(startup.fds.size(), 1), hash_key);
  if (!options.check && !cfg.protected_users.key_file.empty())
    spdlog::info("protected users: hash key from {} (fingerprint {})", cfg.protected_users.key_file,
                 metrics::key_fingerprint(hash_key));
  // Lists, actions and policies: read and compiled now, so a bad list fails the start.
  // Feed lists read their saved copies from server.state_dir (made here, one level, when
  // missing; a feed reports its own write errors loudly).
  if (std::string error; !options.check && !feeds::ensure_state_dir(cfg.server.state_dir, &error))
    spdlog::warn("{}: feed lists cannot save their copies", error);
  policy::BuildOptions build_options;
  build_options.state_dir = cfg.server.state_dir;
  auto policies = policy::build_snapshot(*document.document, 1, &block_stats, build_options);
  policy::add_semantic_checks(policies, *document.document, cfg);
  if (options.check && options.strict && policies.snapshot && !policies.findings.empty()) {
    // Strict: the checks are errors; the other warnings stay warnings.
    auto errors = std::move(policies.findings);
    policies.findings.clear();
    print_warnings(policies, true);
    return rejected(errors);
  }
  print_warnings(policies, options.check);
  if (!policies.snapshot) {
    close_sockets(startup);
    return rejected(policies.errors);
  }
  for (const auto& n : policies.notices) {
    if (options.check)
      std::cerr << "note: " << n << "\n";
    else
      spdlog::info("policies: {}", n);
  }
  if (options.check) {
    print_check_summary(cfg, policies);
    return 0;
  }
  startup.warnings = policies.warnings;
  startup.warnings.insert(startup.warnings.end(), policies.findings.begin(),
                          policies.findings.end());
  startup.policies = std::move(policies.snapshot);
  startup.build_seconds = policies.seconds;
  startup.block_stats = &block_stats;
  return serve(cfg, std::move(startup), policies.summary);
}
