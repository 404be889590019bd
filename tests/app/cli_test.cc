// The ledgerflow binary as a new user meets it: serve on an empty directory, use the
// printed key, stop, restart, verify, rebuild, export, keys create, --help.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "core/json.h"
#include "tests/app/serve_process.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs the binary with `args` (shell-quoted by the caller), capturing stdout.
CommandResult RunCli(const std::string& args) {
  std::string command = std::string(LEDGERFLOW_BINARY) + " " + args + " 2>/dev/null";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

json::Document Json(const HttpResponse& r) {
  auto doc = json::Parse(r.body);
  EXPECT_TRUE(doc.ok()) << r.body;
  return doc.ok() ? std::move(*doc) : json::Document();
}

std::string Definition(const std::string& url) {
  return R"({"definition":{"name":"nightly","steps":[{"id":"fetch","type":"http_request",)"
         R"("config":{"url":")" + url + R"("}}]}})";
}

// A data directory made by serve, holding the owner key (events 1-2) and one
// workflow (event 3).
void ServeOneWorkflow(const std::string& data) {
  ServeProcess serve(data);
  HttpClient client(serve.url());
  client.set_token(serve.key());
  ASSERT_EQ(client.Post("/api/workflows", Definition("https://a.example")).status, 201);
  ASSERT_EQ(serve.Stop(), 0);
}

TEST(CliTest, NewUserFlowSurvivesRestartAndVerifies) {
  TempDir dir;
  std::string data = (dir.path() / "data").string();
  std::string wf;
  std::string history;
  std::string key;
  {
    ServeProcess serve(data);
    ASSERT_FALSE(serve.url().empty());
    ASSERT_FALSE(serve.key().empty()) << "no owner key printed on an empty data dir";
    key = serve.key();
    HttpClient client(serve.url());
    client.set_token(key);
    auto created = client.Post("/api/workflows", Definition("https://a.example"));
    ASSERT_EQ(created.status, 201) << created.body;
    wf = Json(created)["id"].GetString();
    ASSERT_EQ(client.Send("PUT", "/api/workflows/" + wf, Definition("https://b.example")).status,
              200);
    ASSERT_EQ(client.Send("PUT", "/api/workflows/" + wf, Definition("https://c.example")).status,
              200);
    auto diff = client.Get("/api/workflows/" + wf + "/diff?v1=1&v2=3");
    ASSERT_EQ(diff.status, 200);
    EXPECT_EQ(Json(diff)["diff"].Size(), 1u) << diff.body;
    auto rolled = client.Post("/api/workflows/" + wf + "/rollback", R"({"version":1})");
    ASSERT_EQ(rolled.status, 200);
    EXPECT_EQ(Json(rolled)["version"].GetInt(), 4);
    history = client.Get("/api/workflows/" + wf + "/versions").body;
    EXPECT_EQ(serve.Stop(), 0);
  }
  {
    ServeProcess serve(data);
    ASSERT_FALSE(serve.url().empty());
    EXPECT_TRUE(serve.key().empty()) << "a second owner key was printed";
    HttpClient client(serve.url());
    client.set_token(key);
    EXPECT_EQ(client.Get("/api/workflows/" + wf + "/versions").body, history);
    auto now = Json(client.Get("/api/workflows/" + wf));
    EXPECT_EQ(now["version"].GetInt(), 4);
    EXPECT_EQ(serve.Stop(), 0);
  }
  auto verify = RunCli("verify --data-dir " + data);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("ok:"), std::string::npos);

  auto exported = RunCli("export --data-dir " + data);
  EXPECT_EQ(exported.exit_code, 0);
  std::string file = (dir.path() / "events.ndjson").string();
  std::ofstream(file) << exported.output;
  EXPECT_EQ(RunCli("verify --file " + file).exit_code, 0);
  // An edited line of the export is detected.
  std::string edited = exported.output;
  auto at = edited.find("https://b.example");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 17, "https://x.example");
  std::ofstream(file, std::ios::trunc) << edited;
  auto bad = RunCli("verify --file " + file);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("position"), std::string::npos) << bad.output;

  auto rebuilt = RunCli("rebuild --data-dir " + data);
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.output;
}

TEST(CliTest, EveryAnsweredWriteSurvivesAKill) {
  TempDir dir;
  std::string data = (dir.path() / "data").string();
  std::string key;
  std::vector<std::string> ids;
  {
    ServeProcess serve(data);
    key = serve.key();
    HttpClient client(serve.url());
    client.set_token(key);
    for (int i = 0; i < 40; ++i) {
      auto r = client.Post("/api/workflows", Definition("https://" + std::to_string(i) + ".example"));
      ASSERT_EQ(r.status, 201);
      ids.push_back(Json(r)["id"].GetString());
    }
    ASSERT_EQ(client.Send("PUT", "/api/workflows/" + ids[0], Definition("https://v2.example")).status,
              200);
    serve.Kill();
  }
  ServeProcess serve(data);
  HttpClient client(serve.url());
  client.set_token(key);
  auto list = Json(client.Get("/api/workflows?limit=200"));
  EXPECT_EQ(list["total"].GetInt(), 40);
  for (const auto& id : ids) EXPECT_EQ(client.Get("/api/workflows/" + id).status, 200) << id;
  EXPECT_EQ(Json(client.Get("/api/workflows/" + ids[0]))["version"].GetInt(), 2);
  serve.Stop();
  EXPECT_EQ(RunCli("verify --data-dir " + data).exit_code, 0);
}

TEST(CliTest, VerifyNamesTheFirstCorruptedPosition) {
  TempDir dir;
  std::string data = (dir.path() / "data").string();
  ASSERT_NO_FATAL_FAILURE(ServeOneWorkflow(data));
  // Corrupt event 2 (the owner key is 1..2; the workflow comes after) in place.
  {
    rocksdb::Options options;
    std::vector<std::string> families;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, data, &families).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, data, descriptors, &handles, &db).ok());
    rocksdb::ColumnFamilyHandle* events = nullptr;
    for (size_t i = 0; i < families.size(); ++i) {
      if (families[i] == "events") events = handles[i];
    }
    ASSERT_NE(events, nullptr);
    std::string key(8, '\0');
    key[7] = 3;  // position 3
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), events, key, &value).ok());
    auto at = value.find("https://a.example");
    ASSERT_NE(at, std::string::npos) << value;
    value.replace(at, 17, "https://evil.test");
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), events, key, value).ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto verify = RunCli("verify --data-dir " + data);
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_NE(verify.output.find("position 3"), std::string::npos) << verify.output;
}

TEST(CliTest, KeysCreatePrintsAKeyTheServerAccepts) {
  TempDir dir;
  std::string data = (dir.path() / "data").string();
  auto created = RunCli("keys create --data-dir " + data + " --org globex --role editor");
  ASSERT_EQ(created.exit_code, 0);
  std::regex key_re(R"(^lf_key_[0-9a-f]+_[0-9a-f]{32,}\n$)");
  EXPECT_TRUE(std::regex_match(created.output, key_re)) << created.output;
  EXPECT_NE(RunCli("keys create --data-dir " + data + " --org globex --role wizard").exit_code, 0);
  EXPECT_NE(RunCli("keys create --data-dir " + data + " --role owner").exit_code, 0);
  EXPECT_NE(RunCli("keys create --data-dir " + data + " --org globex --name ''").exit_code, 0);

  ServeProcess serve(data);
  EXPECT_TRUE(serve.key().empty()) << "an org exists: no new owner key";
  HttpClient client(serve.url());
  client.set_token(created.output.substr(0, created.output.size() - 1));
  EXPECT_EQ(client.Get("/api/workflows").status, 200);
  EXPECT_EQ(client.Post("/api/workflows", Definition("https://a.example")).status, 201);
}

TEST(CliTest, ToolsRefuseADataDirectoryThatIsNotThere) {
  TempDir dir;
  const std::string missing = (dir.path() / "no" / "such" / "dir").string();
  EXPECT_EQ(RunCli("verify --data-dir " + missing).exit_code, 2);
  EXPECT_EQ(RunCli("export --data-dir " + missing).exit_code, 1);
  EXPECT_EQ(RunCli("rebuild --data-dir " + missing).exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(missing)) << "a tool created the directory";
  const std::string empty = (dir.path() / "empty").string();
  std::filesystem::create_directories(empty);
  EXPECT_EQ(RunCli("verify --data-dir " + empty).exit_code, 2);
  EXPECT_TRUE(std::filesystem::is_empty(empty));
  EXPECT_EQ(RunCli("verify --file " + dir.path().string()).exit_code, 2);
  EXPECT_EQ(RunCli("verify --file ''").exit_code, 2);
}

TEST(CliTest, VerifyRefusesExportLinesThatAreNotAsExported) {
  TempDir dir;
  std::string data = (dir.path() / "data").string();
  ASSERT_NO_FATAL_FAILURE(ServeOneWorkflow(data));
  auto exported = RunCli("export --data-dir " + data);
  ASSERT_EQ(exported.exit_code, 0);
  std::string file = (dir.path() / "events.ndjson").string();
  std::ofstream(file) << exported.output;
  auto ok = RunCli("verify --file " + file);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_NE(ok.output.find("default: head at position 3, hash "), std::string::npos)
      << ok.output;

  // The last line with a second "data" (most readers take the last copy) or an extra
  // member, neither covered by the hash.
  for (const std::string& addition :
       {std::string(R"(,"data":{"name":"EVIL"})"), std::string(R"(,"note":"approved")")}) {
    std::string edited = exported.output;
    edited.insert(edited.size() - 2, addition);  // before the closing brace of the last line
    std::ofstream(file, std::ios::trunc) << edited;
    auto bad = RunCli("verify --file " + file);
    EXPECT_EQ(bad.exit_code, 1) << addition;
    EXPECT_NE(bad.output.find("line 3 (position 3) is not the event as exported"),
              std::string::npos)
        << bad.output;
  }
  // A full disk (or a closed pipe) fails the export rather than cutting it short.
  EXPECT_EQ(RunCli("export --data-dir " + data + " > /dev/full").exit_code, 1);
}

TEST(CliTest, ServeChecksItsFlagsAndKeepsTheOwnerKeyIfItCannotStart) {
  TempDir dir;
  const std::string data = (dir.path() / "data").string();
  // Bad flag values are usage errors (2).
  EXPECT_EQ(RunCli("serve --data-dir " + data + " --port 70000").exit_code, 2);
  EXPECT_EQ(RunCli("serve --data-dir " + data + " --threads 0").exit_code, 2);
  EXPECT_EQ(RunCli("serve --data-dir " + data + " --port abc").exit_code, 2);
  // A port in use: the start fails before the one-time owner key is made.
  ServeProcess other((dir.path() / "other").string());
  const std::string busy_port = other.url().substr(other.url().rfind(':') + 1);
  EXPECT_EQ(RunCli("serve --data-dir " + data + " --port " + busy_port).exit_code, 1);
  ServeProcess serve(data);
  EXPECT_FALSE(serve.key().empty()) << "the owner key was used up by the failed start";
}

TEST(CliTest, EveryCommandHasHelp) {
  for (std::string cmd : {"serve", "keys create", "rebuild", "verify", "export"}) {
    auto r = RunCli(cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.output.find("usage: ledgerflow " + cmd), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--data-dir"), std::string::npos) << cmd;
  }
  EXPECT_EQ(RunCli("--help").exit_code, 0);
  EXPECT_EQ(RunCli("keys --help").exit_code, 0);
  EXPECT_EQ(RunCli("keys").exit_code, 2);
  EXPECT_EQ(RunCli("frobnicate").exit_code, 2);
  EXPECT_NE(RunCli("serve --no-such-flag").exit_code, 0);
}

}  // namespace
}  // namespace ledgerflow::testing
