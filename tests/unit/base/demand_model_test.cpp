// The demand shapes the simulator plays and test-driver agents report: their values over a
// day and a period, and every malformed model refused.
#include <qx/base/demand_model.hpp>

#include <gtest/gtest.h>

namespace {

std::vector<std::string_view> words(std::initializer_list<std::string_view> w) {
  return {w.begin(), w.end()};
}

TEST(demand_model, diurnal_peaks_at_its_hour_and_is_clamped) {
  constexpr std::int64_t hour = 3'600'000;
  EXPECT_NEAR(qx::demand::diurnal(14 * hour, 0.5, 0.3, 14), 0.8, 1e-9);
  EXPECT_NEAR(qx::demand::diurnal(2 * hour, 0.5, 0.3, 14), 0.2, 1e-9); // 12 h away: trough
  EXPECT_EQ(qx::demand::diurnal(14 * hour, 0.9, 0.5, 14), 1.0);
  EXPECT_EQ(qx::demand::diurnal(2 * hour, 0.1, 0.5, 14), 0.0);
  EXPECT_NEAR(qx::demand::diurnal(38 * hour, 0.5, 0.3, 14), 0.8, 1e-9) << "every day";
}

TEST(demand_model, spikes_last_their_length_every_period) {
  EXPECT_EQ(qx::demand::spikes(0, 0.1, 0.9, 60'000, 10'000, 0), 0.9);
  EXPECT_EQ(qx::demand::spikes(9'999, 0.1, 0.9, 60'000, 10'000, 0), 0.9);
  EXPECT_EQ(qx::demand::spikes(10'000, 0.1, 0.9, 60'000, 10'000, 0), 0.1);
  EXPECT_EQ(qx::demand::spikes(60'000, 0.1, 0.9, 60'000, 10'000, 0), 0.9);
  EXPECT_EQ(qx::demand::spikes(0, 0.1, 0.9, 60'000, 10'000, 55'000), 0.1) << "the phase shifts";
}

TEST(demand_model, parses_the_three_shapes_and_refuses_the_rest) {
  auto m = qx::demand::parse(words({"constant", "0.25"}));
  ASSERT_TRUE(m);
  EXPECT_EQ(qx::demand::at(*m, 123), 0.25);
  m = qx::demand::parse(words({"spikes", "0.1", "0.9", "60", "10"}));
  ASSERT_TRUE(m);
  EXPECT_EQ(qx::demand::at(*m, 5'000), 0.9);
  EXPECT_EQ(qx::demand::at(*m, 15'000), 0.1);
  m = qx::demand::parse(words({"diurnal", "0.5", "0.3", "14"}));
  ASSERT_TRUE(m);
  EXPECT_NEAR(qx::demand::at(*m, std::int64_t{14} * 3'600'000), 0.8, 1e-9);
  for (const auto& bad :
       {words({}), words({"constant"}), words({"constant", "1.5"}), words({"constant", "-0.1"}),
        words({"constant", "nan"}), words({"constant", "0.2x"}), words({"diurnal", "0.5", "0.3"}),
        words({"diurnal", "0.5", "0.3", "25"}),
        words({"spikes", "0.1", "0.9", "10", "60"}), // longer than its period
        words({"spikes", "0.1", "0.9", "0", "0"}), words({"sawtooth", "1"})}) {
    const auto r = qx::demand::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, qx::errc::invalid_argument);
    EXPECT_EQ(r.error().details.at("field"), "demand");
  }
}

} // namespace
