// A fresh directory under the system temp dir, removed with everything in it on
// destruction. For tests that run real RocksDB.
#pragma once

#include <filesystem>
#include <random>
#include <string>

namespace ledgerflow::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    std::uniform_int_distribution<unsigned long long> dist;
    char name[64];
    std::snprintf(name, sizeof name, "ledgerflow-test-%016llx", dist(rd));
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace ledgerflow::testing
