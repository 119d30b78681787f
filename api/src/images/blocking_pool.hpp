#pragma once

// A few threads for work that waits (a discovery's HTTP calls to a host, up to seconds), so
// that neither the HTTP I/O threads nor CAF's workers ever block on it.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qx::api {

class blocking_pool {
 public:
  explicit blocking_pool(unsigned threads = 4, std::size_t max_queued = 256)
      : max_queued_(max_queued) {
    for (unsigned i = 0; i < threads; ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~blocking_pool() { stop(); }
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;
  blocking_pool(blocking_pool&&) = delete;
  blocking_pool& operator=(blocking_pool&&) = delete;

  /// Queues `job`; false when the queue is full or the pool stopped (the caller answers 429/503).
  bool post(std::function<void()> job) {
    std::lock_guard lock{mutex_};
    if (stopping_ || jobs_.size() >= max_queued_)
      return false;
    jobs_.push_back(std::move(job));
    cv_.notify_one();
    return true;
  }

  /// Runs what is queued, then joins the threads.
  void stop() {
    {
      std::lock_guard lock{mutex_};
      stopping_ = true;
      cv_.notify_all();
    }
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock{mutex_};
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty())
          return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

} // namespace qx::api
