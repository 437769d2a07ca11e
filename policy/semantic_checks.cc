// SPDX-License-Identifier: MIT
#include "policy/semantic_checks.h"

#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "policy/cidr.h"
#include "resolver/config/yaml_reader.h"
#include "resolver/dns/name.h"
#include "util/log_escape.h"

namespace sinkhole::policy {

namespace {

using config::SocketAddress;

// At most this many public-suffix findings a list; the rest are counted in one more.
constexpr size_t kMaxSuffixFindings = 10;

class Checker {
 public:
  explicit Checker(const CheckInput& in) : in_(in), path_(in.doc.path) {}

  std::vector<Finding> run() {
    const YAML::Node root = in_.doc.root;
    if (root && root.IsMap()) {
      read_policies(root["policies"]);
      policy_checks();
      client_coverage();
      unused_lists(root["lists"]);
      unused_actions(root["actions"], root["lists"]);
      basis_missing();
    }
    forwarding_to_self();
    open_resolver();
    public_suffixes();
    return std::move(out_);
  }

 private:
  struct Ref {
    std::string list;
    YAML::Node node;  // the list name's node
    int32_t action = kNoAction;
  };
  struct PolicyNodes {
    std::string name;
    YAML::Node name_node;
    YAML::Node map;
    std::vector<Cidr> clients;
    std::vector<YAML::Node> client_nodes;
    std::vector<Ref> allow, block;
  };

  void add(std::string check, const YAML::Node* at, std::string message, std::string hint) {
    Finding f;
    f.check = std::move(check);
    f.file = path_;
    if (at && *at) {
      f.line = static_cast<unsigned>(at->Mark().line + 1);
      f.column = static_cast<unsigned>(at->Mark().column + 1);
    }
    f.message = std::move(message);
    f.hint = std::move(hint);
    out_.push_back(std::move(f));
  }

  static std::optional<std::string> scalar(const YAML::Node& n) {
    if (!n || !n.IsScalar()) return std::nullopt;
    return n.Scalar();
  }

  void read_policies(const YAML::Node& n) {
    if (!n || !n.IsSequence()) return;
    for (const auto& p : n) {
      if (!p.IsMap()) continue;
      PolicyNodes pn;
      pn.map.reset(p);
      pn.name_node.reset(p["name"]);
      pn.name = scalar(pn.name_node).value_or("");
      if (const auto c = p["clients"]; c && c.IsSequence())
        for (const auto& item : c)
          if (auto s = scalar(item))
            if (auto cidr = parse_cidr(*s, nullptr)) {
              pn.clients.push_back(*cidr);
              YAML::Node keep;
              keep.reset(item);
              pn.client_nodes.push_back(keep);
            }
      if (const auto a = p["allow"]; a && a.IsSequence())
        for (const auto& item : a)
          if (auto s = scalar(item)) {
            Ref r;
            r.list = *s;
            r.node.reset(item);
            pn.allow.push_back(std::move(r));
          }
      if (const auto b = p["block"]; b && b.IsSequence())
        for (const auto& item : b) {
          Ref r;
          r.node.reset(item.IsMap() ? item["list"] : item);
          r.list = scalar(r.node).value_or("");
          if (item.IsMap())
            if (auto a = scalar(item["action"])) r.action = action_index(*a);
          pn.block.push_back(std::move(r));
        }
      policies_.push_back(std::move(pn));
    }
  }

  int32_t action_index(const std::string& name) const {
    for (size_t i = 0; i < in_.snap.actions.size(); ++i)
      if (in_.snap.actions[i].name == name) return static_cast<int32_t>(i);
    return kNoAction;
  }

  static unsigned line_of(const YAML::Node& n) { return static_cast<unsigned>(n.Mark().line + 1); }

  void policy_checks() {
    const int32_t def = in_.snap.default_policy;
    for (size_t i = 0; i < policies_.size(); ++i) {
      const PolicyNodes& p = policies_[i];
      if (p.clients.empty() && def != static_cast<int32_t>(i))
        add("policy-no-clients", &p.name_node,
            fmt::format("policy '{}' has no clients and is not the default_policy: no query ever "
                        "gets its rules{}",
                        p.name, def == kRefuseClient ? " (clients in no policy are REFUSED)" : ""),
            fmt::format("add clients: [CIDR, ...] to it, or set default_policy: {}", p.name));
      duplicates(p, p.allow, "allow");
      duplicates(p, p.block, "block");
      for (const Ref& b : p.block)
        for (const Ref& a : p.allow)
          if (a.list == b.list) {
            add("allow-and-block", &b.node,
                fmt::format("list '{}' is in both allow (line {}) and block of policy '{}': the "
                            "allow wins, so the list blocks nothing for these clients",
                            b.list, line_of(a.node), p.name),
                "remove it from allow (to block) or from block (to allow)");
            break;
          }
      for (size_t j = 0; j < i; ++j) {
        const PolicyNodes& q = policies_[j];
        if (same_rules(p, q)) {
          add("duplicate-policy", &p.name_node,
              fmt::format("policy '{}' has the same allow and block rules as policy '{}' (line "
                          "{})",
                          p.name, q.name, line_of(q.name_node)),
              fmt::format("move its clients into policy '{}' and remove it", q.name));
          break;
        }
      }
    }
  }

  void duplicates(const PolicyNodes& p, const std::vector<Ref>& refs, const char* where) {
    for (size_t k = 0; k < refs.size(); ++k)
      for (size_t m = 0; m < k; ++m)
        if (refs[m].list == refs[k].list) {
          add("duplicate-rule", &refs[k].node,
              fmt::format("list '{}' is twice in policy '{}'.{} (first at line {}): the second "
                          "rule never decides",
                          refs[k].list, p.name, where, line_of(refs[m].node)),
              "remove the second one");
          break;
        }
  }

  static bool same_rules(const PolicyNodes& a, const PolicyNodes& b) {
    std::set<std::string> aa, ba;
    for (const auto& r : a.allow) aa.insert(r.list);
    for (const auto& r : b.allow) ba.insert(r.list);
    if (aa != ba || a.block.size() != b.block.size()) return false;
    for (size_t i = 0; i < a.block.size(); ++i)
      if (a.block[i].list != b.block[i].list || a.block[i].action != b.block[i].action)
        return false;
    return true;
  }

  // Longest prefix wins, so a policy can apply to no address at all when every one of its
  // prefixes is covered by longer prefixes of other policies.
  struct Span {
    int family;
    unsigned __int128 lo, hi;
    int len;
    size_t policy;
    std::string text;
  };

  static Span span_of(const Cidr& c, size_t policy) {
    Span s{};
    s.policy = policy;
    s.text = to_string(c);
    Cidr v = c;
    // ::ffff:a.b.c.d/96+ is looked up as IPv4 (client_groups.h).
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c.family == AF_INET6 && c.prefix >= 96 && std::memcmp(c.addr.data(), kMapped, 12) == 0) {
      v.family = AF_INET;
      std::memmove(v.addr.data(), c.addr.data() + 12, 4);
      v.prefix = static_cast<uint8_t>(c.prefix - 96);
    }
    const int bits = v.family == AF_INET ? 32 : 128;
    unsigned __int128 a = 0;
    for (int i = 0; i < bits / 8; ++i) a = (a << 8) | v.addr[static_cast<size_t>(i)];
    const int host = bits - v.prefix;
    const unsigned __int128 mask = host >= 128 ? ~static_cast<unsigned __int128>(0)
                                               : ((static_cast<unsigned __int128>(1) << host) - 1);
    s.family = v.family;
    s.len = v.prefix;
    s.lo = a & ~mask;
    s.hi = s.lo | mask;
    return s;
  }

  void client_coverage() {
    std::vector<Span> spans;
    for (size_t i = 0; i < policies_.size(); ++i)
      for (const Cidr& c : policies_[i].clients) spans.push_back(span_of(c, i));
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
      if (a.family != b.family) return a.family < b.family;
      if (a.lo != b.lo) return a.lo < b.lo;
      return a.len < b.len;
    });
    for (size_t i = 0; i < policies_.size(); ++i) {
      const PolicyNodes& p = policies_[i];
      if (p.clients.empty()) continue;
      bool reachable = false;
      std::set<size_t> coverers;
      for (const Cidr& c : p.clients) {
        const Span d = span_of(c, i);
        // Longer prefixes inside d, in address order: does their union leave a gap?
        auto it = std::lower_bound(spans.begin(), spans.end(), d, [](const Span& a, const Span& b) {
          if (a.family != b.family) return a.family < b.family;
          return a.lo < b.lo;
        });
        unsigned __int128 cursor = d.lo;
        bool done = false;
        std::set<size_t> here;
        for (; it != spans.end() && it->family == d.family && it->lo <= d.hi && !done; ++it) {
          if (it->len <= d.len) continue;
          if (it->lo > cursor) break;
          here.insert(it->policy);
          if (it->hi >= d.hi)
            done = true;
          else if (it->hi >= cursor)
            cursor = it->hi + 1;
        }
        if (!done) {
          reachable = true;
          break;
        }
        coverers.insert(here.begin(), here.end());
      }
      if (reachable) continue;
      coverers.erase(i);
      std::string names;
      for (size_t k : coverers) names += (names.empty() ? "'" : ", '") + policies_[k].name + "'";
      add("policy-never-matches", &p.name_node,
          fmt::format("policy '{}' can never match: every one of its client prefixes is covered "
                      "by more specific prefixes{}",
                      p.name, names.empty() ? "" : " of policy " + names),
          "the longest matching prefix decides a client's policy: remove this policy, or give it "
          "prefixes that no other policy covers more specifically");
    }
  }

  void unused_lists(const YAML::Node& lists) {
    if (!lists || !lists.IsMap()) return;
    std::set<std::string> used;
    for (const auto& p : policies_) {
      for (const auto& r : p.allow) used.insert(r.list);
      for (const auto& r : p.block) used.insert(r.list);
    }
    for (const auto& kv : lists) {
      const std::string name = kv.first.as<std::string>();
      if (used.count(name)) continue;
      size_t entries = 0;
      for (const auto& l : in_.snap.lists)
        if (l.name == name) entries = l.stats.entries;
      YAML::Node at;
      at.reset(kv.first);
      add("unused-list", &at,
          fmt::format("list '{}' is not used by any policy: its {} entries are loaded and block "
                      "nothing",
                      name, entries),
          "add it to a policy's block (or allow), or remove it");
    }
  }

  void unused_actions(const YAML::Node& actions, const YAML::Node& lists) {
    if (!actions || !actions.IsMap()) return;
    std::set<std::string> used;
    if (lists && lists.IsMap())
      for (const auto& kv : lists)
        if (kv.second.IsMap())
          if (auto a = scalar(kv.second["action"])) used.insert(*a);
    for (const auto& p : policies_)
      for (const auto& r : p.block)
        if (r.action != kNoAction)
          used.insert(in_.snap.actions[static_cast<size_t>(r.action)].name);
    static const std::set<std::string> kBuiltins = {"nxdomain", "nodata",   "refused",   "drop",
                                                    "passthru", "tcp-only", "local-data"};
    for (const auto& kv : actions) {
      const std::string name = kv.first.as<std::string>();
      // A redefined built-in is used whenever the lists or RPZ rules fall back to it.
      if (used.count(name) || kBuiltins.count(name)) continue;
      YAML::Node at;
      at.reset(kv.first);
      add("unused-action", &at,
          fmt::format("action '{}' is not used by any list or block rule", name),
          "name it in a list's action or a policy's block rule ({ list: L, action: A }), or "
          "remove it");
    }
  }

  // A block rule whose action's EDE text names {authority} or {reference} on a list whose
  // basis lacks it: subscribers would read "Blocked by  under ". Once per (list, action).
  void basis_missing() {
    std::set<std::pair<std::string, int32_t>> seen;
    for (const auto& p : policies_)
      for (const auto& r : p.block) {
        const auto it = std::find_if(in_.snap.lists.begin(), in_.snap.lists.end(),
                                     [&](const ListData& l) { return l.name == r.list; });
        if (it == in_.snap.lists.end()) continue;
        const int32_t action = r.action != kNoAction             ? r.action
                               : it->default_action != kNoAction ? it->default_action
                                                                 : in_.snap.nxdomain;
        if (!seen.emplace(r.list, action).second) continue;
        const Action& a = in_.snap.actions[static_cast<size_t>(action)];
        if (!a.ede) continue;
        std::string missing;
        for (const auto& piece : a.ede_text.pieces) {
          const bool authority = piece.part == EdeTemplate::Part::kAuthority;
          const bool reference = piece.part == EdeTemplate::Part::kReference;
          const char* key = authority ? "authority" : reference ? "reference" : nullptr;
          if (!key || (authority ? !it->basis.authority.empty() : !it->basis.reference.empty()) ||
              missing.find(key) != std::string::npos)
            continue;
          missing += missing.empty() ? key : std::string(" and ") + key;
        }
        if (missing.empty()) continue;
        add("basis-missing", &r.node,
            fmt::format("action '{}' names the legal basis in its EDE text, but list '{}' has no "
                        "basis.{}: its blocks would say \"\" there",
                        a.name, r.list, missing),
            fmt::format("give list '{}' a basis: {{ authority: ..., reference: ... }}, or block it "
                        "with an action whose ede_text does not name them",
                        r.list));
      }
  }

  static bool is_loopback(const SocketAddress& a) {
    if (a.family() == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a.sa());
      return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.sa());
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
  }

  static bool is_wildcard(const SocketAddress& a) {
    if (a.family() == AF_INET)
      return reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr);
  }

  static bool same_address(const SocketAddress& a, const SocketAddress& b) {
    if (a.family() != b.family()) return false;
    if (a.family() == AF_INET)
      return reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr ==
             reinterpret_cast<const sockaddr_in*>(b.sa())->sin_addr.s_addr;
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(b.sa())->sin6_addr, 16) == 0;
  }

  // The node of the i-th item of the sequence under `keys` (e.g. server, allow_query), or
  // an undefined node. Const lookups only: a lookup on a non-const node may insert.
  YAML::Node item(std::initializer_list<const char*> keys, size_t i) const {
    YAML::Node n;
    n.reset(in_.doc.root);
    for (const char* k : keys) {
      if (!n || !n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
      const YAML::Node& cn = n;
      YAML::Node next;
      next.reset(cn[k]);
      n.reset(next);
    }
    if (!n || !n.IsSequence() || i >= n.size()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& cn = n;
    YAML::Node out;
    out.reset(cn[i]);
    return out;
  }

  void forwarding_to_self() {
    const auto& ups = in_.cfg.upstream.servers;
    const auto& listen = in_.cfg.server.listen;
    for (size_t u = 0; u < ups.size(); ++u) {
      const SocketAddress& up = ups[u];
      std::optional<std::string> via;
      for (const auto& l : listen) {
        if (l == up) {
          via = l.to_string();
          break;
        }
        if (!is_wildcard(l) || l.port() != up.port() || l.family() != up.family()) continue;
        bool local = is_loopback(up);
        for (const auto& a : in_.local_addresses) local = local || same_address(a, up);
        if (local) {
          via = l.to_string() + ", which covers every local address";
          break;
        }
      }
      if (!via) continue;
      const std::string hint =
          "point upstreams at other resolvers (the ISP's recursive resolvers, or a local "
          "unbound on another port), or listen elsewhere";
      if (in_.cfg.upstream.from_resolv_conf) {
        Finding f;
        f.check = "forwards-to-self";
        f.file = "/etc/resolv.conf";
        f.message = fmt::format(
            "upstream {} (from /etc/resolv.conf, as `upstreams:` is absent) is our own listen "
            "address {}: queries would be forwarded to ourselves",
            up.to_string(), *via);
        f.hint = "set upstreams: in " + path_ + " — " + hint;
        out_.push_back(std::move(f));
        continue;
      }
      const YAML::Node at = item({"upstreams"}, u);
      add("forwards-to-self", &at,
          fmt::format("upstream {} is our own listen address {}: queries would be forwarded to "
                      "ourselves",
                      up.to_string(), *via),
          hint);
    }
  }

  void open_resolver() {
    const auto& listen = in_.cfg.server.listen;
    const SocketAddress* exposed = nullptr;
    for (const auto& l : listen)
      if (!is_loopback(l)) {
        exposed = &l;
        break;
      }
    if (!exposed) return;
    const auto& allow = in_.cfg.server.access.allow_query;
    for (size_t i = 0; i < allow.size(); ++i) {
      if (allow[i].prefix != 0) continue;
      const YAML::Node at = item({"server", "allow_query"}, i);
      add("open-resolver", &at,
          fmt::format("server.allow_query admits every address ({}) and sinkholed listens on "
                      "{}, which is not loopback: an open resolver, answering anyone (and usable "
                      "in reflection attacks)",
                      to_string(allow[i]), exposed->to_string()),
          "list your subscribers' prefixes in server.allow_query instead of a /0");
      return;
    }
  }

  void public_suffixes() {
    if (!in_.suffixes || in_.suffixes->empty()) return;
    // A name under the suffix: a hit one label up is a rule at the suffix itself that covers
    // the names below it (`com`, `||com^`, `*.com CNAME .`); an exact-only rule is not.
    constexpr std::string_view kProbe = "sinkholed-public-suffix-probe.";
    uint8_t wire[dns::kMaxNameWire];
    std::string name;
    for (const ListData& list : in_.snap.lists) {
      if (list.allow_suffix || !list.matcher) continue;
      size_t found = 0;
      for (const auto& s : in_.suffixes->suffixes()) {
        name.assign(kProbe);
        name += s.name;
        const size_t len = dns::text_to_wire(name, wire);
        if (len == 0) continue;
        const auto m = list.matcher->lookup(wire, len, nullptr);
        if (!m || m->depth != 1 || m->rule.pattern || m->rule.kind != blocklist::RuleKind::kBlock)
          continue;
        if (++found > kMaxSuffixFindings) continue;
        Finding f;
        f.check = "public-suffix";
        f.file = list.path;
        f.line = m->rule.line;
        const bool tld = s.name.find('.') == std::string::npos;
        f.message = fmt::format("list '{}' entry '{}' is {}: it covers every name under .{}",
                                list.name, s.name,
                                tld       ? "a top-level domain"
                                : s.icann ? "a public suffix"
                                          : "a public suffix (private)",
                                s.name);
        f.hint = fmt::format(
            "remove the entry, or set allow_suffix: true on list '{}' if the whole suffix is "
            "meant",
            list.name);
        out_.push_back(std::move(f));
      }
      if (found > kMaxSuffixFindings) {
        Finding f;
        f.check = "public-suffix";
        f.file = list.path;
        f.message = fmt::format("list '{}': {} more entries are public suffixes", list.name,
                                found - kMaxSuffixFindings);
        f.hint = fmt::format("set allow_suffix: true on list '{}' if they are meant", list.name);
        out_.push_back(std::move(f));
      }
    }
  }

  const CheckInput& in_;
  std::string path_;
  std::vector<PolicyNodes> policies_;
  std::vector<Finding> out_;
};

}  // namespace

std::string Finding::to_string() const {
  std::string where = util::escape_for_log(file, 240);
  if (line) where += fmt::format(":{}", line);
  if (line && column) where += fmt::format(":{}", column);
  return fmt::format("{}: {} (hint: {}) [{}]", where, message, hint, check);
}

std::vector<Finding> semantic_checks(const CheckInput& in) {
  return Checker(in).run();
}

std::vector<SocketAddress> local_interface_addresses() {
  std::vector<SocketAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i; i = i->ifa_next)
    if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
      out.push_back(SocketAddress::from_sockaddr(i->ifa_addr));
  freeifaddrs(list);
  return out;
}

void add_semantic_checks(BuildResult& r, const config::Document& doc, const config::Config& cfg) {
  if (!r.snapshot) return;
  const PublicSuffixes& psl = PublicSuffixes::system();
  if (psl.empty() && !r.snapshot->lists.empty())
    r.warnings.push_back(psl.error() + ": list entries were not checked for public suffixes");
  CheckInput in{doc, cfg, *r.snapshot, &psl, local_interface_addresses()};
  for (const auto& f : semantic_checks(in)) r.findings.push_back(f.to_string());
}

}  // namespace sinkhole::policy
