// SPDX-License-Identifier: MIT
// IXFR deltas applied to a copy by streaming it (xfr_apply.h), and the SOA timers.
#include "resolver/feeds/xfr_apply.h"

#include <doctest/doctest.h>

#include <sstream>

#include "resolver/feeds/soa_timers.h"

namespace feeds = sinkhole::feeds;

namespace {

const std::string kSoa1 = "mic.rpz.\t60\tIN\tSOA\tns.mic.rpz. admin.mic.rpz. 1 10 5 100 60";
const std::string kSoa3 = "mic.rpz.\t60\tIN\tSOA\tns.mic.rpz. admin.mic.rpz. 3 10 5 100 60";

std::string line(const std::string& name, int ttl = 60) {
  return name + ".mic.rpz.\t" + std::to_string(ttl) + "\tIN\tCNAME\t.";
}

std::string copy_of(std::initializer_list<std::string> names) {
  std::string out = kSoa1 + "\n";
  for (const auto& n : names) out += line(n) + "\n";
  return out;
}

}  // namespace

TEST_CASE("ixfr apply: deletions dropped, additions appended, the new SOA first") {
  std::istringstream cur(copy_of({"a.example", "b.example", "c.example"}));
  feeds::IxfrDelta d{1, 3, {kSoa1, line("b.example")}, {kSoa3, line("d.example")}};
  std::string out, err;
  feeds::ApplyStats st;
  REQUIRE(feeds::apply_ixfr(cur, kSoa3, {d}, out, st, &err));
  CHECK(out == kSoa3 + "\n" + line("a.example") + "\n" + line("c.example") + "\n" +
                   line("d.example") + "\n");
  CHECK(st.records == 4);
  CHECK(st.deleted == 1);
  CHECK(st.added == 1);
}

TEST_CASE("ixfr apply: deletions match without the TTL; steps chain to a net change") {
  std::istringstream cur(copy_of({"a.example", "b.example"}));
  // Step 1 deletes a (with another TTL) and adds x; step 2 deletes x again and adds y.
  feeds::IxfrDelta d1{1, 2, {line("a.example", 3600)}, {line("x.example")}};
  feeds::IxfrDelta d2{2, 3, {line("x.example")}, {line("y.example")}};
  std::string out, err;
  feeds::ApplyStats st;
  REQUIRE(feeds::apply_ixfr(cur, kSoa3, {d1, d2}, out, st, &err));
  CHECK(out == kSoa3 + "\n" + line("b.example") + "\n" + line("y.example") + "\n");
}

TEST_CASE("ixfr apply: a record re-added with a new TTL replaces the old line") {
  std::istringstream cur(copy_of({"a.example"}));
  feeds::IxfrDelta d{1, 3, {line("a.example")}, {line("a.example", 30)}};
  std::string out, err;
  feeds::ApplyStats st;
  REQUIRE(feeds::apply_ixfr(cur, kSoa3, {d}, out, st, &err));
  CHECK(out == kSoa3 + "\n" + line("a.example", 30) + "\n");
}

TEST_CASE("ixfr apply: deleting a record the copy lacks is refused (the feed falls back to AXFR)") {
  std::istringstream cur(copy_of({"a.example"}));
  feeds::IxfrDelta d{1, 3, {line("zzz.example")}, {}};
  std::string out, err;
  feeds::ApplyStats st;
  CHECK_FALSE(feeds::apply_ixfr(cur, kSoa3, {d}, out, st, &err));
  CHECK(err.find("1 records the copy does not hold") != std::string::npos);
}

TEST_CASE("record key drops only the TTL") {
  CHECK(feeds::record_key("a.\t60\tIN\tCNAME\t.") == "a.\tIN\tCNAME\t.");
  CHECK(feeds::record_key("nothing") == "nothing");
}

TEST_CASE("soa timers: refresh, retry, expire, clamps and serial arithmetic") {
  feeds::SoaTimers t{10, 5, 100};
  CHECK(feeds::refresh_delay_ms(t) == 10000);
  CHECK(feeds::retry_delay_ms(t) == 5000);
  CHECK(feeds::expire_ms(t) == 100000);
  CHECK_FALSE(feeds::soa_expired(t, 1000, 1000 + 99999));
  CHECK(feeds::soa_expired(t, 1000, 1000 + 100000));
  // A retry longer than the refresh waits only the refresh; zero timers are one second.
  CHECK(feeds::retry_delay_ms({10, 60, 100}) == 10000);
  CHECK(feeds::refresh_delay_ms({0, 0, 0}) == 1000);
  CHECK(feeds::expire_ms({0, 0, 0}) == 1000);
  // Years are a week.
  CHECK(feeds::refresh_delay_ms({0xffffffffu, 1, 1}) == uint64_t{7} * 24 * 3600 * 1000);
  // An expire shorter than the refresh is the refresh.
  CHECK(feeds::expire_ms({60, 10, 5}) == 60000);
  CHECK(feeds::serial_newer(2, 1));
  CHECK_FALSE(feeds::serial_newer(1, 1));
  CHECK_FALSE(feeds::serial_newer(1, 2));
  CHECK(feeds::serial_newer(1, 0xfffffff0u));  // wrapped around
}
