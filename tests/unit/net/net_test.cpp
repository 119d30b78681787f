// URLs the agents and the control plane give each other, and how a transport failure reads:
// the registration error codes a user sees.
#include "failure.hpp"

#include <qx/net/url.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <gtest/gtest.h>

namespace qx::net {
namespace {

std::string reason_of(const boost::system::error_code& ec, phase at) {
  return failure_of(ec, at, "h:1").details.at("reason");
}

TEST(net_url, parses_what_hosts_and_control_planes_give) {
  auto u = parse_url("http://127.0.0.1:8443");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/");
  EXPECT_FALSE(u->tls());
  u = parse_url("HTTPS://[fd00::1]/api?x=1");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls());
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->host, "fd00::1");
  EXPECT_EQ(u->authority(), "[fd00::1]:443");
  EXPECT_EQ(u->path, "/api?x=1");
  EXPECT_EQ(parse_url("ws://cp:80/s")->scheme, "http");
}

TEST(net_url, refuses_what_is_not_such_a_url_and_names_the_field) {
  for (const char* bad : {"", "ftp://h", "http://", "http://user@h", "http://h:0", "http://h:70000",
                          "http://h:x", "http://a b", "http://h/#frag", "http://fd00::1/",
                          "http://[fd00::1", "h:80", "http://h\x01", "http://h\xc3\xa9"}) {
    const auto u = parse_url(bad, "hostUrl");
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().code, errc::invalid_argument) << bad;
    EXPECT_EQ(u.error().details.at("field"), "hostUrl") << bad;
  }
  EXPECT_FALSE(parse_url("http://h/" + std::string(3000, 'a')));
}

TEST(net_url, percent_decoding_and_targets) {
  EXPECT_EQ(*percent_decode("a%2Fb+c", false), "a/b+c");
  EXPECT_EQ(*percent_decode("a%2fb+c", true), "a/b c");
  EXPECT_FALSE(percent_decode("%zz", false));
  EXPECT_FALSE(percent_decode("%4", false));
  std::string path;
  std::map<std::string, std::string> query;
  ASSERT_TRUE(split_target("/api/v1/x%20y?path=a%2F..&&k", path, query));
  EXPECT_EQ(path, "/api/v1/x y");
  EXPECT_EQ(query.at("path"), "a/..");
  EXPECT_EQ(query.at("k"), "");
  EXPECT_FALSE(split_target("no-slash", path, query));
  EXPECT_FALSE(split_target("/a?b=%", path, query));
}

TEST(net_failure, transport_errors_read_as_the_registration_codes) {
  namespace ae = boost::asio::error;
  EXPECT_EQ(reason_of(ae::connection_refused, phase::connect), "HOST_CONNECTION_FAILED");
  EXPECT_EQ(reason_of(ae::connection_reset, phase::read), "HOST_CONNECTION_FAILED");
  EXPECT_EQ(reason_of(ae::host_not_found, phase::resolve), "HOST_CONNECTION_FAILED");
  EXPECT_EQ(reason_of(ae::network_unreachable, phase::connect), "NETWORK_UNREACHABLE");
  EXPECT_EQ(reason_of(ae::host_unreachable, phase::connect), "NETWORK_UNREACHABLE");
  EXPECT_EQ(reason_of(ae::address_family_not_supported, phase::connect), "NETWORK_UNREACHABLE");
  EXPECT_EQ(reason_of(boost::beast::error::timeout, phase::read), "CONNECTION_TIMEOUT");
  EXPECT_EQ(reason_of(ae::timed_out, phase::connect), "CONNECTION_TIMEOUT");
  EXPECT_EQ(reason_of(boost::asio::ssl::error::stream_truncated, phase::tls), "TLS_ERROR");
  EXPECT_EQ(reason_of(ae::eof, phase::tls), "TLS_ERROR");
  EXPECT_EQ(reason_of(boost::beast::http::error::bad_version, phase::read), "INVALID_RESPONSE");
  const auto e = failure_of(ae::connection_refused, phase::connect, "10.0.0.9:8443");
  EXPECT_EQ(e.code, errc::unavailable);
  EXPECT_EQ(e.details.at("target"), "10.0.0.9:8443");
  EXPECT_NE(e.message.find("10.0.0.9:8443"), std::string::npos);
}

} // namespace
} // namespace qx::net
