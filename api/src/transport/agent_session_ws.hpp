#pragma once

// A node agent's /api/v1/nodes/{id}/session WebSocket: binary protobuf frames both ways,
// handed to the node's proxy actor through the agent registry (nodes/).

#include "session_common.hpp"

namespace qx::api::net_detail {

// ---------------------------------------------------------------------------------------------
// Node agent session: one WebSocket per agent, binary protobuf frames both ways, handed to the
// node's proxy actor through the agent registry.

template<class Stream>
class agent_ws : public agent_link, public std::enable_shared_from_this<agent_ws<Stream>> {
 public:
  agent_ws(Stream&& stream, shared_state& st, std::string node_id)
      : ws_(std::move(stream)), st_(st), node_id_(std::move(node_id)) {}
  ~agent_ws() override = default;
  agent_ws(const agent_ws&) = delete;
  agent_ws& operator=(const agent_ws&) = delete;
  agent_ws(agent_ws&&) = delete;
  agent_ws& operator=(agent_ws&&) = delete;

  void run(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout{st_.deps.limits.handshake_timeout,
                                                   st_.deps.limits.ping_interval * 2, true});
    ws_.read_message_max(std::size_t{16} << 20U);
    ws_.binary(true);
    ws_.async_accept(req, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec)
        return;
      self->epoch_ = self->st_.deps.agents.attach(self->node_id_, self);
      self->do_read();
    });
  }

  void send(std::string bytes) override {
    net::post(ws_.get_executor(),
              [self = this->shared_from_this(), b = std::move(bytes)]() mutable {
                if (self->closing_)
                  return;
                self->out_.push_back(std::move(b));
                if (self->out_.size() > 100'000) { // an agent that stopped reading
                  self->closing_ = true;
                  self->out_.clear();
                  beast::get_lowest_layer(self->ws_).close();
                  return;
                }
                if (self->out_.size() == 1)
                  self->write_next();
              });
  }

  void close(const std::string& reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), reason] {
      if (self->closing_)
        return;
      self->closing_ = true;
      if (!self->out_.empty()) {
        self->close_reason_ = reason; // after the queued frames
        return;
      }
      self->ws_.async_close(websocket::close_reason{websocket::close_code::policy_error, reason},
                            [self](beast::error_code) {});
    });
  }

 private:
  void do_read() {
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->st_.deps.agents.closed(self->node_id_, self->epoch_, ec.message());
        return;
      }
      self->st_.deps.agents.frame(self->node_id_, self->epoch_,
                                  beast::buffers_to_string(self->in_.data()));
      self->in_.consume(self->in_.size());
      self->do_read();
    });
  }

  void write_next() {
    ws_.async_write(net::buffer(out_.front()), [self = this->shared_from_this()](
                                                   beast::error_code ec, std::size_t) {
      if (ec)
        return;
      self->out_.pop_front();
      if (!self->out_.empty())
        return self->write_next();
      if (!self->close_reason_.empty())
        self->ws_.async_close(
            websocket::close_reason{websocket::close_code::policy_error, self->close_reason_},
            [self](beast::error_code) {});
    });
  }

  websocket::stream<Stream> ws_;
  shared_state& st_;
  std::string node_id_;
  std::uint64_t epoch_ = 0;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  bool closing_ = false;
  std::string close_reason_;
};

/// The node id of /api/v1/nodes/{id}/session, or "".
inline std::string session_node_of(std::string_view path) {
  constexpr std::string_view head = "/api/v1/nodes/";
  constexpr std::string_view tail = "/session";
  if (!path.starts_with(head) || !path.ends_with(tail) || path.size() <= head.size() + tail.size())
    return {};
  const auto id = path.substr(head.size(), path.size() - head.size() - tail.size());
  return id.find('/') == std::string_view::npos ? std::string{id} : std::string{};
}

} // namespace qx::api::net_detail
