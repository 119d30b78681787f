#pragma once

// A plain TCP socket that speaks just enough HTTP/1.1 and WebSocket (RFC 6455) by hand for
// what a library client cannot do: a watcher that completes the upgrade and then does not
// read (cpprestsdk's clients read eagerly), and reading an upgrade refusal's status line.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace qx::test {

class raw_socket {
 public:
  /// Connects to 127.0.0.1:`port`; a `rcvbuf` > 0 shrinks the receive buffer first (so that
  /// a reader that stops reading fills up quickly).
  explicit raw_socket(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket failed");
    if (rcvbuf > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed: " + std::to_string(errno));
  }
  ~raw_socket() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  void write_all(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        throw std::runtime_error("send failed: " + std::to_string(errno));
      done += static_cast<std::size_t>(n);
    }
  }

  /// Reads until the buffer holds `n` bytes; false on timeout or end of stream.
  bool fill(std::size_t n, std::chrono::steady_clock::time_point deadline) {
    while (buffer_.size() < n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0)
        return false;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        continue;
      char chunk[65536];
      const auto got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0) {
        eof_ = true;
        return false;
      }
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
    return true;
  }

  /// The status line and headers of an HTTP response (up to the blank line); nullopt on
  /// timeout or end of stream.
  std::optional<std::string> read_head(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto head = buffer_.substr(0, end + 4);
        buffer_.erase(0, end + 4);
        return head;
      }
      if (!fill(buffer_.size() + 1, deadline))
        return std::nullopt;
    }
  }

  /// Exactly `n` bytes (after what read_head consumed); nullopt on timeout or end of stream.
  std::optional<std::string> read_exact(std::size_t n, std::chrono::milliseconds timeout) {
    if (!fill(n, std::chrono::steady_clock::now() + timeout))
      return std::nullopt;
    auto out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  /// An HTTP response: head, then the body its Content-Length announces.
  std::optional<std::pair<std::string, std::string>>
  read_response(std::chrono::milliseconds timeout) {
    auto head = read_head(timeout);
    if (!head)
      return std::nullopt;
    std::size_t length = 0;
    std::string lower = *head;
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto at = lower.find("content-length:");
    if (at != std::string::npos)
      length = std::stoul(lower.substr(at + 15));
    auto body = read_exact(length, timeout);
    if (!body)
      return std::nullopt;
    return std::make_pair(*head, *body);
  }

  /// Everything until the peer closes (or the timeout); what is buffered included.
  std::string read_to_end(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(buffer_.size() + 1, deadline)) {
    }
    auto out = std::move(buffer_);
    buffer_.clear();
    return out;
  }

  /// Sends the upgrade request for /api/v1/watch?`query` and returns the response head.
  std::optional<std::string> websocket_handshake(const std::string& query,
                                                 std::chrono::milliseconds timeout) {
    write_all("GET /api/v1/watch?" + query +
              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    return read_head(timeout);
  }

  /// The accept value RFC 6455 gives for the key above.
  static constexpr const char* expected_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

  struct message {
    int opcode = 0; ///< 1 text, 2 binary, 8 close, 9 ping, 10 pong
    std::string payload;
  };

  /// The next complete message (continuation frames joined; control frames returned as they
  /// come); nullopt on timeout or end of stream.
  std::optional<message> read_message(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // A message's fragments so far live in the socket, not in this call: a control frame (a
    // ping) may come between two fragments, and returning it must not lose them.
    auto& out = partial_;
    auto& started = partial_started_;
    for (;;) {
      if (!fill(2, deadline))
        return std::nullopt;
      const auto b0 = static_cast<unsigned char>(buffer_[0]);
      const auto b1 = static_cast<unsigned char>(buffer_[1]);
      const bool fin = (b0 & 0x80U) != 0;
      const int opcode = b0 & 0x0F;
      const bool masked = (b1 & 0x80U) != 0;
      std::uint64_t len = b1 & 0x7FU;
      std::size_t header = 2;
      if (len == 126) {
        if (!fill(4, deadline))
          return std::nullopt;
        len = (static_cast<std::uint64_t>(static_cast<unsigned char>(buffer_[2])) << 8U) |
              static_cast<unsigned char>(buffer_[3]);
        header = 4;
      } else if (len == 127) {
        if (!fill(10, deadline))
          return std::nullopt;
        len = 0;
        for (int i = 0; i < 8; ++i)
          len = (len << 8U) | static_cast<unsigned char>(buffer_[2 + i]);
        header = 10;
      }
      if (masked)
        header += 4; // servers do not mask; skipped if one did
      if (!fill(header + len, deadline))
        return std::nullopt;
      auto payload = buffer_.substr(header, len);
      buffer_.erase(0, header + len);
      if (opcode >= 8) // control frames are never fragmented
        return message{opcode, std::move(payload)};
      if (!started) {
        out.opcode = opcode;
        started = true;
      }
      out.payload += payload;
      if (fin) {
        auto done = std::move(out);
        out = message{};
        started = false;
        return done;
      }
    }
  }

  /// Sends a masked close frame with `code` (a client must mask).
  void send_close(std::uint16_t code) {
    std::string frame;
    frame += static_cast<char>(0x88);
    frame += static_cast<char>(0x80 | 2);
    frame += std::string(4, '\0'); // mask key 0: the payload is unchanged
    frame += static_cast<char>(code >> 8U);
    frame += static_cast<char>(code & 0xFFU);
    write_all(frame);
  }

  [[nodiscard]] bool eof() const { return eof_; }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buffer_;
  message partial_;              ///< the data message being reassembled (read_message)
  bool partial_started_ = false; ///< its first fragment has come
  bool eof_ = false;
};

} // namespace qx::test
