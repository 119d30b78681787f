// Network, security group and image deciders, and the IPv4 parser under them.
#include <qx/actors/domain/image.hpp>
#include <qx/actors/domain/ipv4.hpp>
#include <qx/actors/domain/network.hpp>
#include <qx/actors/domain/security_group.hpp>

#include <gtest/gtest.h>

#include <optional>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

template<class Ns, class State, class Command>
std::optional<State> apply(State s, const Command& c, error* err) {
  auto d = Ns::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    Ns::evolve(s, ev);
  return s;
}

struct net_ns {
  static auto decide(const network::state& s, const network::command& c) {
    return network::decide(s, c);
  }
  static void evolve(network::state& s, const network::event& e) { network::evolve(s, e); }
};
struct sg_ns {
  static auto decide(const security_group::state& s, const security_group::command& c) {
    return security_group::decide(s, c);
  }
  static void evolve(security_group::state& s, const security_group::event& e) {
    security_group::evolve(s, e);
  }
};
struct image_ns {
  static auto decide(const image::state& s, const image::command& c) { return image::decide(s, c); }
  static void evolve(image::state& s, const image::event& e) { image::evolve(s, e); }
};

std::optional<network::state> run(network::state s, const network::command& c,
                                  error* err = nullptr) {
  return apply<net_ns>(std::move(s), c, err);
}
std::optional<security_group::state> run(security_group::state s, const security_group::command& c,
                                         error* err = nullptr) {
  return apply<sg_ns>(std::move(s), c, err);
}
std::optional<image::state> run(image::state s, const image::command& c, error* err = nullptr) {
  return apply<image_ns>(std::move(s), c, err);
}

TEST(ipv4, strict_parsing_refuses_hostile_text) {
  EXPECT_EQ(ipv4::parse_address("10.0.0.1"), 0x0A000001U);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "010.0.0.1", "a.b.c.d", "1..2.3",
                          "1.2.3.4 ", "-1.2.3.4", "1.2.3.4/8"})
    EXPECT_FALSE(ipv4::parse_address(bad)) << bad;
  EXPECT_TRUE(ipv4::parse_cidr("10.0.0.0/8"));
  for (const char* bad : {"10.0.0.0/33", "010.0.0.0/8", "10.0.0.1/24", "1.2.3/24", "a.b.c.d/8", "",
                          "10.0.0.0", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1"})
    EXPECT_FALSE(ipv4::parse_cidr(bad)) << bad;
  EXPECT_TRUE(ipv4::parse_cidr("0.0.0.0/0"));
  EXPECT_FALSE(ipv4::parse_cidr("0.0.0.0/0", 8, 30));
}

network::create vlan_net(std::string cidr = "192.168.10.0/24", std::string gw = "192.168.10.1") {
  return {"prod", "vlan", 100, std::move(cidr), std::move(gw), true};
}

TEST(network_decider, create_validates_naming_the_field) {
  struct bad {
    network::create cmd;
    std::string field;
  };
  const std::vector<bad> cases = {
      {{"", "vlan", 10, "10.0.0.0/24", "", true}, "name"},
      {{"n", "bridge", 0, "10.0.0.0/24", "", true}, "type"},
      {{"n", "vlan", 0, "10.0.0.0/24", "", true}, "vlan_id"},
      {{"n", "vlan", 4095, "10.0.0.0/24", "", true}, "vlan_id"},
      {{"n", "overlay", 5, "10.0.0.0/24", "", true}, "vlan_id"},
      {{"n", "overlay", 0, "10.0.0.1/24", "", true}, "cidr"},
      {{"n", "overlay", 0, "10.0.0.0/31", "", true}, "cidr"},
      {{"n", "overlay", 0, "10.0.0.0/24", "10.0.1.1", true}, "gateway"},
      {{"n", "overlay", 0, "10.0.0.0/24", "10.0.0.0", true}, "gateway"},
      {{"n", "overlay", 0, "10.0.0.0/24", "10.0.0.255", true}, "gateway"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(network::initial("n1"), b.cmd, &err)) << b.field;
    EXPECT_EQ(err.details["field"], b.field) << err.to_string();
  }
}

TEST(network_decider, addresses_are_handed_out_once_and_only_inside_the_cidr) {
  // A /30 has two host addresses; the gateway takes one.
  auto s = *run(network::initial("n1"), vlan_net("10.1.1.0/30", "10.1.1.1"));
  s = *run(s, network::allocate_ip{"vm-1", ""});
  EXPECT_EQ(s.allocations().at("10.1.1.2"), "vm-1");
  error err;
  EXPECT_FALSE(run(s, network::allocate_ip{"vm-2", ""}, &err));
  EXPECT_EQ(err.details.at("reason"), "NO_FREE_ADDRESS");
  EXPECT_FALSE(run(s, network::allocate_ip{"vm-2", "10.1.1.2"}, &err));
  EXPECT_EQ(err.details.at("reason"), "ADDRESS_IN_USE");
  for (const char* outside : {"10.1.1.1", "10.1.1.3", "10.1.1.0", "10.1.2.2"}) {
    EXPECT_FALSE(run(s, network::allocate_ip{"vm-2", outside}, &err)) << outside;
    EXPECT_EQ(err.details.at("reason"), "ADDRESS_OUTSIDE_CIDR") << outside;
  }
  EXPECT_FALSE(run(s, network::allocate_ip{"vm-2", "10.1.1.002"}, &err));
  EXPECT_EQ(err.details.at("field"), "ip");
  EXPECT_FALSE(run(s, network::remove{}, &err));
  EXPECT_EQ(err.details.at("reason"), "NETWORK_IN_USE");
  EXPECT_FALSE(run(s, network::release_ip{"10.1.1.3"}, &err));
  EXPECT_EQ(err.details.at("reason"), "ADDRESS_NOT_ALLOCATED");
  s = *run(s, network::release_ip{"10.1.1.2"});
  s = *run(s, network::remove{});
  EXPECT_FALSE(run(s, network::allocate_ip{"vm-3", ""}, &err));
  EXPECT_EQ(err.details.at("reason"), "DELETED");
}

TEST(network_decider, the_lowest_free_address_comes_first) {
  auto s = *run(network::initial("n1"), vlan_net());
  s = *run(s, network::allocate_ip{"a", "192.168.10.2"});
  s = *run(s, network::allocate_ip{"b", ""});
  EXPECT_EQ(s.allocations().at("192.168.10.3"), "b");
}

v1::SecurityRule rule(std::string proto, unsigned from, unsigned to, std::string cidr) {
  v1::SecurityRule r;
  r.set_direction("inbound");
  r.set_protocol(std::move(proto));
  r.set_port_from(from);
  r.set_port_to(to);
  r.set_cidr(std::move(cidr));
  return r;
}

TEST(security_group_decider, rules_are_validated_numbered_and_unique) {
  auto s = *run(security_group::initial("sg1"), security_group::create{"web", ""});
  s = *run(s, security_group::add_rule{rule("tcp", 443, 443, "0.0.0.0/0")});
  s = *run(s, security_group::add_rule{rule("icmp", 0, 0, "10.0.0.0/8")});
  ASSERT_EQ(s.rules_size(), 2);
  EXPECT_EQ(s.rules(1).rule_id(), "rule-2");
  error err;
  EXPECT_FALSE(run(s, security_group::add_rule{rule("tcp", 443, 443, "0.0.0.0/0")}, &err));
  EXPECT_EQ(err.details.at("reason"), "RULE_EXISTS");
  struct bad {
    v1::SecurityRule r;
    std::string field;
  };
  auto outbound_typo = rule("tcp", 1, 2, "0.0.0.0/0");
  outbound_typo.set_direction("sideways");
  const std::vector<bad> cases = {
      {outbound_typo, "rule.direction"},
      {rule("sctp", 1, 2, "0.0.0.0/0"), "rule.protocol"},
      {rule("tcp", 0, 2, "0.0.0.0/0"), "rule.port_from"},
      {rule("udp", 10, 9, "0.0.0.0/0"), "rule.port_to"},
      {rule("tcp", 1, 70000, "0.0.0.0/0"), "rule.port_to"},
      {rule("icmp", 1, 1, "0.0.0.0/0"), "rule.port_from"},
      {rule("any", 0, 0, "10.0.0.1/8"), "rule.cidr"},
  };
  for (const auto& b : cases) {
    EXPECT_FALSE(run(s, security_group::add_rule{b.r}, &err)) << b.field;
    EXPECT_EQ(err.details["field"], b.field);
  }
  s = *run(s, security_group::remove_rule{"rule-1"});
  s = *run(s, security_group::add_rule{rule("udp", 53, 53, "10.0.0.0/8")});
  EXPECT_EQ(s.rules(1).rule_id(), "rule-3"); // ids are never reused while a higher one lives
  EXPECT_FALSE(run(s, security_group::remove_rule{"rule-9"}, &err));
  EXPECT_EQ(err.code, errc::not_found);
}

TEST(image_decider, upload_progresses_forward_and_completes_only_when_whole) {
  auto s = *run(image::initial("i1"), image::create{"debian", "qcow2", 1000});
  EXPECT_EQ(s.state(), "uploading");
  s = *run(s, image::progress{400});
  error err;
  EXPECT_FALSE(run(s, image::progress{300}, &err));
  EXPECT_EQ(err.details.at("reason"), "PROGRESS_BACKWARDS");
  EXPECT_FALSE(run(s, image::progress{1001}, &err));
  EXPECT_EQ(err.details.at("field"), "received_bytes");
  const std::string sum(64, 'a');
  EXPECT_FALSE(run(s, image::complete{sum}, &err));
  EXPECT_EQ(err.details.at("reason"), "UPLOAD_INCOMPLETE");
  s = *run(s, image::progress{1000});
  EXPECT_FALSE(run(s, image::complete{std::string(64, 'G')}, &err));
  EXPECT_EQ(err.details.at("field"), "sha256");
  s = *run(s, image::complete{sum});
  EXPECT_EQ(s.state(), "ready");
  EXPECT_FALSE(run(s, image::progress{1000}, &err));
  EXPECT_EQ(err.details.at("reason"), "IMAGE_NOT_UPLOADING");
  s = *run(s, image::remove{});
  EXPECT_FALSE(run(s, image::remove{}, &err));
  EXPECT_EQ(err.details.at("reason"), "DELETED");
}

TEST(image_decider, a_failed_upload_is_in_error_and_create_validates) {
  auto s = *run(image::initial("i1"), image::create{"x", "iso", 10});
  s = *run(s, image::fail{"connection reset"});
  EXPECT_EQ(s.state(), "error");
  EXPECT_EQ(s.error(), "connection reset");
  error err;
  EXPECT_FALSE(run(image::initial("i2"), image::create{"x", "vmdk", 10}, &err));
  EXPECT_EQ(err.details.at("field"), "format");
  EXPECT_FALSE(run(image::initial("i2"), image::create{"x", "raw", 0}, &err));
  EXPECT_EQ(err.details.at("field"), "size_bytes");
  EXPECT_FALSE(run(image::initial("i2"), image::progress{1}, &err));
  EXPECT_EQ(err.code, errc::not_found);
}

} // namespace
