// SPDX-License-Identifier: MIT
#include "resolver/control/ctl_cli.h"

#include <algorithm>
#include <map>

#include "resolver/config/config.h"
#include "sinkhole/version.h"
#include "util/base64.h"
#include "util/read_file.h"

namespace sinkhole::control {

const char* const kExitStatusHelp =
    "Exit status:\n"
    "  0  ok\n"
    "  1  failed: the server reported a failure (a reload that published nothing, a bad\n"
    "     argument; status: the last reload failed or a restart is pending), or a usage\n"
    "     error on the command line, or a -c configuration that does not load;\n"
    "     fleet-report: the nodes' keys differ, or a node sent no sketch document\n"
    "  2  no server: the socket is missing or nobody listens on it, or no reply within\n"
    "     --timeout (5s; reload 120s: a reload answers when every list is built);\n"
    "     fleet-report: a node unreachable (without --allow-missing)\n"
    "  3  explain: the name is blocked for that client\n"
    "  4  explain: the client is refused (in no policy, and no default_policy)";

namespace {

// A duration as the configuration writes them ("500ms", "5s", "2m"), more than zero.
std::optional<std::chrono::milliseconds> parse_timeout(const std::string& text) {
  const auto d = config::parse_duration(text);
  if (!d || d->count() <= 0) return std::nullopt;
  return std::chrono::milliseconds(d->count());
}

}  // namespace

CtlCli::CtlCli(CLI::App& app) {
  // Global options: before the command or, since every command lets what it does not
  // know fall through to here, after it ("sinkholectl reload --timeout 10m").
  socket_option_ =
      app.add_option("-s,--socket", socket_, "Control socket of the server (wins over -c)")
          ->capture_default_str();
  app.add_option("-c,--config", config_,
                 "Configuration file of the server: its control.socket is the socket")
      ->type_name("CONFIG");
  timeout_option_ =
      app.add_option("--timeout", timeout_,
                     "Give up (exit 2) when the server has not answered within DURATION "
                     "(500ms, 5s, 2m; default 5s, reload 120s)")
          ->type_name("DURATION")
          ->check(CLI::Validator(
              [](std::string& s) {
                return parse_timeout(s) ? std::string()
                                        : "'" + s + "' is not a duration like 500ms, 5s or 2m";
              },
              ""));
  app.add_flag("--json", json_, "Machine-readable output (one JSON document)");
  app.set_version_flag("-V,--version", std::string("sinkholectl ") + kVersion);
  app.require_subcommand(1);
  // A command of two words ("cache flush") nests under a group ("cache"), whose help
  // names its commands.
  struct Group {
    CLI::App* app;
    std::string commands;
  };
  std::map<std::string, Group, std::less<>> groups;
  for (const Command& c : commands()) {
    CLI::App* parent = &app;
    std::string_view leaf = c.name;
    if (const size_t space = c.name.find(' '); space != std::string_view::npos) {
      const std::string name(c.name.substr(0, space));
      leaf = c.name.substr(space + 1);
      auto it = groups.find(name);
      if (it == groups.end()) {
        it = groups.emplace(name, Group{app.add_subcommand(name), {}}).first;
        it->second.app->require_subcommand(1);
        it->second.app->fallthrough();
      }
      Group& g = it->second;
      g.commands += (g.commands.empty() ? "" : ", ") + std::string(leaf);
      g.app->description(name + " commands: " + g.commands);
      parent = g.app;
    }
    CLI::App* sub = parent->add_subcommand(std::string(leaf), std::string(c.help));
    sub->fallthrough();
    Leaf entry{c.id, sub, {}, {}};
    std::map<std::string_view, CLI::Option*> by_key;
    for (const Argument& a : c.arguments) {
      if (a.flag) {
        bool& set = flags_.emplace_back(false);
        by_key[a.key] = sub->add_flag(std::string(a.option), set, std::string(a.help));
        entry.flags.emplace_back(a.key, &set);
        continue;
      }
      std::string& value = storage_.emplace_back();
      CLI::Option* o =
          sub->add_option(a.option.empty() ? std::string(a.key) : std::string(a.option), value,
                          std::string(a.help));
      o->type_name(std::string(a.value));
      if (a.required) o->required();
      by_key[a.key] = o;
      entry.values.emplace_back(a.key, &value);
    }
    // Alternatives (Argument::alternative): not both, and one of them.
    for (const Argument& a : c.arguments) {
      if (a.alternative.empty() || a.option.empty()) continue;
      CLI::Option* mine = by_key[a.key];
      CLI::Option* other = by_key[a.alternative];
      if (!mine || !other) continue;
      mine->excludes(other);
      std::string words = std::string(a.alternative);
      for (const Argument& b : c.arguments)
        if (b.key == a.alternative) words = std::string(b.option.empty() ? b.value : b.option);
      words += " or " + std::string(a.option);
      sub->callback([mine, other, words] {
        if (mine->count() == 0 && other->count() == 0) throw CLI::RequiredError(words);
      });
    }
    // Also here, not only through fall-through: `sinkholectl CMD --help` lists it.
    sub->add_flag("--json", json_, "Machine-readable output (one JSON document)");
    leaves_.push_back(std::move(entry));
  }
  app.footer(kExitStatusHelp);
}

Request CtlCli::request() const {
  Request r;
  r.json = json_;
  for (const Leaf& leaf : leaves_) {
    if (!leaf.app->parsed()) continue;
    r.id = leaf.id;
    for (const auto& [key, value] : leaf.values)
      if (!value->empty()) r.args.emplace(std::string(key), *value);
    for (const auto& [key, set] : leaf.flags)
      if (*set) r.args.emplace(std::string(key), "true");
  }
  return r;
}

CtlCli::Target CtlCli::target() const {
  Target t;
  if (socket_option_->count() > 0 || config_.empty()) {
    t.socket = socket_;
    return t;
  }
  const config::LoadResult loaded = config::load_config(config_);
  if (!loaded.config) {
    t.error = "configuration " + config_ + " does not load:";
    for (const auto& e : loaded.errors) t.error += "\n  " + e;
    t.exit = kExitFailed;
    return t;
  }
  if (loaded.config->control.socket.empty()) {
    t.error = config_ + " turns the control socket off (control.socket: \"\")";
    t.exit = kExitUnreachable;
    return t;
  }
  t.socket = loaded.config->control.socket;
  return t;
}

std::chrono::milliseconds CtlCli::timeout() const {
  if (timeout_option_->count() > 0)
    if (const auto t = parse_timeout(timeout_)) return *t;
  return waits_for_build(request().id) ? kDefaultReloadTimeout : kDefaultTimeout;
}

bool attach_uploads(Request& r, std::string* error) {
  for (const Argument& a : command(r.id).arguments) {
    if (!a.upload) continue;
    const auto it = r.args.find(a.key);
    if (it == r.args.end()) continue;
    const std::string path = it->second;
    std::string why;
    const auto bytes = util::read_regular_file(path, &why);
    if (!bytes) {
      *error = "cannot read " + path + ": " + why;
      return false;
    }
    if (bytes->size() > kMaxUploadBytes) {
      *error = path + " is larger than " + std::to_string(kMaxUploadBytes >> 20) + " MiB";
      return false;
    }
    const size_t slash = path.rfind('/');
    it->second = (slash == std::string::npos ? path : path.substr(slash + 1)) + ":" +
                 util::base64_encode(*bytes);
  }
  return true;
}

std::optional<int> parse_command_line(CLI::App& app, std::vector<std::string> args,
                                      std::ostream& out, std::ostream& err) {
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector form reversed
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; CLI11's own codes for the rest
    // (106, 109, ...) become the one documented usage status.
    const int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitFailed;
  }
  return std::nullopt;
}

int render_reply(const Reply& reply, bool json, std::ostream& out) {
  if (json) {
    out << (reply.ok ? reply.result.dump(-1, ' ', false,
                                         nlohmann::ordered_json::error_handler_t::replace)
                     : to_line(reply))
        << "\n";
  } else {
    out << reply.text;
    if (reply.text.empty() || reply.text.back() != '\n') out << "\n";
  }
  if (reply.exit != 0) return reply.exit;
  return reply.ok ? kExitOk : kExitFailed;
}

}  // namespace sinkhole::control
