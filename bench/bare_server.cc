// The baseline for bench/load.sh: a bare Pistache server with the same Pistache, the
// same thread count and the same keep-alive fix as `ledgerflow serve`, but no routing
// table, no auth, no storage. GET /bare answers a small JSON; POST /bare parses the
// body with RapidJSON (iteratively, as the API does) and answers 201 with a small JSON.
// Ledgerflow's throughput is reported as a ratio to this server's, measured in the
// same run on the same machine.
//
// With --group-commit-dir DIR, POST /bare is durable the least costly way there is:
// the handler queues its ResponseWriter with the parsed body, and one writer thread
// appends every queued body to RocksDB (DIR, default options) in one synced
// WriteBatch, then answers each (PITFALLS.md's "durable POST" row). No ids, no
// validation, no hash chain, no read models: what group commit alone costs with this
// Pistache and this RocksDB, the floor under a durable create.
//
//   bare_server [--port P] [--host H] [--threads N] [--max-body-bytes N]
//               [--group-commit-dir DIR]
// Prints "listening on PORT" once it accepts connections; stops on SIGINT/SIGTERM.
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <rapidjson/document.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Pistache::Http::Code;
using Pistache::Http::ConnectionControl;
namespace Header = Pistache::Http::Header;
namespace Mime = Pistache::Http::Mime;

// HTTP/1.1 keeps the connection unless the client said close (as api/http_handler.cc).
ConnectionControl ConnectionFor(const Pistache::Http::Request& request) {
  auto connection = request.headers().tryGet<Header::Connection>();
  if (connection) return connection->control();
  return request.version() == Pistache::Http::Version::Http11 ? ConnectionControl::KeepAlive
                                                              : ConnectionControl::Close;
}

// The writer of --group-commit-dir: one thread, one synced WriteBatch per group.
class GroupCommitLog {
 public:
  explicit GroupCommitLog(const std::string& dir) {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
    if (!s.ok()) {
      std::fprintf(stderr, "bare_server: open %s: %s\n", dir.c_str(), s.ToString().c_str());
      std::exit(1);
    }
    db_.reset(db);
    writer_ = std::thread([this] { Run(); });
  }
  ~GroupCommitLog() { Stop(); }

  void Append(std::string body, Pistache::Http::ResponseWriter response) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        queue_.push_back(Pending{std::move(body), std::move(response)});
        cv_.notify_one();
        return;
      }
    }
    response.send(Code::Service_Unavailable, R"({"error":"stopping"})", MIME(Application, Json));
  }

  // Answers everything queued, then stops the writer.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (writer_.joinable()) writer_.join();
  }

 private:
  struct Pending {
    std::string body;
    Pistache::Http::ResponseWriter response;
  };

  void Run() {
    std::vector<Pending> group;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        group.swap(queue_);
      }
      rocksdb::WriteBatch batch;
      for (const Pending& p : group) {
        char key[8];
        ++last_key_;
        for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(last_key_ >> (56 - 8 * i));
        batch.Put(rocksdb::Slice(key, sizeof key), p.body);
      }
      rocksdb::WriteOptions sync;
      sync.sync = true;
      const bool ok = db_->Write(sync, &batch).ok();
      for (Pending& p : group) {
        if (ok) {
          p.response.send(Code::Created, R"({"id":"bare_1"})", MIME(Application, Json));
        } else {
          p.response.send(Code::Internal_Server_Error, R"({"error":"write failed"})",
                          MIME(Application, Json));
        }
      }
      group.clear();
    }
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  uint64_t last_key_ = 0;
  std::thread writer_;
};

GroupCommitLog* group_commit = nullptr;  // set by --group-commit-dir

class BareHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(BareHandler)

  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override {
    const auto json = MIME(Application, Json);
    if (request.resource() != "/bare") {
      response.send(Code::Not_Found, R"({"error":"not found"})", json);
      return;
    }
    if (request.method() == Pistache::Http::Method::Get) {
      response.send(Code::Ok, R"({"status":"ok","service":"bare"})", json);
      return;
    }
    if (request.method() == Pistache::Http::Method::Post) {
      rapidjson::Document doc;
      const std::string& body = request.body();
      doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
      if (doc.HasParseError() || !doc.IsObject()) {
        response.send(Code::Bad_Request, R"({"error":"invalid json"})", json);
        return;
      }
      if (group_commit != nullptr) {
        group_commit->Append(body, std::move(response));
        return;
      }
      std::string answer = R"({"id":"bare_1","members":)";
      answer += std::to_string(doc.MemberCount());
      answer += "}";
      response.send(Code::Created, answer, json);
      return;
    }
    response.send(Code::Method_Not_Allowed, R"({"error":"method not allowed"})", json);
  }

 private:
  // Pistache 0.0.5's Handler::onInput answers "Connection: Close" to an HTTP/1.1
  // request without a Connection header; this is the same override as
  // api::HttpHandler::onInput, minus its JSON error envelopes.
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    auto parser = getParser(peer);
    auto& request = parser->request;
    try {
      if (!parser->feed(buffer, len)) {
        parser->reset();
        Pistache::Http::ResponseWriter response(request.version(), transport(), this, peer);
        response.headers().add<Header::Connection>(ConnectionControl::Close);
        response.send(Code::Request_Entity_Too_Large, R"({"error":"too large"})",
                      MIME(Application, Json));
        return;
      }
      auto state = parser->parse();
      if (state == Pistache::Http::Private::State::Done) {
        Pistache::Http::ResponseWriter response(request.version(), transport(), this, peer);
        request.copyAddress(peer->address());
        response.headers().add<Header::Connection>(ConnectionFor(request));
        peer->setIdle(false);
        onRequest(request, std::move(response));
        parser->reset();
      }
    } catch (const std::exception&) {
      Pistache::Http::ResponseWriter response(request.version(), transport(), this, peer);
      response.headers().add<Header::Connection>(ConnectionControl::Close);
      response.send(Code::Bad_Request, R"({"error":"bad request"})", MIME(Application, Json));
      parser->reset();
    }
  }
};

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: bare_server [--port P] [--host H] [--threads N] [--max-body-bytes N]\n"
               "                   [--group-commit-dir DIR]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 2;
  size_t max_body_bytes = 1024 * 1024;
  std::string group_commit_dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) Usage();
    const char* value = argv[++i];
    if (arg == "--port") {
      port = std::atoi(value);
    } else if (arg == "--host") {
      host = value;
    } else if (arg == "--threads") {
      threads = std::atoi(value);
    } else if (arg == "--max-body-bytes") {
      max_body_bytes = static_cast<size_t>(std::atoll(value));
    } else if (arg == "--group-commit-dir") {
      group_commit_dir = value;
    } else {
      Usage();
    }
  }
  if (threads < 1 || port < 0 || port > 65535) Usage();

  std::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<GroupCommitLog> log;
  if (!group_commit_dir.empty()) {
    log = std::make_unique<GroupCommitLog>(group_commit_dir);
    group_commit = log.get();
  }

  Pistache::Address address(host, Pistache::Port(static_cast<uint16_t>(port)));
  Pistache::Http::Endpoint endpoint(address);
  // Same sizing rule as api::Server: body limit plus a 64 KiB header allowance.
  endpoint.init(Pistache::Http::Endpoint::options()
                    .threads(threads)
                    .flags(Pistache::Tcp::Options::ReuseAddr)
                    .maxRequestSize(max_body_bytes + 64 * 1024));
  endpoint.setHandler(Pistache::Http::make_handler<BareHandler>());
  endpoint.serveThreaded();
  std::printf("listening on %u\n", static_cast<unsigned>(static_cast<uint16_t>(endpoint.getPort())));
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  if (log) log->Stop();
  endpoint.shutdown();
  return 0;
}
