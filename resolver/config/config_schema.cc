// SPDX-License-Identifier: MIT
#include "resolver/config/config_schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "resolver/config/config.h"

namespace sinkhole::config::schema {

namespace {

// Values as the loader reads them back: parse_duration, parse_size, the CIDR parser.
Json duration(Millis d) {
  const long long ms = d.count();
  if (ms == 0) return 0;
  for (const auto& [unit, per] : {std::pair{"d", 86'400'000LL}, std::pair{"h", 3'600'000LL},
                                  std::pair{"m", 60'000LL}, std::pair{"s", 1'000LL}})
    if (ms % per == 0) return std::to_string(ms / per) + unit;
  return std::to_string(ms) + "ms";
}
Json seconds(uint32_t s) {
  return duration(Millis{int64_t{s} * 1000});
}
Json size(size_t bytes) {
  for (const auto& [unit, shift] :
       {std::pair{"GiB", 30}, std::pair{"MiB", 20}, std::pair{"KiB", 10}})
    if (bytes != 0 && bytes % (size_t{1} << shift) == 0)
      return std::to_string(bytes >> shift) + unit;
  return bytes;
}
Json addresses(const std::vector<SocketAddress>& v) {
  Json out = Json::array();
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}
Json cidrs(const std::vector<policy::Cidr>& v) {
  Json out = Json::array();
  for (const auto& c : v) out.push_back(policy::to_string(c));
  return out;
}
Json maybe(const std::optional<std::string>& s) {
  return s ? Json(*s) : Json(nullptr);
}
Json octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}
const char* level(const LogConfig::ClientAddress c) {
  switch (c) {
    case LogConfig::ClientAddress::kTruncated:
      return "truncated";
    case LogConfig::ClientAddress::kFull:
      return "full";
    default:
      return "none";
  }
}
// A dnstap key: null while the section is absent (no dnstap at all).
template <typename F>
Json dnstap(const Config& c, F f) {
  return c.dnstap ? Json(f(*c.dnstap)) : Json(nullptr);
}

using T = Type;
constexpr Apply kLive = Apply::kLive;
constexpr Apply kRestart = Apply::kRestart;
using C = const Config&;

// clang-format off
// One row per key: path, type, detail, default, reload, doc, example, render.
constexpr Key kKeys[] = {
  {"server.listen", T::kAddressList, "", R"(["127.0.0.1:53", "[::1]:53"])", kRestart, "Addresses and ports to answer DNS on (UDP and TCP); port 53 when none is given.", R"(["192.0.2.53:53", "[2001:db8::53]:53"])", [](C c) { return addresses(c.server.listen); }},
  {"server.workers", T::kInteger, "1..256, or auto", "auto", kRestart, "Worker threads, each with its own sockets and loop; auto: one per core.", "4", [](C c) { return c.server.workers ? Json(c.server.workers) : Json("auto"); }},
  {"server.udp_payload", T::kInteger, "512..4096", "1232", kRestart, "Our EDNS UDP payload size, and the largest UDP answer sent (bigger ones go TC=1).", "1400", [](C c) { return Json(c.server.udp_payload); }},
  {"server.tcp_idle_timeout", T::kDuration, "", "10s", kRestart, "A TCP connection with no query pending is closed after this long (RFC 7766).", "30s", [](C c) { return duration(c.server.tcp_idle_timeout); }},
  {"server.tcp_max_connections", T::kInteger, "1..1000000", "1000", kRestart, "TCP connections per worker; at the limit the idlest one gives way.", "4000", [](C c) { return Json(c.server.tcp_max_connections); }},
  {"server.tcp_max_connections_per_client", T::kInteger, "1..1000000", "64", kRestart, "TCP connections per client address, per worker.", "16", [](C c) { return Json(c.server.tcp_max_connections_per_client); }},
  {"server.tcp_query_timeout", T::kDuration, "", "5s", kRestart, "A frame's first byte to its last: a client that trickles a query is closed.", "2s", [](C c) { return duration(c.server.tcp_query_timeout); }},
  {"server.tcp_write_timeout", T::kDuration, "", "10s", kRestart, "Queued answers that make no progress for this long close the connection.", "5s", [](C c) { return duration(c.server.tcp_write_timeout); }},
  {"server.tcp_max_queued_bytes", T::kSize, "64KiB+1 .. 1GiB", "256KiB", kRestart, "Answer bytes waiting per TCP connection; reading pauses at half, the connection closes at the bound.", "1MiB", [](C c) { return size(c.server.tcp_max_queued_bytes); }},
  {"server.tcp_max_query_size", T::kSize, "512..65535 bytes", "4KiB", kRestart, "A TCP length prefix over this closes the connection at once.", "2KiB", [](C c) { return size(c.server.tcp_max_query_size); }},
  {"server.identity", T::kString, "", "(unset: id.server and hostname.bind are refused)", kLive, "Answer to CH TXT id.server and hostname.bind.", "ns1.example.net", [](C c) { return maybe(c.server.identity); }},
  {"server.version", T::kString, "", "(unset: version.bind and version.server are refused)", kLive, "Answer to CH TXT version.bind and version.server.", "resolver", [](C c) { return maybe(c.server.version); }},
  {"server.allow_query", T::kCidrList, "", R"([127.0.0.0/8, "::1/128", 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, "fc00::/7", "fe80::/10"])", kLive, "Clients admitted; anyone else gets REFUSED + EDE 18 (or nothing: refuse_action). A public edge lists its subscribers' prefixes.", R"([10.0.0.0/8, "2001:db8::/32"])", [](C c) { return cidrs(c.server.access.allow_query); }},
  {"server.deny_query", T::kCidrList, "", "[]", kLive, "Clients refused even inside allow_query.", "[10.66.0.0/16]", [](C c) { return cidrs(c.server.access.deny_query); }},
  {"server.refuse_action", T::kEnum, "refuse, drop", "refuse", kLive, "What a client outside allow_query (or in deny_query) gets: REFUSED + EDE 18, or no answer.", "drop", [](C c) { return Json(c.server.access.refuse_action == AccessConfig::RefuseAction::kDrop ? "drop" : "refuse"); }},
  {"server.proxy_protocol_from", T::kCidrList, "", "[]", kLive, "Load balancers (dnsdist useProxyProtocol) trusted to send a PROXY v2 header before each UDP datagram and at the start of each TCP connection; the header's source address is then the client for everything (ACL, rate limit, client groups, logs, dnstap) and the answer goes back to the proxy. From these sources a query without a header is dropped; from any other a header is dropped. Empty: off.", R"([192.0.2.10/32, "2001:db8::10/128"])", [](C c) { return cidrs(c.server.access.proxy_protocol_from); }},
  {"server.runtime_dir", T::kPath, "absolute", "/run/sinkholed", kRestart, "Lock files (one sinkholed per listen address and control socket) and the default control socket; created one level deep if missing, never its parents.", "/run/sinkholed-edge", [](C c) { return Json(c.server.runtime_dir); }},
  {"server.state_dir", T::kPath, "absolute", "/var/lib/sinkholed", kRestart, "Saved copies of feed lists (RPZ transfers, downloads, pushes; served at once after a restart), the local override list and the audit log; created one level deep if missing.", "/var/lib/sinkholed-edge", [](C c) { return Json(c.server.state_dir); }},
  {"server.audit_log", T::kPath, "absolute, or \"\" for none", "(<state_dir>/audit.log)", kRestart, "One JSON line per change of a list: source, who (feed, ctl, file), old and new version, entries added and removed.", "/var/log/sinkholed/audit.log", [](C c) { return maybe(c.server.audit_log); }},
  {"upstreams", T::kAddressList, "at most 32", "(the nameservers of /etc/resolv.conf)", kLive, "Resolvers queries are forwarded to; the last one that answered is tried first, then the others in order.", R"(["192.0.2.1:53", "[2001:db8::1]:53"])", [](C c) { return addresses(c.upstream.servers); }},
  {"upstream.timeout", T::kDuration, "at most upstream.deadline", "1500ms", kLive, "One attempt at one upstream; then the next upstream is tried.", "1s", [](C c) { return duration(c.upstream.timeout); }},
  {"upstream.deadline", T::kDuration, "", "2s", kLive, "The client gets a stale answer or SERVFAIL + EDE 22 after this, whatever happened.", "3s", [](C c) { return duration(c.upstream.deadline); }},
  {"upstream.max_inflight", T::kInteger, "1..1000000", "4096", kLive, "Distinct questions waiting on upstreams, per worker; past it a new one gets a stale answer or SERVFAIL + EDE 0.", "8192", [](C c) { return Json(c.upstream.max_inflight); }},
  {"upstream.max_inflight_per_upstream", T::kInteger, "1..1000000", "2048", kLive, "Attempts waiting on one upstream, per worker; a busy upstream is passed over.", "1024", [](C c) { return Json(c.upstream.max_inflight_per_upstream); }},
  {"upstream.zone_share", T::kPercentage, "1%..100%", "10%", kLive, "Share of max_inflight any one zone (e.g. example.com, example.com.vn) may take.", "5%", [](C c) { return Json(std::to_string(c.upstream.zone_share_percent) + "%"); }},
  {"upstream.socket_reuse", T::kInteger, "1..256", "16", kLive, "UDP attempts per upstream socket (random port) before it is closed; 1: a new port per query.", "1", [](C c) { return Json(c.upstream.socket_reuse); }},
  {"cache.max_bytes", T::kSize, "", "256MiB", kLive, "Memory for the packet cache shared by all workers; 0 turns the cache off.", "1GiB", [](C c) { return size(c.cache.max_bytes); }},
  {"cache.min_ttl", T::kDuration, "or 0", "0", kLive, "Answers are cached at least this long, whatever their TTL.", "30s", [](C c) { return seconds(c.cache.min_ttl); }},
  {"cache.max_ttl", T::kDuration, "or 0", "1d", kLive, "Answers are cached at most this long.", "6h", [](C c) { return seconds(c.cache.max_ttl); }},
  {"cache.max_negative_ttl", T::kDuration, "or 0", "1h", kLive, "NXDOMAIN and NODATA answers are cached at most this long (RFC 2308).", "5m", [](C c) { return seconds(c.cache.max_negative_ttl); }},
  {"cache.serve_stale", T::kDuration, "or 0 (off)", "1d", kLive, "When every upstream fails, an answer expired less than this ago is served with TTL 30 (RFC 8767).", "6h", [](C c) { return duration(c.cache.serve_stale); }},
  {"log.level", T::kEnum, "trace, debug, info, warn, error, critical, off", "info", kLive, "Lowest level of the messages logged (to stderr: journald under systemd).", "debug", [](C c) { return Json(c.log.level); }},
  {"log.blocked_queries", T::kBool, "", "false", kLive, "One line per blocked query (time, name, type, list, category, action) in the blocked-query log.", "true", [](C c) { return Json(c.log.blocked_queries); }},
  {"log.blocked_queries_format", T::kEnum, "text, json", "text", kLive, "The blocked-query line: key=value text after the time, or one JSON object per line (JSON Lines) with the UTC time inside.", "json", [](C c) { return Json(c.log.blocked_queries_format == LogConfig::BlockedFormat::kJson ? "json" : "text"); }},
  {"log.client_address", T::kEnum, "none, truncated, full", "none", kLive, "The client in blocked-query lines: not at all, its /24 or /48, or the full address (where privacy rules allow).", "truncated", [](C c) { return Json(level(c.log.client_address)); }},
  {"log.debug_query_rate", T::kInteger, "1..1000000", "100", kLive, "At log.level debug: per-query decision lines a second per worker; the rest are counted in one suppressed line a second.", "20", [](C c) { return Json(c.log.debug_query_rate); }},
  {"control.socket", T::kPath, "", "/run/sinkholed/control.sock", kRestart, "The Unix socket sinkholectl talks to; \"\" turns it off.", "/run/sinkholed/ctl.sock", [](C c) { return Json(c.control.socket); }},
  {"control.mode", T::kOctal, "", R"("0660")", kRestart, "Permissions of the control socket, in octal (quote it).", R"("0600")", [](C c) { return octal(c.control.mode); }},
  {"control.group", T::kString, "", R"("")", kRestart, "Group owning the control socket (its members may run sinkholectl); \"\": the server's own group.", "adm", [](C c) { return Json(c.control.group); }},
  {"control.watch_files", T::kBool, "", "true", kLive, "Reload by itself when the config file or a list file changes.", "false", [](C c) { return Json(c.control.watch_files); }},
  {"control.watch_debounce", T::kDuration, "", "1s", kLive, "Every watched file must stay unchanged this long before that reload starts (a list rewritten in place is not read half written).", "5s", [](C c) { return duration(c.control.watch_debounce); }},
  {"metrics.listen", T::kAddress, "", "(unset: no HTTP listener)", kRestart, "Address of the HTTP listener for /metrics (Prometheus), /explain and /healthz.", R"("127.0.0.1:9153")", [](C c) { return c.metrics.listen ? Json(c.metrics.listen->to_string()) : Json(nullptr); }},
  {"metrics.max_connections", T::kInteger, "1..65536", "256", kRestart, "HTTP connections at once.", "1024", [](C c) { return Json(c.metrics.max_connections); }},
  {"metrics.max_connections_per_client", T::kInteger, "1..65536", "16", kRestart, "HTTP connections at once from one address.", "4", [](C c) { return Json(c.metrics.max_connections_per_client); }},
  {"metrics.timeout", T::kDuration, "whole seconds", "5s", kRestart, "An HTTP connection silent this long is closed.", "10s", [](C c) { return duration(c.metrics.timeout); }},
  {"dnstap.socket", T::kPath, "exclusive with dnstap.file", "(unset: without a dnstap section, no dnstap)", kRestart, "A collector's Frame Streams Unix socket (e.g. fstrm_capture) to send dnstap messages to.", "/run/dnstap.sock", [](C c) { return dnstap(c, [](const DnstapConfig& d) { return d.output == DnstapConfig::Output::kSocket ? Json(d.path) : Json(nullptr); }); }},
  {"dnstap.file", T::kPath, "exclusive with dnstap.socket", "(unset)", kRestart, "A file to write dnstap messages to instead of a socket.", "/var/log/sinkholed/dnstap.fstrm", [](C c) { return dnstap(c, [](const DnstapConfig& d) { return d.output == DnstapConfig::Output::kFile ? Json(d.path) : Json(nullptr); }); }},
  {"dnstap.identity", T::kString, "", "(the host name)", kRestart, "The identity field of every dnstap message.", "resolver-1", [](C c) { return dnstap(c, [](const DnstapConfig& d) { return d.identity; }); }},
  {"dnstap.version", T::kString, "", "(sinkholed and its version)", kRestart, "The version field of every dnstap message.", "edge-2", [](C c) { return dnstap(c, [](const DnstapConfig& d) { return d.version; }); }},
  {"dnstap.client_queries", T::kBool, "", "true", kRestart, "Log each client query (CLIENT_QUERY).", "false", [](C c) { return dnstap(c, [](const DnstapConfig& d) { return d.client_queries; }); }},
  {"dnstap.client_responses", T::kBool, "", "true", kRestart, "Log each answer to a client (CLIENT_RESPONSE).", "false", [](C c) { return dnstap(c, [](const DnstapConfig& d) { return d.client_responses; }); }},
  {"rate_limit.responses_per_second", T::kInteger, "0..1000000", "0", kLive, "UDP responses per second per client prefix, for the whole server; 0: no rate limiting.", "50", [](C c) { return Json(c.rate_limit.responses_per_second); }},
  {"rate_limit.burst", T::kInteger, "0..10000000", "0", kLive, "Responses a prefix may send at once above the rate; 0: as responses_per_second.", "100", [](C c) { return Json(c.rate_limit.burst); }},
  {"rate_limit.slip", T::kInteger, "0..10", "2", kLive, "Every slip-th limited response goes out TC=1 (a real client retries over TCP); 0: never.", "3", [](C c) { return Json(c.rate_limit.slip); }},
  {"rate_limit.ipv4_prefix", T::kInteger, "8..32", "24", kLive, "IPv4 clients are limited together per prefix of this length.", "22", [](C c) { return Json(c.rate_limit.ipv4_prefix); }},
  {"rate_limit.ipv6_prefix", T::kInteger, "16..128", "56", kLive, "IPv6 clients are limited together per prefix of this length.", "48", [](C c) { return Json(c.rate_limit.ipv6_prefix); }},
  {"rate_limit.exempt", T::kCidrList, "", "[]", kLive, "Clients never rate limited (e.g. a CGNAT range hiding thousands of subscribers).", "[100.64.0.0/10]", [](C c) { return cidrs(c.rate_limit.exempt); }},
  {"rate_limit.table_size", T::kInteger, "1024..16777216", "65536", kRestart, "Prefix buckets per worker (24 bytes each; rounded up to a power of two): memory is fixed.", "131072", [](C c) { return Json(c.rate_limit.table_size); }},
  {"protected_users.key_file", T::kPath, "32 hex digits in the file, not readable by others", "(unset: a random key per process)", kRestart, "The 128-bit key of the protected-users address hash (openssl rand -hex 16); relative to the config file's directory. Every node of a fleet uses the same file so that sinkholectl fleet-report can merge their counts. Read at start: a missing, unreadable, malformed or world-accessible file stops the start.", "/etc/sinkholed/fleet.key", [](C c) { return c.protected_users.key_file.empty() ? Json(nullptr) : Json(c.protected_users.key_file); }},
  {"list_defaults.max_reject_ratio", T::kFraction, "0..1, or 0%..100%", "1%", kLive, "A list with more rejected lines than this share of its entry lines fails the reload.", "5%", nullptr},
  {"list_defaults.max_shrink", T::kFraction, "0..1, or 0%..100%", "50%", kLive, "A list that lost more than this share of the entries of the version in service fails the reload.", "20%", nullptr},
  {"list_defaults.max_entries", T::kInteger, "1..1000000000", "10000000", kLive, "A list with more entries (or a file longer than 1 KiB an entry) fails to load.", "2000000", nullptr},
  {"lists.<name>.path", T::kPath, "", "(one of path, primary, url)", kLive, "The list file; relative to the config file's directory.", "lists/gambling.txt", nullptr},
  {"lists.<name>.primary", T::kAddressList, "addresses, port 53 by default", "(none)", kLive, "An RPZ secondary: the primaries the zone is transferred from (AXFR, then IXFR on NOTIFY or the SOA refresh); NOTIFY is accepted only from them, on the DNS listen addresses.", "[127.0.0.30:5470]", nullptr},
  {"lists.<name>.zone", T::kString, "a zone name", "(required with primary)", kLive, "The RPZ zone transferred from the primary.", "mic.rpz", nullptr},
  {"lists.<name>.tsig.name", T::kString, "", "(required with tsig)", kLive, "The TSIG key's name, as the primary knows it; transfers and NOTIFY are signed and verified with it.", "feed", nullptr},
  {"lists.<name>.tsig.algorithm", T::kEnum, "hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512", "hmac-sha256", kLive, "The TSIG algorithm.", "hmac-sha512", nullptr},
  {"lists.<name>.tsig.secret_file", T::kPath, "", "(required with tsig)", kLive, "A file holding the base64 secret, as keymgr -t or tsig-keygen print it; relative to the config file's directory. Read at every build (start, reload): a missing file, no valid base64 secret, or a key name or algorithm in it other than the configured ones is a configuration error.", "keys/feed.key", nullptr},
  {"lists.<name>.on_expire", T::kEnum, "keep, drop", "keep", kLive, "At the SOA expire time without a refresh: keep serving the last copy and warn, or stop applying the list.", "drop", nullptr},
  {"lists.<name>.updates", T::kEnum, "enforce, stage", "enforce", kLive, "A feed list (primary or url): each new version the feed fetches that passes the list guard serves at once (enforce), or becomes the list's staged version — compiled and tallied beside the one serving, shown by sinkholectl lists and list diff, never answering until sinkholectl list promote (stage). An error on a file list.", "stage", nullptr},
  {"lists.<name>.url", T::kString, "http:// or https://", "(one of path, primary, url)", kLive, "An HTTP(S) source: downloaded at start and every refresh (ETag, If-Modified-Since), checked by the list guard before it replaces the copy serving.", "https://lists.example/gambling.txt", nullptr},
  {"lists.<name>.refresh", T::kDuration, "10s or more", "1h", kLive, "How often an HTTP source is asked again.", "15m", nullptr},
  {"lists.<name>.max_bytes", T::kSize, "", "256MiB", kLive, "A bigger download is refused (the copy serving stays).", "64MiB", nullptr},
  {"lists.<name>.timeout", T::kDuration, "", "60s", kLive, "One download, connect to last byte.", "30s", nullptr},
  {"lists.<name>.ca_file", T::kPath, "", "(the system's CA bundle)", kLive, "CA certificates for an https:// source; TLS is always verified.", "/etc/sinkholed/feed-ca.pem", nullptr},
  {"lists.<name>.format", T::kEnum, "domains, hosts, adblock, rpz, patterns", "domains", kLive, "How the file is written.", "hosts", nullptr},
  {"lists.<name>.category", T::kString, "", "(the list's name)", kLive, "Category in metrics, the blocked-query log and EDE texts ({category}).", "gambling", nullptr},
  {"lists.<name>.action", T::kName, "an action", "nxdomain", kLive, "Action for this list's names when a policy's block rule names none (an RPZ list's rules keep their own).", "warning-page", nullptr},
  {"lists.<name>.max_reject_ratio", T::kFraction, "0..1, or 0%..100%", "(list_defaults.max_reject_ratio)", kLive, "list_defaults.max_reject_ratio for this list.", "0.05", nullptr},
  {"lists.<name>.max_shrink", T::kFraction, "0..1, or 0%..100%", "(list_defaults.max_shrink)", kLive, "list_defaults.max_shrink for this list.", "90%", nullptr},
  {"lists.<name>.max_entries", T::kInteger, "1..1000000000", "(list_defaults.max_entries)", kLive, "list_defaults.max_entries for this list.", "500000", nullptr},
  {"lists.<name>.mandatory", T::kBool, "", "false", kLive, "The regulator's list: no allow list and no other list's exception lifts its block, only the lists named in its own exceptions.", "true", nullptr},
  {"lists.<name>.exceptions", T::kString, "list names", "[]", kLive, "Lists whose entries are exempt from this list only (the one way to lift a name of a mandatory list); lifts are counted at load.", "[mic-exceptions]", nullptr},
  {"lists.<name>.allow_suffix", T::kBool, "", "false", kLive, "The list may hold TLDs and public suffixes on purpose; otherwise each is a public-suffix warning (an error under --check --strict).", "true", nullptr},
  {"lists.<name>.allow_shrink", T::kBool, "", "false", kLive, "This list may shrink by any amount without sinkholectl reload --force (never to empty).", "true", nullptr},
  {"lists.<name>.basis.authority", T::kString, "at most 255 bytes", "(none)", kLive, "Legal basis: the authority that ordered the blocking; in EDE texts ({authority}), explain, /explain, the blocked-query log and sinkholectl lists.", "\"Ministry of Information and Communications\"", nullptr},
  {"lists.<name>.basis.reference", T::kString, "at most 255 bytes", "(none)", kLive, "Legal basis: the decision or order (its number); in EDE texts ({reference}) and wherever the authority is shown.", "\"Decision 1234/QD-BTTTT\"", nullptr},
  {"lists.<name>.basis.date", T::kString, "YYYY-MM-DD (ISO 8601)", "(none)", kLive, "Legal basis: the date of the decision.", "2024-11-09", nullptr},
  {"lists.<name>.basis.url", T::kString, "http:// or https://", "(none)", kLive, "Legal basis: where the decision is published (the warning page links to it).", "https://regulator.example/decisions/1234", nullptr},
  {"actions.<name>.type", T::kEnum, "sinkhole, nxdomain, nodata, refused, drop, cname, passthru", "(required)", kLive, "What a blocked query gets (passthru: answered as usual, counted and logged: monitor mode). Naming a built-in (nxdomain, nodata, refused, drop, passthru) redefines it.", "sinkhole", nullptr},
  {"actions.<name>.a", T::kIpList, "IPv4; sinkhole only", "(none)", kLive, "Address(es) of the sinkhole's A answer (e.g. a warning page); a sinkhole needs a or aaaa.", "203.0.113.10", nullptr},
  {"actions.<name>.aaaa", T::kIpList, "IPv6; sinkhole only", "(none)", kLive, "Address(es) of the sinkhole's AAAA answer.", R"("2001:db8::10")", nullptr},
  {"actions.<name>.ttl", T::kInteger, "0..604800; sinkhole, cname", "300", kLive, "TTL of the sinkhole or CNAME records.", "60", nullptr},
  {"actions.<name>.soa_ttl", T::kInteger, "0..86400; sinkhole, nxdomain, nodata", "300", kLive, "TTL and negative-caching time of the synthesized SOA.", "60", nullptr},
  {"actions.<name>.target", T::kHostName, "cname only", "(required for cname)", kLive, "The name a cname action answers with (e.g. a warning page's host), resolved and answered whole.", "warning.example.net", nullptr},
  {"actions.<name>.ede", T::kEnum, "blocked, censored, filtered, none", "blocked", kLive, "RFC 8914 Extended DNS Error code sent with the block (15, 16, 17), or none.", "censored", nullptr},
  {"actions.<name>.ede_text", T::kTemplate, "{list}, {category}, {line}, {file}, {authority}, {reference}", R"("")", kLive, "EXTRA-TEXT of the EDE, with the list's name, category, file and line, and its legal basis' authority and reference (\"\" when it has none), filled in.", "\"Blocked under Decree 147/2024/ND-CP (list {list})\"", nullptr},
  {"actions.<name>.log", T::kBool, "", "false", kLive, "Log each query this action blocks (or passthru lets through) in the main log, with list, file:line and rule.", "true", nullptr},
  {"policies[].name", T::kName, "", "(required)", kLive, "The policy's name (in explain, default_policy and logs).", "subscribers", nullptr},
  {"policies[].clients", T::kCidrList, "", "[]", kLive, "Client prefixes this policy applies to; the longest matching prefix over all policies wins.", "[10.0.0.0/8]", nullptr},
  {"policies[].allow", T::kNameList, "", "[]", kLive, "Lists whose names are never blocked for these clients.", "[staff-allow]", nullptr},
  {"policies[].block", T::kBlockRules, "", "[]", kLive, "Lists to block, in order; the first list that matches decides the action.", "[gambling]", nullptr},
  {"policies[].block[].list", T::kName, "a list", "(required)", kLive, "The list of a block rule written as a mapping.", "gambling", nullptr},
  {"policies[].block[].action", T::kName, "an action", "(lists.<name>.action)", kLive, "The action for this rule, overriding the list's own.", "nodata", nullptr},
  {"default_policy", T::kName, "a policy, or refused", "(refused; with no policies at all, every client is served)", kLive, "The policy of clients no policy's prefixes match.", "subscribers", nullptr},
};
// clang-format on

constexpr Section kSections[] = {
    {"server", "Listening and admission",
     "Where sinkholed answers and whom it answers. Anyone outside server.allow_query gets "
     "REFUSED before any other work."},
    {"upstreams", "Upstream resolvers",
     "A top-level list of the resolvers allowed queries are forwarded to."},
    {"upstream", "Upstream limits",
     "Per-worker bounds on upstream work, so a flood of random names in a dead zone cannot take "
     "every socket."},
    {"cache", "Packet cache", "Allowed answers, shared by all workers."},
    {"log", "Logging", "The main log and the blocked-query log."},
    {"control", "Control socket and file watching",
     "sinkholectl's socket, and reloading when a file changes."},
    {"metrics", "HTTP: /metrics, /explain, /healthz", "Off unless metrics.listen is set."},
    {"dnstap", "dnstap", "Absent: no dnstap. Present: exactly one of socket or file."},
    {"rate_limit", "Response rate limiting",
     "Per client prefix, UDP only (TCP is never limited). Off unless responses_per_second is "
     "set."},
    {"protected_users", "Protected users",
     "Distinct clients protected per category (sinkholed_protected_users, "
     "/protected-users/sketches); the key that makes a fleet's counts mergeable."},
    {"list_defaults", "List guard defaults",
     "Checks each list must pass before it is published; a list refused fails the reload and "
     "the old rules keep serving."},
    {"lists", "Lists",
     "A mapping of list name to list. The name is how policies, metrics and explain refer to it."},
    {"actions", "Actions",
     "A mapping of action name to action. Built in, usable without a definition: nxdomain, nodata, "
     "refused, drop, passthru."},
    {"policies", "Policies",
     "A sequence of policies; each maps client prefixes to allow lists and ordered block rules."},
    {"default_policy", "Default policy", "For clients in no policy."},
};

}  // namespace

std::span<const Key> keys() {
  return kKeys;
}

const Key* find(std::string_view path) {
  for (const auto& k : kKeys)
    if (k.path == path) return &k;
  return nullptr;
}

std::string_view section_of(std::string_view path) {
  return path.substr(0, path.find_first_of(".["));
}

const std::set<std::string>& keys_of(std::string_view section) {
  static const auto by_section = [] {
    std::map<std::string, std::set<std::string>, std::less<>> out;
    for (const auto& k : kKeys) {
      // Every proper prefix that ends before a '.' is a section holding the next component.
      std::string_view path = k.path;
      size_t start = 0;
      while (true) {
        const size_t dot = path.find('.', start);
        std::string_view component = path.substr(start, dot == path.npos ? path.npos : dot - start);
        if (component.size() > 2 && component.substr(component.size() - 2) == "[]")
          component.remove_suffix(2);
        out[std::string(start == 0 ? std::string_view() : path.substr(0, start - 1))].emplace(
            component);
        if (dot == path.npos) break;
        start = dot + 1;
      }
    }
    return out;
  }();
  static const std::set<std::string> kNone;
  const auto it = by_section.find(section);
  return it == by_section.end() ? kNone : it->second;
}

std::span<const Section> sections() {
  return kSections;
}

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kString:
      return "string";
    case Type::kPath:
      return "path";
    case Type::kBool:
      return "boolean";
    case Type::kInteger:
      return "integer";
    case Type::kDuration:
      return "duration";
    case Type::kSize:
      return "size";
    case Type::kFraction:
      return "fraction";
    case Type::kPercentage:
      return "percentage";
    case Type::kOctal:
      return "octal mode";
    case Type::kEnum:
      return "one of";
    case Type::kAddress:
      return "address";
    case Type::kAddressList:
      return "address list";
    case Type::kCidrList:
      return "CIDR list";
    case Type::kNameList:
      return "list names";
    case Type::kName:
      return "name";
    case Type::kIpList:
      return "IP address(es)";
    case Type::kHostName:
      return "host name";
    case Type::kTemplate:
      return "text template";
    case Type::kBlockRules:
      return "block rules";
  }
  return "?";
}

std::string type_text(const Key& k) {
  std::string out(type_name(k.type));
  if (k.type == Type::kName && !k.detail.empty()) out += " of";
  // Appended piece by piece: GCC 12 at -O3 takes `" " + std::string(...)` for an
  // overlapping memcpy (-Wrestrict, a false positive).
  if (!k.detail.empty()) {
    out += ' ';
    out += k.detail;
  }
  return out;
}

std::string_view apply_text(Apply a) {
  return a == Apply::kLive ? "live" : "restart";
}

std::set<std::string> keys_set(const YAML::Node& root) {
  std::set<std::string> out;
  if (!root.IsMap()) return out;
  for (const auto& k : kKeys) {
    if (!k.render) continue;
    const std::string_view path = k.path;
    const size_t dot = path.find('.');
    const std::string top(path.substr(0, dot));
    const YAML::Node& section = root;  // const: lookups must not add keys
    const YAML::Node top_node = section[top];
    if (!top_node) continue;
    if (dot == path.npos) {
      out.emplace(path);
      continue;
    }
    if (top_node.IsMap() && top_node[std::string(path.substr(dot + 1))]) out.emplace(path);
  }
  return out;
}

namespace {

// A plain YAML scalar that reads back as the same string: safe characters only, and not
// something YAML or a reader would take for a number, a boolean or null.
bool plain(const std::string& s) {
  if (s.empty()) return false;
  if (!std::all_of(s.begin(), s.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '/' ||
               ch == '_' || ch == '-' || ch == '%';
      }))
    return false;
  if (s.front() == '-' || s.front() == '.' || s.front() == '%') return false;
  if (std::all_of(s.begin(), s.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.';
      }))
    return false;
  static const std::set<std::string> kReserved = {"true", "false", "yes",  "no",    "on",
                                                  "off",  "null",  "True", "False", "Null"};
  return !kReserved.count(s);
}

}  // namespace

std::string yaml_text(const Json& value) {
  if (value.is_null()) return "null";
  if (value.is_string()) {
    const std::string s = value.get<std::string>();
    return plain(s) ? s : value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  if (value.is_array()) {
    std::string out = "[";
    for (const auto& v : value) out += (out.size() > 1 ? ", " : "") + yaml_text(v);
    return out + "]";
  }
  return value.dump();
}

}  // namespace sinkhole::config::schema
