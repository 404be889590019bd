// ledgerflow: the server and its offline tools over one data directory.
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <iostream>
#include <string>
#include <unistd.h>

#include "api/log.h"
#include "core/time_format.h"
#include "api/server.h"
#include "app/cli.h"
#include "app/revision.h"
#include "engine/engine.h"
#include "events/chain.h"
#include "events/codec.h"
#include "service/ledger.h"

namespace ledgerflow::app {
namespace {

const FlagSpec kDataDir{"data-dir", "LEDGERFLOW_DATA_DIR", "./data", "data directory"};

// Exit codes: 0 done, 1 a failure (the store, the network, a refused operation), 2 a
// usage error (an unknown command or flag, a bad flag value).
constexpr int kFailure = 1;
constexpr int kUsage = 2;

int Fail(const std::string& message, int exit_code = kFailure) {
  std::fprintf(stderr, "ledgerflow: %s\n", message.c_str());
  return exit_code;
}

int UsageError(const std::string& message) { return Fail(message, kUsage); }

// A flag's value as an integer in [min, max].
std::optional<long long> IntFlag(const Flags& flags, const std::string& name, long long min,
                                 long long max) {
  const std::string text = flags.Get(name);
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// The tools that read an existing store (rebuild, verify, export) must not create an
// empty one at a mistyped path and report on that.
Status RequireDataDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    return NotFound("no data directory at '" + dir +
                    "' (check --data-dir; the server creates one on its first start)");
  }
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return InvalidArgument("'" + dir + "' is not a ledgerflow data directory");
  }
  return Status::Ok();
}

// Prints replay progress on a terminal only, so logs and pipes stay clean.
std::function<void(events::Position)> ProgressPrinter(const char* what) {
  if (!isatty(STDERR_FILENO)) return nullptr;
  return [what](events::Position p) { std::fprintf(stderr, "\r%s: position %lu", what, p); };
}

StatusOr<std::unique_ptr<service::Ledger>> OpenLedger(const Flags& flags,
                                                      bool allow_scripts = false) {
  service::LedgerOptions options;
  options.data_dir = flags.Get("data-dir");
  options.allow_scripts = allow_scripts;
  auto ledger = service::Ledger::Open(options, ProgressPrinter("catching up"));
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
  // RocksDB's LOCK file is held by the process that has the directory open.
  if (!ledger.ok() && ledger.status().message().find("/LOCK") != std::string::npos) {
    return Status(StatusCode::kUnavailable,
                  "data directory " + options.data_dir +
                      " is in use by a running ledgerflow (stop it, or talk to it over HTTP)");
  }
  return ledger;
}

int Serve(int argc, char** argv) {
  std::vector<FlagSpec> specs = {
      kDataDir,
      {"host", "LEDGERFLOW_HOST", "127.0.0.1", "address to listen on"},
      {"port", "LEDGERFLOW_PORT", "8080", "port to listen on (0: any free port)"},
      {"threads", "LEDGERFLOW_THREADS", "2", "HTTP worker threads"},
      {"max-body-bytes", "LEDGERFLOW_MAX_BODY_BYTES", "1048576", "largest request body (413 beyond)"},
      {"max-request-line-bytes", "LEDGERFLOW_MAX_REQUEST_LINE_BYTES", "8192",
       "longest request line (414 beyond)"},
      {"max-header-bytes", "LEDGERFLOW_MAX_HEADER_BYTES", "65536",
       "largest header block (431 beyond)"},
      {"allow-scripts", "LEDGERFLOW_ALLOW_SCRIPTS", "", "accept script steps", true},
      {"max-concurrent-runs", "WORKFLOW_MAX_CONCURRENT_RUNS", "10",
       "runs of one workflow executing at once, unless its definition sets "
       "max_concurrent_runs (the rest wait as pending, in dispatch order)"},
      {"shutdown-grace-seconds", "LEDGERFLOW_SHUTDOWN_GRACE_SECONDS", "10",
       "on SIGTERM or SIGINT, how long to answer requests already received (a second "
       "signal stops at once)"},
      {"log-format", "LEDGERFLOW_LOG_FORMAT", "text",
       "text, or json (one object per line); the log goes to stderr"},
      {"log-level", "LEDGERFLOW_LOG_LEVEL", "info",
       "debug, info (one access line per request), warn or error"},
  };
  const char* summary =
      "Starts the HTTP API on the data directory. On an empty directory it creates the\n"
      "organisation 'default' and prints a one-time owner API key.";
  Flags flags;
  if (auto err = flags.Parse(specs, argc, argv, 2)) return UsageError(*err);
  if (flags.help()) return std::printf("%s", Usage("serve", summary, specs).c_str()), 0;

  // Every flag is checked before the data directory is touched.
  api::ServerOptions options;
  options.host = flags.Get("host");
  auto port = IntFlag(flags, "port", 0, 65535);
  if (!port) return UsageError("--port takes a port number from 0 to 65535");
  auto threads = IntFlag(flags, "threads", 1, 255);
  if (!threads) return UsageError("--threads takes a number from 1 to 255");
  auto max_body = IntFlag(flags, "max-body-bytes", 1, int64_t{1} << 30);
  if (!max_body) return UsageError("--max-body-bytes takes a number from 1 to 1073741824");
  auto max_line = IntFlag(flags, "max-request-line-bytes", 64, int64_t{1} << 20);
  if (!max_line) return UsageError("--max-request-line-bytes takes a number from 64 to 1048576");
  auto max_headers = IntFlag(flags, "max-header-bytes", 256, int64_t{16} << 20);
  if (!max_headers) return UsageError("--max-header-bytes takes a number from 256 to 16777216");
  options.max_request_line_bytes = static_cast<size_t>(*max_line);
  options.max_header_bytes = static_cast<size_t>(*max_headers);
  options.port = static_cast<uint16_t>(*port);
  options.threads = static_cast<int>(*threads);
  options.max_body_bytes = static_cast<size_t>(*max_body);
  auto grace = IntFlag(flags, "shutdown-grace-seconds", 0, 3600);
  if (!grace) return UsageError("--shutdown-grace-seconds takes a number from 0 to 3600");
  auto max_runs = IntFlag(flags, "max-concurrent-runs", 1, 1000);
  if (!max_runs) return UsageError("--max-concurrent-runs takes a number from 1 to 1000");
  auto log_format = api::log::ParseFormat(flags.Get("log-format"));
  if (!log_format) return UsageError("--log-format takes text or json");
  auto log_level = api::log::ParseLevel(flags.Get("log-level"));
  if (!log_level) return UsageError("--log-level takes debug, info, warn or error");
  api::log::Configure(*log_format, *log_level);

  // Block the stop signals before any thread starts, so that only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto ledger = OpenLedger(flags, flags.Has("allow-scripts"));
  if (!ledger.ok()) return Fail(ledger.status().message());
  engine::EngineOptions engine_options;
  engine_options.default_max_concurrent_runs = static_cast<int>(*max_runs);
  engine_options.allow_scripts = flags.Has("allow-scripts");
  engine_options.script_state_dir = flags.Get("data-dir") + "/running-scripts";
  engine::Engine engine((*ledger)->store(), (*ledger)->runner(), (*ledger)->workflow_view(),
                        (*ledger)->run_view(), (*ledger)->runs(), engine_options);
  if (Status s = engine.Start(); !s.ok()) return Fail(s.ToString());
  if (engine.orphan_processes_killed() > 0) {
    api::log::Write(api::log::Level::kWarn, "orphan_scripts_killed",
                    {{"processes", uint64_t{engine.orphan_processes_killed()}},
                     {"cause", "script steps of the previous process were still running"}});
  }
  api::Server server(**ledger, options);
  if (Status s = server.Start(); !s.ok()) return Fail(s.ToString());

  // Only once the server listens: a start that fails (a port in use) must not use up
  // the one-time owner key of a new directory without printing it.
  auto orgs = (*ledger)->key_view().ListOrgs();
  if (!orgs.ok()) return Fail(orgs.status().ToString());
  std::string first_key;
  if (orgs->empty()) {
    service::Caller system{"default", "system", core::Role::kOwner, "setup"};
    auto key = (*ledger)->keys().CreateKey(system, "default", "initial owner key",
                                           core::Role::kOwner);
    if (!key.ok()) return Fail(key.status().ToString());
    first_key = key->token;
  }

  if (!first_key.empty()) {
    std::printf("Owner API key for organisation 'default' (shown once, keep it safe):\n  %s\n",
                first_key.c_str());
    std::printf("Try: curl -H 'Authorization: Bearer <the key above>' http://%s:%u/api/workflows\n",
                options.host.c_str(), server.port());
  }
  // Last line of the banner: scripts wait for it.
  std::printf("Ledgerflow listening on http://%s:%u (data: %s)\n", options.host.c_str(),
              server.port(), flags.Get("data-dir").c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::printf("Stopping (signal %d): answering the requests received, for up to %lld s\n",
              signal, static_cast<long long>(*grace));
  std::fflush(stdout);
  server.BeginDrain();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(*grace);
  const timespec slice{0, 20'000'000};
  while (server.Unanswered() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (sigtimedwait(&stop_signals, nullptr, &slice) > 0) {
      std::printf("Second signal: stopping now, %lld requests unanswered\n",
                  static_cast<long long>(server.Unanswered()));
      std::fflush(stdout);
      _exit(1);
    }
  }
  const int64_t unanswered = server.Unanswered();
  if (unanswered > 0) {
    std::printf("Grace period over: %lld requests unanswered\n",
                static_cast<long long>(unanswered));
  }
  server.Stop();
  engine.Stop();
  std::fflush(stdout);
  return unanswered > 0 ? 1 : 0;
}

int KeysCreate(int argc, char** argv) {
  std::vector<FlagSpec> specs = {
      kDataDir,
      {"org", "", "", "organisation id (created on first use)"},
      {"role", "", "viewer", "viewer, editor, admin or owner"},
      {"name", "", "cli key", "a label for the key"},
  };
  Flags flags;
  if (auto err = flags.Parse(specs, argc, argv, 3)) return UsageError(*err);
  if (flags.help()) {
    return std::printf("%s", Usage("keys create", "Creates an API key and prints it once "
                                                  "(the server must be stopped).",
                                   specs).c_str()), 0;
  }
  if (flags.Get("org").empty()) return UsageError("--org is required");
  auto role = core::ParseRole(flags.Get("role"));
  if (!role) return UsageError("--role must be viewer, editor, admin or owner");
  std::error_code ec;
  const bool new_directory = !std::filesystem::exists(flags.Get("data-dir"), ec);
  auto ledger = OpenLedger(flags);
  if (!ledger.ok()) return Fail(ledger.status().message());
  if (new_directory) {
    std::fprintf(stderr, "ledgerflow: created a new data directory at '%s'\n",
                 flags.Get("data-dir").c_str());
  }
  service::Caller system{flags.Get("org"), "system", core::Role::kOwner, "cli"};
  auto key = (*ledger)->keys().CreateKey(system, flags.Get("org"), flags.Get("name"), *role);
  if (!key.ok()) return Fail(key.status().ToString());
  std::printf("%s\n", key->token.c_str());
  return 0;
}

int Rebuild(int argc, char** argv) {
  std::vector<FlagSpec> specs = {kDataDir};
  Flags flags;
  if (auto err = flags.Parse(specs, argc, argv, 2)) return UsageError(*err);
  if (flags.help()) {
    return std::printf("%s", Usage("rebuild", "Drops every read model and replays the log "
                                              "from position 0 (the server must be stopped).",
                                   specs).c_str()), 0;
  }
  if (Status s = RequireDataDir(flags.Get("data-dir")); !s.ok()) return Fail(s.message());
  auto ledger = OpenLedger(flags);
  if (!ledger.ok()) return Fail(ledger.status().message());
  Status s = (*ledger)->runner().Rebuild(ProgressPrinter("rebuilding"));
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
  if (!s.ok()) return Fail(s.ToString());
  std::printf("rebuilt read models from %lu events\n", (*ledger)->store().HeadPosition());
  return 0;
}

// Verifies the log in the data directory, or an NDJSON export with --file. Exit codes:
// 0 verified, 1 the chain or a line is bad, 2 nothing could be verified.
int Verify(int argc, char** argv) {
  std::vector<FlagSpec> specs = {kDataDir, {"file", "", "", "verify an NDJSON export instead"}};
  Flags flags;
  if (auto err = flags.Parse(specs, argc, argv, 2)) return UsageError(*err);
  if (flags.help()) {
    return std::printf("%s", Usage("verify", "Recomputes every org's hash chain and prints each "
                                             "chain's head. Exits 1 naming the first bad "
                                             "position or line, 2 when it cannot read its "
                                             "input.",
                                   specs).c_str()), 0;
  }
  events::ChainVerifier verifier;
  Status status;
  if (flags.Given("file")) {
    const std::string path = flags.Get("file");
    std::error_code ec;
    if (path.empty()) return Fail("--file needs a path", 2);
    if (std::filesystem::is_directory(path, ec)) return Fail(path + " is a directory", 2);
    std::ifstream in(path);
    if (!in) return Fail("cannot read " + path, 2);
    std::string line;
    uint64_t line_no = 0;
    while (status.ok() && std::getline(in, line)) {
      ++line_no;
      if (line.empty()) continue;
      auto event = events::DecodeEvent(line);
      if (!event.ok()) {
        status = DataLoss("line " + std::to_string(line_no) + " is not an event: " +
                          event.status().message());
        break;
      }
      // Exactly as exported: a member added, repeated (a reader may take either copy)
      // or reformatted is not covered by the hash, so it is refused.
      if (events::EncodeEvent(*event) != line) {
        status = DataLoss("line " + std::to_string(line_no) + " (position " +
                          std::to_string(event->position) +
                          ") is not the event as exported: a member was added, repeated, "
                          "reordered or reformatted");
        break;
      }
      status = verifier.Feed(*event);
    }
    if (status.ok() && in.bad()) return Fail("cannot read " + path, 2);
  } else {
    if (Status s = RequireDataDir(flags.Get("data-dir")); !s.ok()) return Fail(s.message(), 2);
    auto ledger = OpenLedger(flags);
    if (!ledger.ok()) return Fail(ledger.status().message(), 2);
    Status read = (*ledger)->store().ReadAll(1, [&](const events::Event& e) {
      status = verifier.Feed(e);
      return status.ok();
    });
    if (status.ok() && !read.ok()) return Fail(read.ToString(), 2);
  }
  if (!status.ok()) {
    std::printf("FAILED: %s\n", status.message().c_str());
    return 1;
  }
  std::printf("ok: %lu events, %zu org chains verified\n", verifier.checked(),
              verifier.heads().size());
  // The heads to compare with the server's (GET /api/audit/verify): a copy cut short
  // still verifies, but ends at an older head.
  for (const auto& [org, head] : verifier.heads()) {
    std::printf("  %s: head at position %lu, hash %s\n", org.c_str(), head.position,
                head.hash.c_str());
  }
  return 0;
}

int Export(int argc, char** argv) {
  std::vector<FlagSpec> specs = {kDataDir, {"org", "", "", "only this organisation's events"}};
  Flags flags;
  if (auto err = flags.Parse(specs, argc, argv, 2)) return UsageError(*err);
  if (flags.help()) {
    return std::printf("%s", Usage("export", "Writes the log as NDJSON to stdout, one event "
                                             "per line (verify it with verify --file).",
                                   specs).c_str()), 0;
  }
  if (Status s = RequireDataDir(flags.Get("data-dir")); !s.ok()) return Fail(s.message());
  auto ledger = OpenLedger(flags);
  if (!ledger.ok()) return Fail(ledger.status().message());
  std::string org = flags.Get("org");
  Status read = (*ledger)->store().ReadAll(1, [&](const events::Event& e) {
    if (org.empty() || e.org == org) std::cout << events::EncodeEvent(e) << '\n';
    return static_cast<bool>(std::cout);
  });
  std::cout.flush();
  if (!read.ok()) return Fail(read.ToString());
  // A full disk or a closed pipe: the export is incomplete, say so.
  if (!std::cout) return Fail("writing the export failed; it is incomplete");
  return 0;
}

int Version() {
  std::printf("ledgerflow %s (source %s)\n", LEDGERFLOW_VERSION, kSourceRevision);
  return 0;
}

// The keys of the data directory: offline, like keys create (the server must be stopped).
int KeysList(int argc, char** argv) {
  std::vector<FlagSpec> specs = {kDataDir, {"org", "", "", "only this organisation's keys"}};
  Flags flags;
  if (auto err = flags.Parse(specs, argc, argv, 3)) return UsageError(*err);
  if (flags.help()) {
    return std::printf("%s", Usage("keys list", "Lists the keys of every organisation (or one), "
                                                "never their secrets.",
                                   specs).c_str()), 0;
  }
  if (Status s = RequireDataDir(flags.Get("data-dir")); !s.ok()) return Fail(s.message());
  auto ledger = OpenLedger(flags);
  if (!ledger.ok()) return Fail(ledger.status().message());
  auto orgs = (*ledger)->key_view().ListOrgs();
  if (!orgs.ok()) return Fail(orgs.status().ToString());
  std::printf("%-22s %-8s %-16s %-24s %-8s %s\n", "ID", "ROLE", "ORG", "CREATED", "REVOKED",
              "NAME");
  for (const std::string& org : *orgs) {
    if (!flags.Get("org").empty() && org != flags.Get("org")) continue;
    auto keys = (*ledger)->key_view().ListKeys(org);
    if (!keys.ok()) return Fail(keys.status().ToString());
    for (const auto& k : *keys) {
      std::printf("%-22s %-8s %-16s %-24s %-8s %s\n", k.key_id.c_str(), core::RoleName(k.role),
                  org.c_str(), core::FormatRfc3339Millis(k.created_at_ms).c_str(),
                  k.revoked ? "yes" : "no", k.name.c_str());
    }
  }
  return 0;
}

int KeysRevoke(int argc, char** argv) {
  std::vector<FlagSpec> specs = {kDataDir};
  const bool has_id = argc > 3 && !std::string(argv[3]).starts_with("-");
  Flags flags;
  if (auto err = flags.Parse(specs, argc, argv, has_id ? 4 : 3)) return UsageError(*err);
  if (flags.help()) {
    return std::printf("%s", Usage("keys revoke KEY_ID", "Revokes a key: it is refused from "
                                                         "then on (the server must be stopped).",
                                   specs).c_str()), 0;
  }
  if (!has_id) return UsageError("keys revoke takes a KEY_ID");
  const std::string key_id = argv[3];
  if (Status s = RequireDataDir(flags.Get("data-dir")); !s.ok()) return Fail(s.message());
  auto ledger = OpenLedger(flags);
  if (!ledger.ok()) return Fail(ledger.status().message());
  auto key = (*ledger)->key_view().GetKey(key_id);
  if (!key.ok()) return Fail(key.status().ToString());
  if (!key->has_value()) return Fail("no key " + key_id + " in this data directory");
  // As its organisation's owner: the rules of the API (the last owner key stays) hold.
  service::Caller system{(*key)->org, "system", core::Role::kOwner, "cli"};
  if (Status s = (*ledger)->keys().RevokeKey(system, key_id); !s.ok()) return Fail(s.message());
  std::printf("revoked %s\n", key_id.c_str());
  return 0;
}

int Help() {
  std::printf(
      "usage: ledgerflow COMMAND [flags]\n\n"
      "commands:\n"
      "  serve          start the HTTP API\n"
      "  keys create    create an API key (prints it once)\n"
      "  keys list      list the keys of the data directory (never their secrets)\n"
      "  keys revoke    revoke a key\n"
      "  version        the version and source revision (also --version)\n"
      "  rebuild        drop the read models and replay the log\n"
      "  verify         recompute the hash chains (--file: an export)\n"
      "  export         write the log as NDJSON\n\n"
      "'ledgerflow COMMAND --help' describes each.\n\n"
      "exit codes: 0 done, 1 a failure, 2 a usage error\n");
  return 0;
}

}  // namespace
}  // namespace ledgerflow::app

int main(int argc, char** argv) {
  using namespace ledgerflow::app;
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "serve") return Serve(argc, argv);
  if (command == "keys" && argc > 2 && std::string(argv[2]) == "create") {
    return KeysCreate(argc, argv);
  }
  if (command == "keys" && argc > 2 && std::string(argv[2]) == "list") {
    return KeysList(argc, argv);
  }
  if (command == "keys" && argc > 2 && std::string(argv[2]) == "revoke") {
    return KeysRevoke(argc, argv);
  }
  if (command == "version" || command == "--version") return Version();
  if (command == "rebuild") return Rebuild(argc, argv);
  if (command == "verify") return Verify(argc, argv);
  if (command == "export") return Export(argc, argv);
  if (command == "" || command == "help" || command == "--help" || command == "-h") {
    return Help();
  }
  if (command == "keys") {
    const bool asked = argc > 2 && (std::string(argv[2]) == "--help" ||
                                    std::string(argv[2]) == "-h");
    std::fprintf(asked ? stdout : stderr,
                 "usage: ledgerflow keys create --org O --role R [--name N] [--data-dir D]\n"
                 "       ledgerflow keys list [--org O] [--data-dir D]\n"
                 "       ledgerflow keys revoke KEY_ID [--data-dir D]\n"
                 "'ledgerflow keys create --help' describes each.\n");
    return asked ? 0 : 2;
  }
  std::fprintf(stderr, "ledgerflow: unknown command '%s'\n", command.c_str());
  Help();
  return 2;
}
