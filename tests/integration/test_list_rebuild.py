# SPDX-License-Identifier: MIT
"""Per-list rebuilds: a reload compiles only the lists whose file changed. The real
sinkholed with a domain list and an RPZ zone (with local data) on loopback, knotd
upstream: a reload with nothing changed says `0 lists rebuilt, 2 reused` and keeps
blocking and answering the zone's local data; changing the domain list rebuilds it alone
(`1 list rebuilt, 1 reused`) and its new name is blocked at once while the reused zone's
rules and local data still apply; then changing the zone rebuilds only the zone. A
changed list that fails the list guard (emptied) still fails the reload, and the old
snapshot keeps serving."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from zones import soa_zone_text  # noqa: E402

CLIENT = "127.0.0.2"

NAMES_V1 = "first.rebuild.test\n"
NAMES_V2 = "first.rebuild.test\nsecond.rebuild.test\n"
ZONE_V1 = ("$TTL 300\n@ SOA localhost. root.localhost. 1 3600 600 86400 300\n  NS localhost.\n"
           "zone.rebuild.test CNAME .\nlocal.rebuild.test 60 A 198.51.100.7\n")
ZONE_V2 = ZONE_V1 + "zone2.rebuild.test CNAME .\n"

POLICY = """\
lists:
  names: { path: names.txt, format: domains }
  zone: { path: zone.rpz, format: rpz }
policies:
  - name: subscribers
    clients: ["127.0.0.2/32"]
    block: [names, zone]
"""


def zones():
    return {"rebuild.test": soa_zone_text("rebuild.test", [
        "first 600 IN A 192.0.2.1",
        "second 600 IN A 192.0.2.2",
        "zone2 600 IN A 192.0.2.3",
        "www 600 IN A 192.0.2.4",
    ])}


class ListRebuildTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def reload_summary(self, s):
        ok, log = s.reload()
        self.assertTrue(ok, log)
        m = re.search(r"reload: generation \d+ in service: (.*)", log)
        self.assertIsNotNone(m, log)
        return m.group(1)

    def assertBlocked(self, s, name):
        self.assertAnswerIs(s.ask(CLIENT, name, "A"), NXDOMAIN, [])

    def assertLocalData(self, s):
        self.assertAnswerIs(s.ask(CLIENT, "local.rebuild.test", "A"), NOERROR,
                            [("local.rebuild.test.", "A", 60, "198.51.100.7")])

    def test_only_changed_lists_are_rebuilt(self):
        s = self.start_policy_sinkholed([self.knot.upstream], POLICY,
                                        {"names.txt": NAMES_V1, "zone.rpz": ZONE_V1})
        self.assertBlocked(s, "first.rebuild.test")
        self.assertLocalData(s)

        self.assertIn("; 0 lists rebuilt, 2 reused", self.reload_summary(s))
        self.assertBlocked(s, "first.rebuild.test")
        self.assertBlocked(s, "zone.rebuild.test")
        self.assertLocalData(s)

        s.rewrite(files={"names.txt": NAMES_V2})
        summary = self.reload_summary(s)
        self.assertIn("; 1 list rebuilt, 1 reused", summary)
        self.assertIn("2 list(s), 4 entries", summary)
        self.assertBlocked(s, "second.rebuild.test")
        self.assertBlocked(s, "zone.rebuild.test")
        self.assertLocalData(s)
        self.assertAnswerIs(s.ask(CLIENT, "zone2.rebuild.test", "A"), NOERROR,
                            [("zone2.rebuild.test.", "A", 600, "192.0.2.3")])

        s.rewrite(files={"zone.rpz": ZONE_V2})
        self.assertIn("; 1 list rebuilt, 1 reused", self.reload_summary(s))
        self.assertBlocked(s, "zone2.rebuild.test")
        self.assertBlocked(s, "second.rebuild.test")
        self.assertLocalData(s)

    def test_a_changed_list_still_meets_the_list_guard(self):
        s = self.start_policy_sinkholed([self.knot.upstream], POLICY,
                                        {"names.txt": NAMES_V2, "zone.rpz": ZONE_V1})
        s.rewrite(files={"names.txt": ""})
        ok, log = s.reload()
        self.assertFalse(ok, log)
        self.assertRegex(log, r"list names .*0 valid entries", log)
        self.assertBlocked(s, "second.rebuild.test")
        self.assertLocalData(s)


if __name__ == "__main__":
    unittest.main()
