#pragma once

// A /api/v1/watch WebSocket: the query it was opened with, then the log's frames from the
// watch hub, batched or one per message, cut off with a resume point when it falls behind.

#include "session_common.hpp"

namespace qx::api::net_detail {

// ---------------------------------------------------------------------------------------------
// WebSocket watcher

struct watch_params {
  std::uint64_t from = 0;
  std::set<std::string> types;
  std::string stream;
  std::size_t batch = 1; ///< Frames per message; above 1 every message is a JSON array.
};

template<class Stream>
class watch_session : public std::enable_shared_from_this<watch_session<Stream>> {
 public:
  watch_session(Stream&& stream, shared_state& st, watch_params params)
      : ws_(std::move(stream)), st_(st), slot_(st.connections), params_(std::move(params)),
        cursor_(params_.from), sent_(params_.from) {}

  ~watch_session() {
    if (registered_)
      st_.deps.hub.remove(listener_);
  }
  watch_session(const watch_session&) = delete;
  watch_session& operator=(const watch_session&) = delete;

  void run(http::request<http::string_body> req) {
    const auto& limits = st_.deps.limits;
    // Beast pings an idle peer after half the idle timeout and drops it after the whole.
    ws_.set_option(
        websocket::stream_base::timeout{limits.handshake_timeout, limits.ping_interval * 2, true});
    ws_.read_message_max(limits.max_ws_message_bytes);
    ws_.async_accept(
        req, beast::bind_front_handler(&watch_session::on_accept, this->shared_from_this()));
  }

 private:
  struct queued {
    std::uint64_t position = 0; ///< 0 for a frame that is not an event.
    std::shared_ptr<const std::string> text;
  };

  void on_accept(beast::error_code ec) {
    if (ec)
      return;
    std::weak_ptr<watch_session> weak = this->shared_from_this();
    auto executor = ws_.get_executor();
    auto* pending = &wake_pending_;
    auto wake = [weak, executor, pending] {
      if (pending->exchange(true))
        return; // a wake is on its way already
      net::post(executor, [weak] {
        if (auto self = weak.lock())
          self->pump();
      });
    };
    watch_hub::listener l;
    // A batching watcher is woken by the hub's ticks, one per window, not by every event.
    if (batching())
      l.tick = wake;
    else
      l.wake = wake;
    l.side = [weak, executor](std::shared_ptr<const std::string> text) {
      net::post(executor, [weak, text = std::move(text)] {
        if (auto self = weak.lock())
          self->push_side(text);
      });
    };
    listener_ = st_.deps.hub.add(std::move(l));
    registered_ = true;
    do_read();
    pump();
  }

  void do_read() {
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->closed_ = true;
        return;
      }
      self->in_.consume(self->in_.size()); // watchers have nothing to tell us
      self->do_read();
    });
  }

  [[nodiscard]] bool batching() const { return params_.batch > 1; }
  [[nodiscard]] bool filtered() const { return !params_.types.empty() || !params_.stream.empty(); }
  /// The newest position this watcher may send: the hub's head, or for a batching watcher
  /// the last tick's (what came after goes out with the next tick, in step with the others).
  [[nodiscard]] std::uint64_t horizon() const {
    if (!batching())
      return st_.deps.hub.head();
    const auto b = st_.deps.hub.batch();
    return b ? b->last : st_.deps.hub.ticked();
  }

  void push_side(std::shared_ptr<const std::string> text) {
    if (closed_ || overflowing_)
      return;
    queue_.push_back(queued{0, std::move(text)});
    if (queue_.size() > st_.deps.limits.watch_queue_events)
      overflow();
    else
      pump();
  }

  [[nodiscard]] bool wanted(const watch_frame& f) const {
    return (params_.types.empty() || params_.types.contains(f.type)) &&
           (params_.stream.empty() || params_.stream == f.stream);
  }

  /// Queues the next frames after the cursor up to `limit`, from the ring or else the log.
  void fill(std::uint64_t limit) {
    if (limit <= cursor_)
      return;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(256, limit - cursor_));
    const bool all = !filtered();
    const bool in_ring = st_.deps.hub.visit(cursor_, n, [&](const watch_frame& f) {
      cursor_ = f.position;
      if (all || wanted(f))
        queue_.push_back(queued{f.position, f.text});
    });
    if (in_ring)
      return;
    auto events = st_.deps.store.read_all(cursor_ + 1, n);
    if (!events) {
      close(websocket::close_code::internal_error, "the log could not be read");
      return;
    }
    for (const auto& e : *events) {
      auto f = make_frame(e);
      cursor_ = f.position;
      if (wanted(f))
        queue_.push_back(queued{f.position, std::move(f.text)});
    }
  }

  void pump() {
    if (writing_) {
      // The write's completion pumps again and sees every frame published until then:
      // further wakes are dropped, so a busy watcher costs one wake per message, not per event.
      wake_pending_ = true;
      return;
    }
    wake_pending_ = false;
    if (closed_)
      return;
    if (batching() && queue_.empty() && !overflowing_ && !filtered() && write_shared_batch())
      return;
    if (queue_.empty() && !overflowing_) {
      const auto head = horizon();
      fill(head);
      if (closed_)
        return;
      if (!live_ && cursor_ >= head)
        live_ = true; // caught up once: from now on, falling behind is the client's doing
      if (live_ && head > cursor_ + st_.deps.limits.watch_queue_events) {
        overflow();
        return;
      }
    }
    if (queue_.empty()) {
      if (overflowing_)
        close(static_cast<websocket::close_code>(4008),
              "too slow: resume from " + std::to_string(sent_));
      return;
    }
    if (params_.batch > 1) {
      write_batch();
      return;
    }
    auto next = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*next.text),
                    [self = this->shared_from_this(), next](beast::error_code ec, std::size_t) {
                      self->after_write(ec, next.position);
                    });
  }

  /// The tick's shared batch when it starts where this watcher is: written as it is, no copy.
  bool write_shared_batch() {
    const auto b = st_.deps.hub.batch();
    if (!b || !b->text || b->after != cursor_ || b->last - b->after > params_.batch)
      return false;
    cursor_ = b->last;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*b->text),
                    [self = this->shared_from_this(), b](beast::error_code ec, std::size_t) {
                      self->after_write(ec, b->last);
                    });
    return true;
  }

  /// batch=N: up to N queued frames as one JSON array in one message: under load a watcher
  /// sends fewer, larger messages (one copy of the frames is cheaper than Beast walking a
  /// sequence of small buffers).
  void write_batch() {
    auto message = std::make_shared<std::string>();
    message->reserve(std::size_t{16} << 10U);
    *message += '[';
    std::uint64_t last = 0;
    for (std::size_t n = 0; !queue_.empty() && n < params_.batch; ++n) {
      if (n > 0)
        *message += ',';
      const auto& front = queue_.front();
      *message += *front.text;
      if (front.position != 0)
        last = front.position;
      queue_.pop_front();
    }
    *message += ']';
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*message),
                    [self = this->shared_from_this(), message,
                     last](beast::error_code ec, std::size_t) { self->after_write(ec, last); });
  }

  void after_write(beast::error_code ec, std::uint64_t position) {
    writing_ = false;
    if (ec) {
      closed_ = true;
      return;
    }
    if (position != 0)
      sent_ = position;
    pump();
  }

  /// Too far behind: drop what is queued, say where to resume, then close (code 4008).
  void overflow() {
    st_.deps.stats.watch_overflows().Increment();
    overflowing_ = true;
    queue_.clear();
    queue_.push_back(queued{0, std::make_shared<const std::string>(
                                   json{{"type", "overflow"}, {"resumeFrom", sent_}}.dump())});
    pump();
  }

  void close(websocket::close_code code, const std::string& reason) {
    closed_ = true;
    ws_.async_close(websocket::close_reason{code, reason},
                    [self = this->shared_from_this()](beast::error_code) {});
  }

  websocket::stream<Stream> ws_;
  shared_state& st_;
  connection_slot slot_;
  watch_params params_;
  std::uint64_t cursor_; ///< Last position looked at (sent or filtered out).
  std::uint64_t sent_;   ///< Last event position written to the client.
  std::deque<queued> queue_;
  beast::flat_buffer in_;
  std::atomic<bool> wake_pending_{false};
  std::uint64_t listener_ = 0;
  bool registered_ = false;
  bool writing_ = false;
  bool live_ = false;
  bool closed_ = false;
  bool overflowing_ = false;
};

// ---------------------------------------------------------------------------------------------
// The watch's query

constexpr std::size_t max_watch_batch = max_shared_batch;

/// Parses /api/v1/watch's query: from (position or "now"), types (comma list), stream, batch.
inline result<watch_params> watch_params_of(const http_request& req, std::uint64_t head) {
  watch_params p;
  p.from = head;
  for (const auto& [key, value] : req.query) {
    if (key == "from") {
      if (value == "now")
        continue;
      std::uint64_t v = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || r.ec != std::errc{} || r.ptr != value.data() + value.size())
        return error{
            errc::invalid_argument, "from must be a log position or \"now\"", {{"field", "from"}}};
      p.from = v;
    } else if (key == "types") {
      std::string_view rest{value};
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        if (const auto t = rest.substr(0, comma); !t.empty())
          p.types.emplace(t);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
    } else if (key == "stream") {
      p.stream = value;
    } else if (key == "access_token") {
      continue; // checked by the access gate
    } else if (key == "batch") {
      std::size_t v = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || r.ec != std::errc{} || r.ptr != value.data() + value.size() || v < 1 ||
          v > max_watch_batch)
        return error{errc::invalid_argument,
                     "batch must be a number of frames from 1 to " +
                         std::to_string(max_watch_batch),
                     {{"field", "batch"}}};
      p.batch = v;
    } else {
      return error{errc::invalid_argument, "unknown query parameter " + key, {{"field", key}}};
    }
  }
  return p;
}

} // namespace qx::api::net_detail
