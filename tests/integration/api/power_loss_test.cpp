// Power loss under the whole server: `qvdc serve`'s server with its log on power_cut_fs
// (qvdc_power_cut_server) takes writes over HTTP from 8 clients, loses power at a random
// moment (what the disk had not synced is dropped), and the real `qvdc serve` started on the
// same data directory answers every write that got a 2xx. QX_SERVER_POWER_CUTS: cuts (default
// 5); each lands on the data directory the earlier ones left.
#include "api_fixture.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

namespace qx::test {
namespace {

int server_power_cuts() {
  if (const char* env = std::getenv("QX_SERVER_POWER_CUTS"))
    return std::max(1, std::atoi(env));
  return 5;
}

/// GET /ready until 200 (the read models caught up with the log).
bool ready(api_client& api, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (api.get("/ready").status == 200)
        return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

/// Clients that create images as fast as the server answers, each keeping the ids it got a
/// 2xx for; a client stops at its first failure (the power went).
class writers {
 public:
  writers(const std::string& url, int count, const std::string& prefix) : acked_(count) {
    for (int w = 0; w < count; ++w)
      threads_.emplace_back([this, url, w, prefix] { run(url, w, prefix); });
  }
  ~writers() { join(); }
  writers(const writers&) = delete;
  writers& operator=(const writers&) = delete;

  bool wait_for(std::size_t n, std::chrono::seconds timeout) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, timeout, [&] { return total_ >= n; });
  }
  void join() {
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }
  [[nodiscard]] std::vector<std::string> acknowledged() const {
    std::vector<std::string> out;
    for (const auto& a : acked_)
      out.insert(out.end(), a.begin(), a.end());
    return out;
  }
  [[nodiscard]] std::string first_failure() const {
    std::lock_guard lock{mutex_};
    return failure_;
  }

 private:
  void run(const std::string& url, int w, const std::string& prefix) {
    api_client api{url, std::chrono::seconds{10}};
    for (int n = 0;; ++n) {
      const auto id = prefix + "-w" + std::to_string(w) + "-" + std::to_string(n);
      api_response r;
      try {
        r = api.post("/api/v1/images", R"({"id":")" + id + R"(","name":")" + id +
                                           R"(","format":"iso","sizeBytes":7})");
      } catch (const std::exception& e) {
        note_failure(id + ": " + e.what());
        return;
      }
      if (r.status / 100 != 2) {
        note_failure(id + ": " + std::to_string(r.status) + " " + r.body);
        return;
      }
      acked_[static_cast<std::size_t>(w)].push_back(id);
      std::lock_guard lock{mutex_};
      ++total_;
      changed_.notify_all();
    }
  }
  void note_failure(const std::string& what) {
    std::lock_guard lock{mutex_};
    if (failure_.empty())
      failure_ = what;
  }

  std::vector<std::vector<std::string>> acked_; // one per client, written by that client only
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t total_ = 0;
  std::string failure_;
};

TEST(api_slow_power_loss, every_write_answered_2xx_survives_a_power_cut) {
  const auto seed = static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
  std::mt19937_64 rng{seed};
  temp_dir dir;
  const auto data = dir.sub("data");
  std::filesystem::create_directories(data);
  const int cuts = server_power_cuts();
  std::vector<std::string> acked;
  for (int cut = 0; cut < cuts; ++cut) {
    SCOPED_TRACE("cut " + std::to_string(cut) + " (gtest seed " + std::to_string(seed) + ")");
    auto faulty = server_process::program({QX_POWER_CUT_SERVER_PATH, data},
                                          dir.sub("power_cut_server.stderr"));
    ASSERT_NO_THROW(faulty->start());
    {
      api_client api{faulty->base_url()};
      ASSERT_TRUE(ready(api, std::chrono::seconds{60})) << faulty->stderr_tail();
    }
    const auto cut_after = 1 + rng() % 300; // writes answered 2xx before the cut
    writers load{faulty->base_url(), 8, "cut" + std::to_string(cut)};
    ASSERT_TRUE(load.wait_for(cut_after, std::chrono::seconds{120}))
        << "the writers stalled: " << load.first_failure() << "\n"
        << faulty->stderr_tail();
    const int status = faulty->stop(SIGUSR2);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 80) << "status " << status << "\n"
                                                                << faulty->stderr_tail();
    load.join();
    const auto now = load.acknowledged();
    ASSERT_GE(now.size(), cut_after);
    acked.insert(acked.end(), now.begin(), now.end());

    // The real server over what the cut left: every write answered 2xx is there.
    server_process real{data, dir.sub("qvdc.stderr")};
    ASSERT_NO_THROW(real.start());
    api_client api{real.base_url()};
    ASSERT_TRUE(ready(api, std::chrono::seconds{60})) << real.stderr_tail();
    std::size_t missing = 0;
    for (const auto& id : acked) {
      const auto r = api.get("/api/v1/images/" + id);
      if (r.status != 200 || r.body.find(R"("name":")" + id + '"') == std::string::npos) {
        if (++missing <= 5)
          ADD_FAILURE() << "acknowledged image " << id << " is gone: " << r.status << " " << r.body;
      }
    }
    EXPECT_EQ(missing, 0U) << missing << " of " << acked.size() << " acknowledged writes lost";
    const int clean = real.stop(SIGTERM);
    EXPECT_TRUE(WIFEXITED(clean) && WEXITSTATUS(clean) == 0) << real.stderr_tail();
    if (HasFailure())
      return;
  }
  std::cout << "server power cuts: " << cuts << ", writes answered 2xx checked: " << acked.size()
            << "\n";
}

} // namespace
} // namespace qx::test
