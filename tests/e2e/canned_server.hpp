#pragma once

// A TCP listener on 127.0.0.1 that answers every connection with fixed bytes (or nothing):
// the hosts that are not qx-node a discovery must tell apart (an old agent answering 404 or
// HTML, a broken one answering 503 or garbage, one that accepts and never answers).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace qx::test {

class canned_server {
 public:
  /// `answer` is written after the request head arrives; `silent` accepts and never answers.
  explicit canned_server(std::string answer, bool silent = false)
      : answer_(std::move(answer)), silent_(silent) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a); // NOLINT
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len); // NOLINT
    port_ = ntohs(a.sin_port);
    thread_ = std::thread{[this] {
      serve();
    }};
  }
  ~canned_server() {
    stop_ = true;
    thread_.join();
    for (int c : held_)
      ::close(c);
    ::close(fd_);
  }
  canned_server(const canned_server&) = delete;
  canned_server& operator=(const canned_server&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// An HTTP/1.1 response with `status`, `type` and `body`.
  static std::string http(unsigned status, const std::string& type, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      if (silent_) {
        held_.push_back(c);
        continue;
      }
      std::string head;
      char buf[1024];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0)
          break;
        head.append(buf, static_cast<std::size_t>(n));
      }
      ::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
      ::shutdown(c, SHUT_WR);
      ::close(c);
    }
  }

  std::string answer_;
  bool silent_ = false;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<int> held_;
};

} // namespace qx::test
