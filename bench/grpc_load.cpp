// make bench-grpc's load generator for the gRPC interface: N clients, each on
// a channel of its own, for a fixed time, then one line of figures.
//
//   daisy_grpc_load stream <host:port> <app token> <clients> <events per message> <seconds> [<ahead>]
//   daisy_grpc_load submit <host:port> <app token> <clients> <form id> <seconds>
//
// stream: each client keeps one StreamEvents stream and keeps <ahead>
// messages (default 1) sent and not yet acknowledged: with 1, it sends a
// message, waits for its Ack, sends the next (as an HTTP client sends a batch
// and waits for its 202). The messages are made before the clock starts: 256
// per client, 100 sessions each lasting 8 messages, timestamps in the current
// second, as bench/event_batch.lua makes its bodies.
// submit: each client calls Submit in a loop with bench/submit.lua's answers.
//
// Output: "<calls/s> <events/s> <p50 ms> <p99 ms> <calls> <failures>". Loopback
// only; it stops by itself.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "daisy/v1/daisy.grpc.pb.h"

namespace {

namespace v1 = daisy::v1;
using Clock = std::chrono::steady_clock;

struct ClientResult {
  std::uint64_t calls = 0, events = 0, failures = 0;
  std::vector<double> latencies_ms;
};

std::shared_ptr<grpc::Channel> channel_to(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection of its own per client
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

std::vector<v1::EventBatch> make_batches(int client, int per_message) {
  std::vector<v1::EventBatch> batches(256);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  for (int b = 0; b < 256; ++b) {
    int generation = b / 8;
    for (int i = 0; i < per_message; ++i) {
      v1::Event* e = batches[b].add_events();
      char session[40];
      std::snprintf(session, sizeof session, "%08x-%04x-4000-8000-%012x", client, generation, i);
      e->set_session_id(session);
      e->set_category("page interaction");
      e->set_name("pageview");
      auto& fields = *e->mutable_data()->mutable_fields();
      fields["host"].set_string_value("example.org");
      fields["path"].set_string_value("/p/" + std::to_string(b * per_message + i));
      e->mutable_timestamp()->set_seconds(seconds);
      e->mutable_timestamp()->set_nanos(i * 1000);
    }
  }
  return batches;
}

void stream_client(const std::string& target, const std::string& token, const std::vector<v1::EventBatch>& batches,
                   int per_message, int ahead, Clock::time_point end, ClientResult& out) {
  auto stub = v1::Daisy::NewStub(channel_to(target));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  auto stream = stub->StreamEvents(&ctx);
  v1::Ack ack;
  std::deque<Clock::time_point> sent;  // when each unacknowledged message went
  std::size_t n = 0;
  bool broken = false;
  while (!broken && (Clock::now() < end || !sent.empty())) {
    while (Clock::now() < end && sent.size() < static_cast<std::size_t>(ahead)) {
      sent.push_back(Clock::now());
      if (!stream->Write(batches[n++ % batches.size()])) {
        broken = true;
        break;
      }
    }
    if (broken || sent.empty()) break;
    if (!stream->Read(&ack)) {
      broken = true;
      break;
    }
    out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent.front()).count());
    sent.pop_front();
    ++out.calls;
    out.events += ack.accepted();
    if (ack.accepted() != static_cast<std::uint32_t>(per_message)) ++out.failures;
  }
  if (broken) ++out.failures;
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (!status.ok()) std::fprintf(stderr, "stream: %s\n", status.error_message().c_str());
}

void submit_client(const std::string& target, const std::string& token, const std::string& form_id,
                   Clock::time_point end, ClientResult& out) {
  auto stub = v1::Daisy::NewStub(channel_to(target));
  v1::SubmitRequest request;
  request.set_form_id(form_id);
  // bench/submit.lua's body (bench/form.json's 10 questions; both rules pass).
  google::protobuf::util::JsonStringToMessage(
      R"({"name": "Ada Lovelace", "age": 36, "income": 5200.5, "savings": 800, "employed": true,
          "region": "north", "channels": ["sms", "email"], "born": "1815-12-10", "email": "ada@example.org",
          "phone": "+442071234567"})",
      request.mutable_answers());
  (*request.mutable_metadata()->mutable_fields())["device"].set_string_value("bench");
  while (Clock::now() < end) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::SubmitReply reply;
    auto t0 = Clock::now();
    grpc::Status status = stub->Submit(&ctx, request, &reply);
    out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ++out.calls;
    if (!status.ok()) {
      if (out.failures++ == 0) std::fprintf(stderr, "submit: %s\n", status.error_message().c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr,
                 "usage: %s stream <host:port> <token> <clients> <events per message> <seconds> [<ahead>]\n"
                 "       %s submit <host:port> <token> <clients> <form id> <seconds>\n",
                 argv[0], argv[0]);
    return 2;
  }
  std::string mode = argv[1], target = argv[2], token = argv[3], arg = argv[5];
  int clients = std::atoi(argv[4]);
  int seconds = std::atoi(argv[6]);
  int ahead = argc == 8 ? std::atoi(argv[7]) : 1;
  if (clients < 1 || seconds < 1 || (mode != "stream" && mode != "submit")) return 2;
  std::vector<ClientResult> results(static_cast<std::size_t>(clients));
  // Every client's messages are made before the clock starts.
  std::vector<std::vector<v1::EventBatch>> batches(static_cast<std::size_t>(clients));
  if (mode == "stream") {
    for (int c = 0; c < clients; ++c) batches[c] = make_batches(c, std::atoi(arg.c_str()));
  }
  std::vector<std::thread> threads;
  auto start = Clock::now() + std::chrono::milliseconds(200);  // every client connects first
  auto end = start + std::chrono::seconds(seconds);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::this_thread::sleep_until(start);
      if (mode == "stream") {
        stream_client(target, token, batches[c], std::atoi(arg.c_str()), ahead, end, results[c]);
      } else {
        submit_client(target, token, arg, end, results[c]);
      }
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  ClientResult total;
  for (auto& r : results) {
    total.calls += r.calls;
    total.events += r.events;
    total.failures += r.failures;
    total.latencies_ms.insert(total.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
  auto pct = [&](double p) {
    if (total.latencies_ms.empty()) return 0.0;
    return total.latencies_ms[std::min(total.latencies_ms.size() - 1,
                                       static_cast<std::size_t>(p * static_cast<double>(total.latencies_ms.size())))];
  };
  std::printf("%.0f %.0f %.2f %.2f %llu %llu\n", static_cast<double>(total.calls) / elapsed,
              static_cast<double>(total.events) / elapsed, pct(0.50), pct(0.99),
              static_cast<unsigned long long>(total.calls), static_cast<unsigned long long>(total.failures));
  return total.failures == 0 ? 0 : 1;
}
