// Damage below the store is found and named by position, never read as a silently wrong state.
#include "event_helpers.hpp"
#include "tamper.hpp"
#include "temp_dir.hpp"

#include <qx/events/rocksdb_store.hpp>
#include <qx/events/verify.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace qx;
using namespace qx::events;

namespace {

class corruption : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open(true);
    ASSERT_TRUE(store);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(
          (*store)->append(test::make_append("vm-" + std::to_string(i % 5), expected_version::any(),
                                             {"payload number " + std::to_string(i)})));
    }
  }

  result<std::unique_ptr<event_store>> open(bool check_tail, std::size_t tail = 1024,
                                            bool check_reads = false) {
    rocksdb_store_options o;
    o.verify_hashes_on_read = check_reads;
    o.path = path_;
    o.verify_tail_on_open = check_tail;
    o.tail_check_records = tail;
    return open_rocksdb_store(o);
  }

  /// Opening with the tail check fails naming `position`; a full verify names it too.
  void expect_break_at(std::uint64_t position) {
    auto checked = open(true);
    ASSERT_FALSE(checked) << "open did not notice the damage";
    EXPECT_EQ(checked.error().code, errc::corrupted);
    EXPECT_EQ(checked.error().details.at("position"), std::to_string(position))
        << checked.error().to_string();
    auto unchecked = open(false);
    ASSERT_TRUE(unchecked) << unchecked.error().to_string();
    auto report = verify_log(**unchecked);
    ASSERT_TRUE(report);
    EXPECT_FALSE(report->ok);
    ASSERT_TRUE(report->break_position.has_value());
    EXPECT_EQ(*report->break_position, position) << report->problem;
  }

  test::temp_dir dir_;
  std::string path_ = dir_.sub("db");
};

TEST_F(corruption, a_flipped_payload_byte_is_reported_at_its_position) {
  test::flip_byte(path_, 20, 30);
  expect_break_at(20);
}

TEST_F(corruption, a_flipped_hash_byte_is_reported_at_its_position) {
  test::flip_byte(path_, 33, -1);
  expect_break_at(33);
}

TEST_F(corruption, damage_to_the_newest_record_is_reported) {
  test::flip_byte(path_, 50, 5);
  expect_break_at(50);
}

TEST_F(corruption, a_truncated_record_is_reported_at_its_position) {
  test::tamper_log(path_, [](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
    std::string value;
    ASSERT_TRUE(db.Get({}, log, position_key(12), &value).ok());
    ASSERT_TRUE(db.Put({}, log, position_key(12), value.substr(0, value.size() / 2)).ok());
  });
  expect_break_at(12);
}

TEST_F(corruption, a_deleted_record_is_a_gap_at_its_position) {
  test::tamper_log(path_, [](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
    ASSERT_TRUE(db.Delete({}, log, position_key(25)).ok());
  });
  expect_break_at(25);
}

TEST_F(corruption, a_deleted_tail_record_disagrees_with_the_chain_head) {
  test::tamper_log(path_, [](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
    ASSERT_TRUE(db.Delete({}, log, position_key(50)).ok());
  });
  expect_break_at(50);
}

TEST_F(corruption, a_record_swapped_for_another_valid_record_breaks_the_link) {
  // Both records are whole and hash correctly; only the chain shows the swap.
  test::tamper_log(path_, [](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
    std::string a;
    std::string b;
    ASSERT_TRUE(db.Get({}, log, position_key(40), &a).ok());
    ASSERT_TRUE(db.Get({}, log, position_key(41), &b).ok());
    ASSERT_TRUE(db.Put({}, log, position_key(40), b).ok());
    ASSERT_TRUE(db.Put({}, log, position_key(41), a).ok());
  });
  expect_break_at(40);
}

TEST_F(corruption, damage_outside_the_open_time_tail_is_found_by_a_full_verify) {
  test::flip_byte(path_, 3, 30);
  auto store = open(true, 10, true); // the tail check covers 41..50 only
  ASSERT_TRUE(store) << store.error().to_string();
  auto report = verify_log(**store);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->break_position.value_or(0), 3U);
  // With hash checks on reads, reading the damaged record is an error naming it.
  auto read = (*store)->read_all(1, 10);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, errc::corrupted);
  EXPECT_EQ(read.error().details.at("position"), "3");
  auto by_stream = (*store)->read_stream("vm-2", 1, 10); // position 3 is vm-2's first event
  ASSERT_FALSE(by_stream);
  EXPECT_EQ(by_stream.error().details.at("position"), "3");
}

TEST_F(corruption, damage_to_the_files_on_disk_is_an_error_naming_a_position) {
  // Push the records into an SST file, then flip bytes in the middle of it, below RocksDB.
  test::tamper_log(path_, [](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
    ASSERT_TRUE(db.Flush({}, log).ok());
  });
  std::string sst;
  std::uintmax_t biggest = 0;
  for (const auto& f : std::filesystem::directory_iterator(path_))
    if (f.path().extension() == ".sst" && f.file_size() > biggest) {
      biggest = f.file_size();
      sst = f.path().string();
    }
  ASSERT_FALSE(sst.empty());
  {
    std::fstream file{sst, std::ios::in | std::ios::out | std::ios::binary};
    for (std::uintmax_t at = 100; at < biggest / 2; at += 97) {
      file.seekp(static_cast<std::streamoff>(at));
      file.put('\x5a');
    }
  }
  auto store = open(false);
  if (!store) {
    EXPECT_EQ(store.error().code, errc::corrupted) << store.error().to_string();
    return;
  }
  auto read = (*store)->read_all(1, 100);
  ASSERT_FALSE(read) << "damaged blocks were read as data";
  EXPECT_EQ(read.error().code, errc::corrupted) << read.error().to_string();
  EXPECT_TRUE(read.error().details.count("position")) << read.error().to_string();
  auto report = verify_log(**store);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->ok);
}

} // namespace
