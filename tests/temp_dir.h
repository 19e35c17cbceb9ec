// A test fixture that owns a fresh directory for the files a test writes, removed when the
// test ends: /tmp/onyx_<suite>_<test>_<pid>, so parallel test processes never share one.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace onyx::testing {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    dir_ = std::filesystem::temp_directory_path() /
           ("onyx_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A path inside the directory; its parent directories are made.
  std::string path(const std::string& name) const {
    std::filesystem::create_directories((dir_ / name).parent_path());
    return (dir_ / name).string();
  }
  std::filesystem::path dir_;
};

}  // namespace onyx::testing
