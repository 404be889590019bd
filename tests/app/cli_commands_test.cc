// The command line's contract: --version, exit codes (2 usage, 1 failure), a data
// directory in use by a running server, and keys list / revoke offline.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "tests/app/serve_process.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CliRun Cli(const std::string& args) {
  std::string command = std::string(LEDGERFLOW_BINARY) + " " + args + " 2>&1";
  CliRun result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(CliCommandsTest, VersionNamesTheReleaseAndTheSource) {
  for (const char* args : {"--version", "version"}) {
    CliRun r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << args;
    EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(^ledgerflow \d+\.\d+\.\d+ \(source \S+\)\n$)")))
        << r.output;
  }
  // Built from a checkout: the revision is its HEAD (read at build time, not when
  // CMake last configured).
  FILE* git = popen("git -C " LEDGERFLOW_SOURCE_DIR " rev-parse --short=12 HEAD 2>/dev/null", "r");
  ASSERT_NE(git, nullptr);
  char head[64] = {0};
  const bool read = fgets(head, sizeof(head), git) != nullptr;
  pclose(git);
  if (read) {
    std::string revision(head);
    revision.erase(revision.find_last_not_of("\n") + 1);
    EXPECT_NE(Cli("--version").output.find("(source " + revision), std::string::npos) << revision;
  }
}

TEST(CliCommandsTest, UsageErrorsExit2AndFailuresExit1) {
  TempDir dir;
  const std::string data = (dir.path() / "db").string();
  for (const std::string& args :
       {std::string("frobnicate"), std::string("serve --no-such-flag"),
        std::string("serve --port 70000"), std::string("serve --threads 0"),
        std::string("serve --log-format xml"), std::string("serve --shutdown-grace-seconds -1"),
        std::string("keys"), std::string("keys create --data-dir ") + data,
        std::string("keys create --org o --role root --data-dir ") + data,
        std::string("keys revoke"), std::string("export --bogus"), std::string("rebuild x")}) {
    EXPECT_EQ(Cli(args).exit_code, 2) << args;
  }
  EXPECT_EQ(Cli("export --data-dir " + (dir.path() / "absent").string()).exit_code, 1);
  EXPECT_EQ(Cli("keys list --data-dir " + (dir.path() / "absent").string()).exit_code, 1);
  EXPECT_EQ(Cli("keys create --org o --data-dir " + data).exit_code, 0);
  EXPECT_EQ(Cli("keys revoke key_0000000000000000 --data-dir " + data).exit_code, 1);
}

TEST(CliCommandsTest, ADirectoryInUseByARunningServerIsNamedAsSuch) {
  TempDir dir;
  const std::string data = (dir.path() / "db").string();
  ServeProcess serve(data);
  ASSERT_FALSE(serve.url().empty());
  for (const std::string& args :
       {"keys create --org o --data-dir " + data, "keys list --data-dir " + data,
        "export --data-dir " + data, "rebuild --data-dir " + data, "verify --data-dir " + data,
        "serve --port 0 --data-dir " + data}) {
    CliRun r = Cli(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.output.find("is in use by a running ledgerflow"), std::string::npos)
        << args << ": " << r.output;
    EXPECT_EQ(r.output.find("internal"), std::string::npos) << args << ": " << r.output;
  }
}

TEST(CliCommandsTest, KeysListAndRevokeOffline) {
  TempDir dir;
  const std::string data = (dir.path() / "db").string();
  CliRun owner = Cli("keys create --org acme --role owner --name boss --data-dir " + data);
  ASSERT_EQ(owner.exit_code, 0) << owner.output;
  CliRun ci = Cli("keys create --org acme --role editor --name ci --data-dir " + data);
  ASSERT_EQ(ci.exit_code, 0);
  std::smatch m;
  const std::string ci_token = ci.output;
  ASSERT_TRUE(std::regex_search(ci_token, m, std::regex(R"(lf_(key_[0-9a-f]+)_)")));
  const std::string ci_id = m[1];
  const std::string owner_token = owner.output;
  ASSERT_TRUE(std::regex_search(owner_token, m, std::regex(R"(lf_(key_[0-9a-f]+)_)")));
  const std::string owner_id = m[1];

  CliRun list = Cli("keys list --data-dir " + data);
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_TRUE(std::regex_search(list.output, std::regex(ci_id + R"( +editor +acme +\S+ +no +ci)")))
      << list.output;
  EXPECT_TRUE(std::regex_search(list.output, std::regex(owner_id + R"( +owner +acme)")));
  EXPECT_EQ(list.output.find("lf_"), std::string::npos) << "a secret in the list";

  CliRun revoked = Cli("keys revoke " + ci_id + " --data-dir " + data);
  EXPECT_EQ(revoked.exit_code, 0) << revoked.output;
  EXPECT_TRUE(std::regex_search(Cli("keys list --org acme --data-dir " + data).output,
                                std::regex(ci_id + R"( +editor +acme +\S+ +yes)")));
  // The API's rules hold offline too: the last owner key stays.
  CliRun last = Cli("keys revoke " + owner_id + " --data-dir " + data);
  EXPECT_EQ(last.exit_code, 1);
  EXPECT_NE(last.output.find("last owner key"), std::string::npos) << last.output;

  // The server agrees.
  ServeProcess serve(data);
  HttpClient c(serve.url());
  const std::regex token_re(R"(lf_key_[0-9a-f]+_[0-9a-f]+)");
  ASSERT_TRUE(std::regex_search(ci_token, m, token_re));
  c.set_token(m[0]);
  EXPECT_EQ(c.Get("/api/workflows").status, 401);
  ASSERT_TRUE(std::regex_search(owner_token, m, token_re));
  c.set_token(m[0]);
  EXPECT_EQ(c.Get("/api/workflows").status, 200);
}

}  // namespace
}  // namespace ledgerflow::testing
