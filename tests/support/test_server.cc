#include "tests/support/test_server.h"

#include "tests/support/openapi_validator.h"

#include <random>
#include <stdexcept>

namespace ledgerflow::testing {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("ledgerflow-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TestServer::TestServer(service::LedgerOptions options, api::ServerOptions server)
    : options_(std::move(options)), server_options_(std::move(server)) {
  options_.data_dir = (dir_.path() / "data").string();
  server_options_.host = "127.0.0.1";
  server_options_.port = 0;
  Start();
  owner_token_ = CreateKey("acme", core::Role::kOwner);
}

TestServer::~TestServer() { Stop(); }

void TestServer::Start() {
  auto ledger = service::Ledger::Open(options_);
  if (!ledger.ok()) throw std::runtime_error(ledger.status().ToString());
  ledger_ = std::move(*ledger);
  // As the server binary does.
  if (engine_options_.script_state_dir.empty()) {
    engine_options_.script_state_dir = options_.data_dir + "/running-scripts";
  }
  engine_ = std::make_unique<engine::Engine>(ledger_->store(), ledger_->runner(),
                                             ledger_->workflow_view(), ledger_->run_view(),
                                             ledger_->runs(), engine_options_);
  if (Status s = engine_->Start(); !s.ok()) throw std::runtime_error(s.ToString());
  server_ = std::make_unique<api::Server>(*ledger_, server_options_);
  Status s = server_->Start();
  if (!s.ok()) throw std::runtime_error(s.ToString());
  ValidateAnswersAgainstOpenApi(url());
}

void TestServer::Stop() {
  if (server_) server_->Stop();
  server_.reset();
  engine_.reset();
  ledger_.reset();
}

std::unique_ptr<HttpClient> TestServer::Client() const {
  auto client = std::make_unique<HttpClient>(url());
  client->set_token(owner_token_);
  return client;
}

std::string TestServer::CreateKey(const std::string& org, core::Role role) {
  service::Caller system{org, "system", core::Role::kOwner, "test"};
  auto key = ledger_->keys().CreateKey(system, org, "test key", role);
  if (!key.ok()) throw std::runtime_error(key.status().ToString());
  return key->token;
}

}  // namespace ledgerflow::testing
