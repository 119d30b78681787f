#pragma once

// A TCP relay on loopback that a test can cut per node: node agents reach the control plane
// through it (its port is the control plane's --advertise-url), and each connection is tagged
// by the node its first request names (/api/v1/nodes/<id>/session). cut(node) closes that
// node's connections and refuses its new ones, as a network partition would; restore() ends
// the partition. The rest of the traffic flows untouched.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace qx::test {

class tcp_relay {
 public:
  tcp_relay() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread{[this] {
      accept_loop();
    }};
  }
  ~tcp_relay() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    {
      std::lock_guard lock{mutex_};
      for (const auto& [fd, node] : tags_)
        ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : pumps_)
      t.join();
  }
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  void target(std::uint16_t port) { target_ = port; }

  /// Cuts node `node_id` off: its connections close, new ones are refused.
  void cut(const std::string& node_id) {
    std::lock_guard lock{mutex_};
    cut_.insert(node_id);
    for (const auto& [fd, node] : tags_)
      if (node == node_id)
        ::shutdown(fd, SHUT_RDWR);
  }
  void restore(const std::string& node_id) {
    std::lock_guard lock{mutex_};
    cut_.erase(node_id);
  }

 private:
  static std::string node_in(const std::string& head) {
    const std::string marker = "/api/v1/nodes/";
    const auto at = head.find(marker);
    if (at == std::string::npos)
      return {};
    const auto end = head.find('/', at + marker.size());
    return end == std::string::npos ? std::string{}
                                    : head.substr(at + marker.size(), end - at - marker.size());
  }

  void accept_loop() {
    while (!stopping_) {
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0)
        return;
      std::lock_guard lock{mutex_};
      pumps_.emplace_back([this, client] { relay(client); });
    }
  }

  void relay(int client) {
    char buf[16384];
    const auto n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(client);
      return;
    }
    const auto node = node_in(std::string{buf, static_cast<std::size_t>(n)});
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(target_.load());
    {
      std::lock_guard lock{mutex_};
      if (cut_.contains(node) || stopping_ ||
          ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(server);
        ::close(client);
        return;
      }
      tags_[client] = node;
      tags_[server] = node;
    }
    ::send(server, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    std::thread back{[client, server] {
      pump(server, client);
    }};
    pump(client, server);
    back.join();
    std::lock_guard lock{mutex_};
    tags_.erase(client);
    tags_.erase(server);
    ::close(client);
    ::close(server);
  }

  /// Copies from `from` to `to` until either side closes, then closes both directions.
  static void pump(int from, int to) {
    char buf[16384];
    for (;;) {
      const auto n = ::recv(from, buf, sizeof buf, 0);
      if (n <= 0 || ::send(to, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n)
        break;
    }
    ::shutdown(from, SHUT_RDWR);
    ::shutdown(to, SHUT_RDWR);
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::uint16_t> target_{0};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> pumps_;
  std::map<int, std::string> tags_;
  std::set<std::string> cut_;
};

} // namespace qx::test
