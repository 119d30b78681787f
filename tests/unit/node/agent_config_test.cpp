// The node agent's config file: defaults, round trips through save/load, and every refusal of
// a malformed, oversized or hostile file, naming the key at fault.
#include "qx/node/agent_config.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using qx::errc;
using qx::node::agent_config;
using qx::node::is_member;
using qx::node::load_agent_config;
using qx::node::save_agent_config;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
  ASSERT_TRUE(out.good());
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

agent_config member() {
  agent_config c;
  c.node_id = "n1";
  c.control_plane_address = "https://cp.example:8080";
  c.agent_key = "k3y-AbC_123";
  return c;
}

constexpr const char* member_yaml = "node_id: n1\n"
                                    "control_plane_address: http://127.0.0.1:8080\n"
                                    "agent_key: secret\n";

class agent_config_file : public ::testing::Test {
 protected:
  qx::test::temp_dir dir_;
  std::string path_ = dir_.sub("agent.yaml");

  /// Loads `text` and answers the error (failing the test if it loaded).
  qx::error refused(const std::string& text) {
    write_file(path_, text);
    auto r = load_agent_config(path_);
    EXPECT_FALSE(r) << "accepted:\n" << text;
    return r ? qx::error{} : r.error();
  }
};

TEST_F(agent_config_file, a_missing_file_answers_the_defaults) {
  const auto r = load_agent_config(dir_.sub("absent.yaml"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, agent_config{});
  EXPECT_EQ(r->listen, "127.0.0.1:8443");
  EXPECT_EQ(r->libvirt_uri, "qemu:///system");
  EXPECT_FALSE(is_member(*r));
}

TEST_F(agent_config_file, empty_and_comment_only_files_answer_the_defaults) {
  for (const std::string text : {"", "\n\n", "# nothing yet\n", "---\n", "{}\n"}) {
    write_file(path_, text);
    const auto r = load_agent_config(path_);
    ASSERT_TRUE(r) << "'" << text << "': " << r.error().to_string();
    EXPECT_EQ(*r, agent_config{});
  }
}

TEST_F(agent_config_file, reads_every_key) {
  write_file(path_, "# a member\n"
                    "node_id: node-7.a_b\n"
                    "control_plane_address: \"https://[::1]:9443\"\n"
                    "agent_key: 'abc:def#ghi'\n"
                    "cluster_id: c1\n"
                    "listen: 0.0.0.0:9000\n"
                    "libvirt_uri: test:///default\n"
                    "pools_root: /srv/pools\n");
  const auto r = load_agent_config(path_);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->node_id, "node-7.a_b");
  EXPECT_EQ(r->control_plane_address, "https://[::1]:9443");
  EXPECT_EQ(r->agent_key, "abc:def#ghi");
  EXPECT_EQ(r->cluster_id, "c1");
  EXPECT_EQ(r->listen, "0.0.0.0:9000");
  EXPECT_EQ(r->libvirt_uri, "test:///default");
  EXPECT_EQ(r->pools_root, "/srv/pools");
  EXPECT_TRUE(is_member(*r));
}

TEST_F(agent_config_file, a_null_value_keeps_the_default) {
  write_file(path_, "listen:\nlibvirt_uri: ~\n");
  const auto r = load_agent_config(path_);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, agent_config{});
}

TEST_F(agent_config_file, save_then_load_round_trips_hostile_text) {
  agent_config c = member();
  c.agent_key = R"(q"u'o:t#e{s}[x]&*!|>%@`)";
  c.cluster_id = "c-1";
  c.listen = "[::1]:8443";
  c.libvirt_uri = "qemu+ssh://root@h:22/system?keyfile=\"/k: #1\"\n\ttail \\ end";
  c.pools_root = "/srv/pööls/漢字 😀/\"quoted\": # not a comment\nsecond line\r\n  ";
  c.libvirt_uri += std::string{"\x01\x1b[31m\x7f\xc2\x85\xc2\xa0\xef\xbb\xbf"};
  ASSERT_TRUE(save_agent_config(path_, c));
  const auto r = load_agent_config(path_);
  ASSERT_TRUE(r) << r.error().to_string() << "\n" << read_file(path_);
  EXPECT_EQ(*r, c);
}

TEST_F(agent_config_file, save_then_load_round_trips_yaml_look_alikes) {
  for (const std::string& value :
       std::vector<std::string>{"~",      "null",   "true", "no",     "123",
                                "0x1F",   "- item", "[a]",  "{a: b}", "&anchor",
                                "*alias", "!tag",   "---",  "...",    " lead",
                                "trail ", "'",      "\"",   "\\",     std::string(4096, 'x')}) {
    agent_config c;
    c.libvirt_uri = value;
    c.pools_root = "/" + value.substr(0, 4095);
    ASSERT_TRUE(save_agent_config(path_, c)) << value;
    const auto r = load_agent_config(path_);
    ASSERT_TRUE(r) << value << ": " << r.error().to_string();
    EXPECT_EQ(*r, c) << value;
  }
}

TEST_F(agent_config_file, save_writes_mode_0600_and_leaves_no_tmp) {
  ASSERT_TRUE(save_agent_config(path_, member()));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  // Saving over an existing, world-readable file makes it private too.
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  ASSERT_TRUE(save_agent_config(path_, agent_config{}));
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  const auto r = load_agent_config(path_);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, agent_config{});
}

TEST_F(agent_config_file, save_replaces_a_stale_tmp_even_a_symlink) {
  // A leftover tmp, or a link planted there to make the agent write its secret elsewhere.
  const auto elsewhere = dir_.sub("elsewhere");
  write_file(elsewhere, "untouched");
  std::filesystem::create_symlink(elsewhere, path_ + ".tmp");
  ASSERT_TRUE(save_agent_config(path_, member()));
  EXPECT_EQ(read_file(elsewhere), "untouched");
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  EXPECT_FALSE(std::filesystem::is_symlink(path_));
  const auto r = load_agent_config(path_);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, member());
}

TEST_F(agent_config_file, save_refuses_what_load_would_refuse_and_writes_nothing) {
  agent_config half;
  half.node_id = "n1";
  const auto s = save_agent_config(path_, half);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_EQ(s.error().details.at("field"), "control_plane_address");
  EXPECT_FALSE(std::filesystem::exists(path_));

  agent_config nul;
  nul.pools_root = std::string("/a\0b", 4);
  const auto n = save_agent_config(path_, nul);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().details.at("field"), "pools_root");

  agent_config bad_utf8;
  bad_utf8.libvirt_uri = "qemu:///\xff";
  const auto u = save_agent_config(path_, bad_utf8);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().details.at("field"), "libvirt_uri");
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(agent_config_file, save_into_a_missing_folder_is_an_io_error) {
  const auto s = save_agent_config(dir_.sub("no/such/agent.yaml"), member());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::io_error);
  EXPECT_EQ(s.error().details.at("field"), "file");
}

TEST_F(agent_config_file, is_member_needs_all_three) {
  EXPECT_TRUE(is_member(member()));
  for (auto field :
       {&agent_config::node_id, &agent_config::control_plane_address, &agent_config::agent_key}) {
    auto c = member();
    c.*field = "";
    EXPECT_FALSE(is_member(c));
  }
}

TEST_F(agent_config_file, a_half_member_file_is_refused_naming_what_is_missing) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"node_id: n1\n", "control_plane_address"},
      {"node_id: n1\ncontrol_plane_address: http://h\n", "agent_key"},
      {"agent_key: k\n", "node_id"},
      {"control_plane_address: http://h\nagent_key: k\n", "node_id"},
      {"node_id: n1\nagent_key: k\n", "control_plane_address"},
  };
  for (const auto& [text, field] : cases) {
    const auto e = refused(text);
    EXPECT_EQ(e.code, errc::invalid_argument);
    EXPECT_EQ(e.details.at("field"), field) << text;
  }
}

TEST_F(agent_config_file, unknown_and_duplicate_keys_are_refused_with_their_position) {
  auto e = refused("listen: 127.0.0.1:1\nlisten_addr: x\n");
  EXPECT_EQ(e.details.at("field"), "listen_addr");
  EXPECT_EQ(e.details.at("line"), "2");
  EXPECT_EQ(e.details.at("column"), "1");
  EXPECT_NE(e.message.find("line 2, column 1"), std::string::npos) << e.message;

  e = refused(std::string{member_yaml} + "node_id: n2\n");
  EXPECT_EQ(e.details.at("field"), "node_id");
  EXPECT_EQ(e.details.at("line"), "4");
  EXPECT_NE(e.message.find("twice"), std::string::npos) << e.message;

  // Keys are compared as written: YAML's case and a trailing space make different keys.
  EXPECT_EQ(refused("Node_ID: n1\n").details.at("field"), "Node_ID");
  EXPECT_EQ(refused("<<: {listen: 'x:1'}\n").details.at("field"), "<<");
}

TEST_F(agent_config_file, structure_other_than_one_flat_mapping_is_refused) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"- node_id\n- n1\n", "file"},
      {"just a string\n", "file"},
      {"42\n", "file"},
      {"listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n", "file"},
      {"[a, b]: x\n", "file"},
      {"? {a: b}\n: x\n", "file"},
      {"listen: [127.0.0.1, 8443]\n", "listen"},
      {"node_id:\n  id: n1\n", "node_id"},
      {"pools_root: &a [x]\n", "pools_root"},
  };
  for (const auto& [text, field] : cases) {
    const auto e = refused(text);
    EXPECT_EQ(e.code, errc::invalid_argument) << text;
    EXPECT_EQ(e.details.at("field"), field) << text;
  }
}

TEST_F(agent_config_file, yaml_syntax_errors_carry_line_and_column) {
  const auto e = refused("listen: 127.0.0.1:1\nnode_id: [unclosed\n");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_EQ(e.details.at("field"), "file");
  EXPECT_TRUE(e.details.contains("line")) << e.to_string();
  EXPECT_TRUE(e.details.contains("column")) << e.to_string();
  EXPECT_NE(e.message.find("not valid YAML"), std::string::npos);
  EXPECT_NE(e.message.find(path_), std::string::npos) << "the message names the file";

  for (const std::string text :
       {"a: \"bad \\q escape\"\n", "\t- x: y\n", "a: b: c\n", "{a: 1\n", "a: *nowhere\n"})
    EXPECT_EQ(refused(text).details.at("field"), "file") << text;
}

TEST_F(agent_config_file, invalid_utf8_and_nul_bytes_are_refused_with_their_position) {
  auto e = refused("listen: 127.0.0.1:1\npools_root: /a\xc3\x28\n");
  EXPECT_EQ(e.details.at("field"), "file");
  EXPECT_EQ(e.details.at("line"), "2");
  EXPECT_EQ(e.details.at("column"), "15");
  EXPECT_NE(e.message.find("UTF-8"), std::string::npos);

  for (const std::string bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"})
    EXPECT_EQ(refused("pools_root: /" + bad + "\n").details.at("field"), "file");

  e = refused(std::string("node_id: n\0001\n", 13));
  EXPECT_EQ(e.details.at("field"), "file");
  EXPECT_EQ(e.details.at("line"), "1");
  EXPECT_EQ(e.details.at("column"), "11");
  EXPECT_NE(e.message.find("NUL"), std::string::npos);
}

TEST_F(agent_config_file, a_file_over_64_kib_is_too_large) {
  const std::string big = "# " + std::string(qx::node::max_agent_config_bytes, 'x') + "\n";
  const auto e = refused(big);
  EXPECT_EQ(e.code, errc::too_large);
  EXPECT_EQ(e.details.at("field"), "file");
  EXPECT_EQ(e.details.at("limit"), "65536");

  // Exactly at the limit is read.
  std::string at_limit = "listen: 127.0.0.1:1\n#";
  at_limit += std::string(qx::node::max_agent_config_bytes - at_limit.size() - 1, 'x') + "\n";
  ASSERT_EQ(at_limit.size(), 65536U);
  write_file(path_, at_limit);
  EXPECT_TRUE(load_agent_config(path_));
}

TEST_F(agent_config_file, hostile_yaml_is_refused_without_crashing) {
  // Deep nesting (parsers that recurse overflow the stack), an alias bomb, a huge key.
  EXPECT_EQ(refused("node_id: " + std::string(30000, '[') + "\n").details.at("field"), "file");
  EXPECT_EQ(refused(std::string(30000, '{')).details.at("field"), "file");
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x]\n";
  for (char n = 'b'; n <= 'j'; ++n)
    bomb += std::string{n} + ": &" + n + " [*" + static_cast<char>(n - 1) + ", *" +
            static_cast<char>(n - 1) + ", *" + static_cast<char>(n - 1) + "]\n";
  EXPECT_EQ(refused(bomb).details.at("field"), "a");
  EXPECT_EQ(refused(std::string(60000, 'k') + ": v\n").code, errc::invalid_argument);
}

TEST_F(agent_config_file, not_a_regular_file_is_refused) {
  std::filesystem::create_directory(path_);
  const auto r = load_agent_config(path_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("field"), "file");
  ASSERT_EQ(::mkfifo(dir_.sub("fifo").c_str(), 0600), 0);
  const auto f = load_agent_config(dir_.sub("fifo")); // must not block
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().details.at("field"), "file");
}

TEST_F(agent_config_file, node_id_and_cluster_id_must_be_ids) {
  for (const std::string& id : std::vector<std::string>{"-n", ".n", "n/1", "n 1", "é",
                                                        std::string(65, 'n'), "..", "'a:b'"}) {
    auto e = refused("node_id: \"" + id + "\"\ncontrol_plane_address: http://h\nagent_key: k\n");
    EXPECT_EQ(e.details.at("field"), "node_id") << id;
    EXPECT_EQ(e.details.at("line"), "1") << id;
    e = refused("cluster_id: \"" + id + "\"\n");
    EXPECT_EQ(e.details.at("field"), "cluster_id") << id;
  }
}

TEST_F(agent_config_file, control_plane_address_must_be_an_http_origin) {
  const auto with = [](const std::string& address) {
    return "node_id: n1\ncontrol_plane_address: '" + address + "'\nagent_key: k\n";
  };
  for (const std::string good :
       {"http://127.0.0.1:8080", "https://cp.example", "http://cp:1", "https://[::1]:65535",
        "http://[2001:db8::1]", "http://a-b.c-d.example:443"}) {
    write_file(path_, with(good));
    const auto r = load_agent_config(path_);
    EXPECT_TRUE(r) << good << ": " << r.error().to_string();
  }
  for (const std::string& bad : std::vector<std::string>{"127.0.0.1:8080",
                                                         "ftp://h",
                                                         "http://",
                                                         "https://",
                                                         "HTTP://h",
                                                         "http://h/",
                                                         "http://h/api",
                                                         "http://user:pw@h",
                                                         "http://@h",
                                                         "http://h?x=1",
                                                         "http://h#f",
                                                         "http://h:0",
                                                         "http://h:65536",
                                                         "http://h:-1",
                                                         "http://h:80x",
                                                         "http://h:",
                                                         "http://::1:80",
                                                         "http://[::1",
                                                         "http://[zz::1]:80",
                                                         "http://-h",
                                                         "http://h_h",
                                                         "http://999.1.1.1",
                                                         "http://h..i",
                                                         "http://h\\x",
                                                         "http://h :80",
                                                         " http://h",
                                                         "http://h\n",
                                                         "javascript:alert(1)",
                                                         "http://" + std::string(300, 'a')}) {
    const auto e = refused(with(bad));
    EXPECT_EQ(e.code, errc::invalid_argument) << bad;
    EXPECT_EQ(e.details.at("field"), "control_plane_address") << bad << ": " << e.to_string();
  }
}

TEST_F(agent_config_file, listen_must_be_host_and_port) {
  for (const std::string good : {"127.0.0.1:1", "0.0.0.0:65535", "[::]:8443", "localhost:8443"}) {
    write_file(path_, "listen: '" + good + "'\n");
    const auto r = load_agent_config(path_);
    EXPECT_TRUE(r) << good << ": " << r.error().to_string();
  }
  for (const std::string bad :
       {"8443", ":8443", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:99999999999", "127.0.0.1:+80", "::1:8443", "[::1]8443", "[::1]", "h:80/x",
        "http://h:80", "256.0.0.1:80", "h h:80", ""}) {
    const auto e = refused("listen: '" + bad + "'\n");
    EXPECT_EQ(e.details.at("field"), "listen") << bad << ": " << e.to_string();
  }
}

TEST_F(agent_config_file, agent_key_must_be_printable_ascii_up_to_512) {
  const auto with = [](const std::string& key) {
    return "node_id: n1\ncontrol_plane_address: http://h\nagent_key: \"" + key + "\"\n";
  };
  write_file(path_, with(std::string(512, 'k')));
  EXPECT_TRUE(load_agent_config(path_));
  for (const auto& bad : {std::string(513, 'k'), std::string{"a b"}, std::string{"a\\nb"},
                          std::string{"a\\tb"}, std::string{"caf\xc3\xa9"}})
    EXPECT_EQ(refused(with(bad)).details.at("field"), "agent_key") << bad;
}

TEST_F(agent_config_file, other_values_are_bounded_and_pools_root_is_absolute) {
  EXPECT_EQ(refused("pools_root: srv/pools\n").details.at("field"), "pools_root");
  EXPECT_EQ(refused("libvirt_uri: ''\n").details.at("field"), "libvirt_uri");
  EXPECT_EQ(refused("libvirt_uri: " + std::string(4097, 'u') + "\n").details.at("field"),
            "libvirt_uri");
  // A NUL written as an escape gets past the byte check and is refused as a value.
  EXPECT_EQ(refused("pools_root: \"/a\\0b\"\n").details.at("field"), "pools_root");
}

TEST_F(agent_config_file, control_plane_cert_pin_is_a_sha256_pin_of_an_https_control_plane) {
  const std::string pin = "sha256:" + std::string(64, 'a');
  const auto with = [](const std::string& address, const std::string& value) {
    return "node_id: n1\ncontrol_plane_address: " + address +
           "\nagent_key: k\ncontrol_plane_cert_pin: \"" + value + "\"\n";
  };
  write_file(path_, with("https://cp:8443", pin));
  auto r = load_agent_config(path_);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->control_plane_cert_pin, pin);
  // It survives a save and a load (the agent writes it at join).
  ASSERT_TRUE(save_agent_config(path_, *r));
  r = load_agent_config(path_);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->control_plane_cert_pin, pin);

  for (const auto& bad : {"sha256:" + std::string(63, 'a'), "sha256:" + std::string(65, 'a'),
                          "sha256:" + std::string(64, 'A'), "sha1:" + std::string(64, 'a'),
                          std::string(64, 'a'), "sha256:" + std::string(63, 'a') + "g"})
    EXPECT_EQ(refused(with("https://cp:8443", bad)).details.at("field"), "control_plane_cert_pin")
        << bad;
  // A pin says which TLS key to accept: over plain HTTP it would give a false sense of safety.
  EXPECT_EQ(refused(with("http://cp:8080", pin)).details.at("field"), "control_plane_cert_pin");
}

} // namespace
