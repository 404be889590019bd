// The baseline for bench/load.sh: a bare Pistache server with the same Pistache, the
// same thread count and the same keep-alive fix as `ledgerflow serve`, but no routing
// table, no auth, no storage. GET /bare answers a small JSON; POST /bare parses the
// body with RapidJSON (iteratively, as the API does) and answers 201 with a small JSON.
// Ledgerflow's throughput is reported as a ratio to this server's, measured in the
// same run on the same machine.
//
//   bare_server [--port P] [--host H] [--threads N] [--max-body-bytes N]
// Prints "listening on PORT" once it accepts connections; stops on SIGINT/SIGTERM.
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <rapidjson/document.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

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
               "usage: bare_server [--port P] [--host H] [--threads N] [--max-body-bytes N]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 2;
  size_t max_body_bytes = 1024 * 1024;
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
  endpoint.shutdown();
  return 0;
}
