// SPDX-License-Identifier: MIT
#include "resolver/control/ctl_cli.h"

#include <map>

namespace sinkhole::control {

CtlCli::CtlCli(CLI::App& app) {
  app.add_option("-s,--socket", socket_, "Control socket of the server")->capture_default_str();
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
      }
      Group& g = it->second;
      g.commands += (g.commands.empty() ? "" : ", ") + std::string(leaf);
      g.app->description(name + " commands: " + g.commands);
      parent = g.app;
    }
    CLI::App* sub = parent->add_subcommand(std::string(leaf), std::string(c.help));
    Leaf entry{c.id, sub, {}, {}};
    for (const Argument& a : c.arguments) {
      if (a.flag) {
        bool& set = flags_.emplace_back(false);
        sub->add_flag(std::string(a.option), set, std::string(a.help));
        entry.flags.emplace_back(a.key, &set);
        continue;
      }
      std::string& value = storage_.emplace_back();
      CLI::Option* o =
          sub->add_option(a.option.empty() ? std::string(a.key) : std::string(a.option), value,
                          std::string(a.help));
      o->type_name(std::string(a.value));
      if (a.required) o->required();
      entry.values.emplace_back(a.key, &value);
    }
    sub->add_flag("--json", json_, "Machine-readable output (one JSON document)");
    leaves_.push_back(std::move(entry));
  }
  app.footer("Exit status: 0 ok, 1 the server reported a failure, 2 server unreachable.");
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
