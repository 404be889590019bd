// The real server for HTTP tests: a Ledger over a fresh RocksDB directory in a temp
// dir, its run engine, served on 127.0.0.1 at an ephemeral port, with an owner key of
// org "acme".
// Restart() stops and reopens the same directory.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "api/server.h"
#include "engine/engine.h"
#include "service/ledger.h"
#include "tests/support/http_client.h"

namespace ledgerflow::testing {

// A temporary directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class TestServer {
 public:
  explicit TestServer(service::LedgerOptions options = {}, api::ServerOptions server = {});
  ~TestServer();

  // Stops the server and closes the ledger (the data directory stays).
  void Stop();
  // Opens the same directory again and serves it (on a new port).
  void Start();
  void Restart() { Stop(); Start(); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  uint16_t port() const { return server_->port(); }
  // A client with the owner key of org "acme".
  std::unique_ptr<HttpClient> Client() const;
  // A key of `role` in `org` (created through the service, not HTTP).
  std::string CreateKey(const std::string& org, core::Role role);

  // The ledger's and the engine's options; a change applies from the next Start().
  service::LedgerOptions& ledger_options() { return options_; }
  engine::EngineOptions& engine_options() { return engine_options_; }
  const std::string& owner_token() const { return owner_token_; }
  service::Ledger& ledger() { return *ledger_; }
  const std::filesystem::path& data_dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  service::LedgerOptions options_;
  api::ServerOptions server_options_;
  engine::EngineOptions engine_options_;
  std::unique_ptr<service::Ledger> ledger_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<api::Server> server_;
  std::string owner_token_;
};

}  // namespace ledgerflow::testing
