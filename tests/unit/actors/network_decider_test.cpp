// The network decider, table-driven: every command in every state, address allocation on the
// edges of small networks, hostile CIDR strings, and the strict IPv4 parser under them.
#include <qx/actors/domain/ipv4.hpp>
#include <qx/actors/domain/network.hpp>

#include "decider_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

using namespace qx::test::decider_table;

network::create vlan_net(std::string cidr = "10.1.1.0/30", std::string gw = "10.1.1.1") {
  return {"prod", "vlan", 100, std::move(cidr), std::move(gw), true};
}

std::optional<network::state> run(network::state s, const network::command& c,
                                  error* err = nullptr) {
  auto d = network::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    network::evolve(s, ev);
  return s;
}

network::state must(std::optional<network::state> s) {
  EXPECT_TRUE(s.has_value());
  return s ? *s : network::initial("n1");
}

// "" not created; "free" 10.1.1.0/30 with gateway .1 and nothing handed out; "taken" the same
// with its one free host address, .2, held by vm-1; "deleted".
network::state in_state(const std::string& name) {
  auto s = network::initial("n1");
  if (name.empty())
    return s;
  s = must(run(s, vlan_net()));
  if (name == "deleted")
    return must(run(s, network::remove{}));
  if (name == "taken")
    s = must(run(s, network::allocate_ip{"vm-1", "10.1.1.2"}));
  return s;
}

const char* all_states[] = {"", "free", "taken", "deleted"};

std::string describe(const network::state& s) {
  if (!s.created())
    return "";
  if (s.deleted())
    return "deleted";
  std::string out = "ips=";
  std::map<std::string, std::string> sorted{s.allocations().begin(), s.allocations().end()};
  for (const auto& [ip, owner] : sorted)
    out += ip + ":" + owner + ",";
  return out;
}

void check(const network::state& before, const network::command& c, const expect& want) {
  qx::test::decider_table::check<actors::network_aggregate>(before, c, want, describe);
}

struct row {
  network::command cmd;
  std::map<std::string, expect> by_state; // every state of all_states
};

std::vector<row> table() {
  const auto bad_ip = refusal(errc::invalid_argument, "", "ip");
  const auto outside = refused_for("ADDRESS_OUTSIDE_CIDR", "ip");
  const auto in_use = refused_for("ADDRESS_IN_USE", "ip");
  const auto not_allocated = refused_for("ADDRESS_NOT_ALLOCATED", "ip");
  return {
      {vlan_net(), {{"", ok("ips=")}, {"free", exists}, {"taken", exists}, {"deleted", exists}}},
      {network::allocate_ip{"vm-2", ""},
       {{"", missing},
        {"free", ok("ips=10.1.1.2:vm-2,")},
        {"taken", refusal(errc::resource_exhausted, "NO_FREE_ADDRESS")},
        {"deleted", gone}}},
      {network::allocate_ip{"vm-2", "10.1.1.2"},
       {{"", missing}, {"free", ok("ips=10.1.1.2:vm-2,")}, {"taken", in_use}, {"deleted", gone}}},
      // The gateway, the network and the broadcast address, a neighbour network, garbage.
      {network::allocate_ip{"vm-2", "10.1.1.1"},
       {{"", missing}, {"free", in_use}, {"taken", in_use}, {"deleted", gone}}},
      {network::allocate_ip{"vm-2", "10.1.1.0"},
       {{"", missing}, {"free", outside}, {"taken", outside}, {"deleted", gone}}},
      {network::allocate_ip{"vm-2", "10.1.1.3"},
       {{"", missing}, {"free", outside}, {"taken", outside}, {"deleted", gone}}},
      {network::allocate_ip{"vm-2", "10.1.1.4"},
       {{"", missing}, {"free", outside}, {"taken", outside}, {"deleted", gone}}},
      {network::allocate_ip{"vm-2", "10.1.1.02"},
       {{"", missing}, {"free", bad_ip}, {"taken", bad_ip}, {"deleted", gone}}},
      {network::allocate_ip{"", ""},
       {{"", missing},
        {"free", refusal(errc::invalid_argument, "", "owner")},
        {"taken", refusal(errc::invalid_argument, "", "owner")},
        {"deleted", gone}}},
      {network::release_ip{"10.1.1.2"},
       {{"", missing}, {"free", not_allocated}, {"taken", ok("ips=")}, {"deleted", gone}}},
      {network::release_ip{"10.1.1.1"},
       {{"", missing}, {"free", not_allocated}, {"taken", not_allocated}, {"deleted", gone}}},
      {network::release_ip{"10.1.1.2 "},
       {{"", missing}, {"free", bad_ip}, {"taken", bad_ip}, {"deleted", gone}}},
      {network::remove{},
       {{"", missing},
        {"free", ok("deleted")},
        {"taken", refused_for("NETWORK_IN_USE")},
        {"deleted", gone}}},
  };
}

TEST(network_decider, every_command_in_every_state) {
  for (const auto& r : table()) {
    ASSERT_EQ(r.by_state.size(), std::size(all_states)) << network::name_of(r.cmd);
    for (const char* from : all_states) {
      SCOPED_TRACE(std::string{network::name_of(r.cmd)} + " from '" + from + "'");
      ASSERT_EQ(r.by_state.count(from), 1U);
      check(in_state(from), r.cmd, r.by_state.at(from));
    }
  }
}

TEST(ipv4, strict_addresses) {
  EXPECT_EQ(ipv4::parse_address("10.0.0.1"), 0x0A000001U);
  EXPECT_EQ(ipv4::parse_address("0.0.0.0"), 0U);
  EXPECT_EQ(ipv4::parse_address("255.255.255.255"), 0xFFFFFFFFU);
  for (const char* bad :
       {"",          "1.2.3",    "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "1000.0.0.1", "010.0.0.1",
        "10.00.0.1", "1.2.3.04", "a.b.c.d",   "1..2.3",    "1.2.3.",    ".1.2.3",     "1.2.3.4 ",
        " 1.2.3.4",  "-1.2.3.4", "+1.2.3.4",  "1.2.3.4/8", "0x1.2.3.4", "1,2,3,4",    "1.2.3.4\n"})
    EXPECT_FALSE(ipv4::parse_address(bad)) << bad;
  EXPECT_EQ(ipv4::to_string(0x0A010203U), "10.1.2.3");
  EXPECT_EQ(ipv4::to_string(0xFFFFFFFFU), "255.255.255.255");
}

TEST(ipv4, strict_cidrs) {
  auto c = ipv4::parse_cidr("192.168.8.0/22");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 22U);
  EXPECT_EQ(ipv4::to_string(c->broadcast()), "192.168.11.255");
  EXPECT_TRUE(c->contains(*ipv4::parse_address("192.168.10.7")));
  EXPECT_FALSE(c->contains(*ipv4::parse_address("192.168.12.0")));
  EXPECT_TRUE(ipv4::parse_cidr("0.0.0.0/0"));
  EXPECT_TRUE(ipv4::parse_cidr("10.0.0.1/32"));
  for (const char* bad : {"10.0.0.0/33",
                          "010.0.0.0/8",
                          "10.0.0.1/24",
                          "1.2.3/24",
                          "a.b.c.d/8",
                          "",
                          "/",
                          "10.0.0.0",
                          "10.0.0.0/",
                          "10.0.0.0/08",
                          "10.0.0.0/-1",
                          "10.0.0.0/+8",
                          "10.0.0.0/8/8",
                          "10.0.0.0 /8",
                          "10.0.0.0/ 8",
                          "10.0.0.0/8 ",
                          "10.0.0.0/100",
                          "10.0.0.0/4294967304",
                          "0.0.0.0/0x0",
                          "10.0.0.0\\8",
                          "/8"})
    EXPECT_FALSE(ipv4::parse_cidr(bad)) << bad;
  EXPECT_FALSE(ipv4::parse_cidr("0.0.0.0/0", 8, 30));
  EXPECT_FALSE(ipv4::parse_cidr("10.0.0.0/31", 8, 30));
  EXPECT_TRUE(ipv4::parse_cidr("10.0.0.0/8", 8, 30));
  EXPECT_TRUE(ipv4::parse_cidr("10.0.0.0/30", 8, 30));
}

TEST(network_decider, create_is_validated_naming_the_field) {
  struct bad {
    network::create cmd;
    std::string field;
  };
  const std::vector<bad> cases = {
      {{"", "vlan", 10, "10.0.0.0/24", "", true}, "name"},
      {{std::string(81, 'n'), "vlan", 10, "10.0.0.0/24", "", true}, "name"},
      {{"n", "bridge", 0, "10.0.0.0/24", "", true}, "type"},
      {{"n", "", 0, "10.0.0.0/24", "", true}, "type"},
      {{"n", "vlan", 0, "10.0.0.0/24", "", true}, "vlan_id"},
      {{"n", "vlan", 4095, "10.0.0.0/24", "", true}, "vlan_id"},
      {{"n", "overlay", 5, "10.0.0.0/24", "", true}, "vlan_id"},
      {{"n", "external", 1, "10.0.0.0/24", "", true}, "vlan_id"},
      {{"n", "overlay", 0, "10.0.0.0/33", "", true}, "cidr"},
      {{"n", "overlay", 0, "010.0.0.0/8", "", true}, "cidr"},
      {{"n", "overlay", 0, "10.0.0.1/24", "", true}, "cidr"},
      {{"n", "overlay", 0, "1.2.3/24", "", true}, "cidr"},
      {{"n", "overlay", 0, "a.b.c.d/8", "", true}, "cidr"},
      {{"n", "overlay", 0, "", "", true}, "cidr"},
      {{"n", "overlay", 0, "10.0.0.0", "", true}, "cidr"},
      {{"n", "overlay", 0, "10.0.0.0/31", "", true}, "cidr"},
      {{"n", "overlay", 0, "10.0.0.0/32", "", true}, "cidr"},
      {{"n", "overlay", 0, "8.0.0.0/7", "", true}, "cidr"},
      {{"n", "overlay", 0, "0.0.0.0/0", "", true}, "cidr"},
      {{"n", "overlay", 0, "10.0.0.0/24", "10.0.1.1", true}, "gateway"},
      {{"n", "overlay", 0, "10.0.0.0/24", "10.0.0.0", true}, "gateway"},
      {{"n", "overlay", 0, "10.0.0.0/24", "10.0.0.255", true}, "gateway"},
      {{"n", "overlay", 0, "10.0.0.0/24", "10.0.0.01", true}, "gateway"},
      {{"n", "overlay", 0, "10.0.0.0/24", "gw", true}, "gateway"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(network::initial("n1"), b.cmd, &err)) << b.field << " " << b.cmd.cidr;
    EXPECT_EQ(err.code, errc::invalid_argument) << err.to_string();
    EXPECT_EQ(detail_of(err, "field"), b.field) << err.to_string();
  }
  const std::vector<network::create> good = {
      {"a", "vlan", 1, "10.0.0.0/8", "10.0.0.1", true},
      {"b", "vlan", 4094, "10.0.0.0/30", "10.0.0.2", false},
      {"c", "overlay", 0, "172.16.0.0/12", "", true},
      {"d", "external", 0, "203.0.113.0/24", "203.0.113.254", false},
  };
  for (const auto& g : good) {
    error err;
    auto s = run(network::initial("n1"), g, &err);
    ASSERT_TRUE(s) << g.name << " " << err.to_string();
    EXPECT_EQ(s->cidr(), g.cidr);
    EXPECT_EQ(s->gateway(), g.gateway);
    EXPECT_EQ(s->vlan_id(), g.vlan_id);
    EXPECT_EQ(s->dhcp(), g.dhcp);
  }
}

TEST(network_decider, a_slash_30_has_one_address_after_the_gateway_and_two_without) {
  auto s = must(run(network::initial("n1"), vlan_net("10.1.1.0/30", "10.1.1.1")));
  s = must(run(s, network::allocate_ip{"vm-1", ""}));
  EXPECT_EQ(describe(s), "ips=10.1.1.2:vm-1,");
  error err;
  EXPECT_FALSE(run(s, network::allocate_ip{"vm-2", ""}, &err));
  EXPECT_EQ(err.code, errc::resource_exhausted);
  EXPECT_EQ(detail_of(err, "reason"), "NO_FREE_ADDRESS");

  auto open = must(run(network::initial("n2"), vlan_net("10.1.1.0/30", "")));
  open = must(run(open, network::allocate_ip{"vm-1", ""}));
  open = must(run(open, network::allocate_ip{"vm-2", ""}));
  EXPECT_EQ(describe(open), "ips=10.1.1.1:vm-1,10.1.1.2:vm-2,");
  EXPECT_FALSE(run(open, network::allocate_ip{"vm-3", ""}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "NO_FREE_ADDRESS");
}

TEST(network_decider, the_lowest_free_address_comes_first_skipping_the_gateway) {
  // The gateway in the middle of the range: .1 first, then .3.
  auto s = must(run(network::initial("n1"), vlan_net("192.168.10.0/24", "192.168.10.2")));
  s = must(run(s, network::allocate_ip{"a", ""}));
  s = must(run(s, network::allocate_ip{"b", ""}));
  s = must(run(s, network::allocate_ip{"c", "192.168.10.5"}));
  s = must(run(s, network::allocate_ip{"d", ""}));
  s = must(run(s, network::allocate_ip{"e", ""}));
  EXPECT_EQ(describe(s), "ips=192.168.10.1:a,192.168.10.3:b,192.168.10.4:d,192.168.10.5:c,"
                         "192.168.10.6:e,");
  // A released address is the lowest free one again.
  s = must(run(s, network::release_ip{"192.168.10.3"}));
  s = must(run(s, network::allocate_ip{"f", ""}));
  EXPECT_EQ(s.allocations().at("192.168.10.3"), "f");
  // The highest host address is usable, the broadcast is not.
  s = must(run(s, network::allocate_ip{"g", "192.168.10.254"}));
  error err;
  EXPECT_FALSE(run(s, network::allocate_ip{"h", "192.168.10.255"}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "ADDRESS_OUTSIDE_CIDR");
}

TEST(network_decider, never_the_same_address_twice) {
  // A /28 holds 14 host addresses; the gateway takes one.
  auto s = must(run(network::initial("n1"), vlan_net("10.9.0.16/28", "10.9.0.30")));
  std::set<std::string> seen;
  for (int i = 0; i < 13; ++i) {
    auto d = network::decide(s, network::allocate_ip{"vm-" + std::to_string(i), ""});
    ASSERT_TRUE(d) << i << " " << d.error().to_string();
    ASSERT_EQ(d->size(), 1U);
    const auto& ip = std::get<v1::NetworkIpAllocated>(d->front()).ip();
    EXPECT_TRUE(seen.insert(ip).second) << ip;
    auto a = ipv4::parse_address(ip);
    ASSERT_TRUE(a);
    EXPECT_GT(*a, *ipv4::parse_address("10.9.0.16"));
    EXPECT_LT(*a, *ipv4::parse_address("10.9.0.30"));
    network::evolve(s, d->front());
  }
  error err;
  EXPECT_FALSE(run(s, network::allocate_ip{"late", ""}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "NO_FREE_ADDRESS");
  for (const auto& ip : seen) {
    EXPECT_FALSE(run(s, network::allocate_ip{"late", ip}, &err)) << ip;
    EXPECT_EQ(detail_of(err, "reason"), "ADDRESS_IN_USE");
    EXPECT_EQ(detail_of(err, "owner"), s.allocations().at(ip));
  }
  EXPECT_FALSE(run(s, network::remove{}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "NETWORK_IN_USE");
}

TEST(network_decider, events_round_trip_through_the_log_codec) {
  auto d = network::decide(in_state("free"), network::allocate_ip{"vm-7", ""});
  ASSERT_TRUE(d);
  auto encoded = encode_event(d->front());
  EXPECT_EQ(encoded.type, "qx.events.v1.NetworkIpAllocated");
  auto decoded = decode_event<network::event>(encoded.type, encoded.payload);
  ASSERT_TRUE(decoded);
  const auto& got = std::get<v1::NetworkIpAllocated>(*decoded);
  EXPECT_EQ(got.id(), "n1");
  EXPECT_EQ(got.ip(), "10.1.1.2");
  EXPECT_EQ(got.owner(), "vm-7");

  auto created = network::decide(network::initial("n1"), vlan_net());
  ASSERT_TRUE(created);
  auto rec = encode_event(created->front());
  EXPECT_EQ(rec.type, "qx.events.v1.NetworkCreated");
  auto back = decode_event<network::event>(rec.type, rec.payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<v1::NetworkCreated>(*back).vlan_id(), 100U);
  EXPECT_EQ(std::get<v1::NetworkCreated>(*back).cidr(), "10.1.1.0/30");

  EXPECT_FALSE(decode_event<network::event>("qx.events.v1.SecurityGroupCreated", ""));
  EXPECT_FALSE(decode_event<network::event>("qx.events.v1.NetworkCreated", "\xff\xff\xff"));
}

TEST(network_decider, command_names) {
  EXPECT_EQ(network::name_of(network::create{}), "create");
  EXPECT_EQ(network::name_of(network::allocate_ip{}), "allocate_ip");
  EXPECT_EQ(network::name_of(network::release_ip{}), "release_ip");
  EXPECT_EQ(network::name_of(network::remove{}), "remove");
  EXPECT_EQ(std::string{network::stream_prefix}, "net-");
}

} // namespace
