// The gRPC interface (proto/daisy/v1/daisy.proto, docs/grpc.md) called with
// the C++ client generated from the repository's .proto: every method, its
// error codes with their details, idempotency, a stream cut mid-way, and
// that what gRPC stores is what HTTP reads back.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "daisy/v1/daisy.grpc.pb.h"
#include "fake_provider.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;
namespace v1 = daisy::v1;
using daisy::e2e::FakeProvider;

// A random (version 4) UUID, for sessions and event ids.
std::string new_session() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  std::uint64_t a = (rng() & ~0xF000ull) | 0x4000ull;
  std::uint64_t b = (rng() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(a >> 32),
                static_cast<unsigned long long>((a >> 16) & 0xFFFF), static_cast<unsigned long long>(a & 0xFFFF),
                static_cast<unsigned long long>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

class GrpcTest : public SharedServer<GrpcTest> {
 public:
  static DaisyProcess::Options options() { return {{"--allow-private-targets"}}; }

 protected:
  std::unique_ptr<v1::Daisy::Stub> stub() {
    EXPECT_GT(server().grpc_port(), 0) << "the server logged no gRPC port";
    auto channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server().grpc_port()), grpc::InsecureChannelCredentials());
    return v1::Daisy::NewStub(channel);
  }

  // A call's context with a deadline (so no test hangs) and the bearer token.
  static std::unique_ptr<grpc::ClientContext> call_as(std::string_view token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + 20s);
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + std::string(token));
    return ctx;
  }

  static google::protobuf::Struct to_struct(std::string_view json_text) {
    google::protobuf::Struct s;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(json_text), &s).ok()) << json_text;
    return s;
  }

  static std::string json_of(const google::protobuf::Message& m) {
    std::string out;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(m, &out).ok());
    return out;
  }

  // The fields a refusal's google.rpc.BadRequest names.
  static std::vector<std::string> violated_fields(const grpc::Status& status) {
    google::rpc::Status details;
    google::rpc::BadRequest bad;
    std::vector<std::string> fields;
    if (!details.ParseFromString(status.error_details())) {
      ADD_FAILURE() << "grpc-status-details-bin is not a google.rpc.Status";
      return fields;
    }
    EXPECT_EQ(details.code(), static_cast<int>(status.error_code()));
    if (details.details_size() != 1 || !details.details(0).UnpackTo(&bad)) {
      ADD_FAILURE() << "the details hold no google.rpc.BadRequest";
      return fields;
    }
    for (const auto& v : bad.field_violations()) {
      EXPECT_FALSE(v.description().empty()) << v.field();
      fields.push_back(v.field());
    }
    return fields;
  }

  static v1::Event event(const std::string& session, std::string_view name, const std::string& id = {}) {
    v1::Event e;
    e.set_id(id);
    e.set_session_id(session);
    e.set_category("ui");
    e.set_name(std::string(name));
    *e.mutable_data() = to_struct(R"({"n": 1, "tags": ["a", "b"], "nested": {"ok": true}})");
    e.mutable_timestamp()->set_seconds(1'700'000'000);
    e.mutable_timestamp()->set_nanos(123'000'000);
    return e;
  }

  // The events of a session as GET /v1/events shows them.
  std::vector<json::value> session_events(const App& app, const std::string& session) {
    return read_all_pages(server(), "/v1/events", bearer(app.token), "session_id=" + session, 1000);
  }

  // How many lines of the server's log hold `needle`.
  std::size_t log_count(const std::string& needle) {
    std::string log = server().err_text();
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }

  // Call lines are written when gRPC is done with the call: waited for, up to 10 s.
  bool log_grows_from(const std::string& needle, std::size_t before) {
    for (int i = 0; i < 100 && log_count(needle) <= before; ++i) std::this_thread::sleep_for(100ms);
    return log_count(needle) > before;
  }

  // daisy_grpc_calls_total{method, code} in /metrics (-1: no such series).
  int calls_counted(std::string_view method, std::string_view code) {
    HttpResponse metrics = server().get("/metrics");
    const std::string series =
        "daisy_grpc_calls_total{method=\"" + std::string(method) + "\",code=\"" + std::string(code) + "\"} ";
    auto at = metrics.body.find(series);
    return at == std::string::npos ? -1 : std::atoi(metrics.body.c_str() + at + series.size());
  }

  std::string survey_form() {
    return create_form_id(server(), J(R"({"title": "grpc", "questions": [
      {"key": "name", "type": "text", "required": true},
      {"key": "age", "type": "integer"}]})"));
  }
};

TEST_F(GrpcTest, SubmitStoresTheResponseAndAKeyRepeatedAnswersItAgain) {
  std::string form_id = survey_form();
  App app = make_app(server(), unique("grpc-submit"));
  auto daisy = stub();

  v1::SubmitRequest request;
  request.set_form_id(form_id);
  *request.mutable_answers() = to_struct(R"({"name": "Ada", "age": 36})");
  *request.mutable_metadata() = to_struct(R"({"device": "tablet-7"})");
  request.set_idempotency_key("grpc-key-1");
  v1::SubmitReply reply;
  grpc::Status status = daisy->Submit(call_as(app.token).get(), request, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  json::value stored = J(json_of(reply.response()));
  std::string id = str(stored, "id");
  ASSERT_FALSE(id.empty()) << dump(stored);
  EXPECT_EQ(str(stored, "form_id"), form_id);
  EXPECT_EQ(str(at(stored, "answers"), "name"), "Ada");
  EXPECT_FALSE(reply.replayed());

  // Read back over HTTP: the same response.
  HttpResponse read = server().get(responses_path(form_id) + "/" + id, server().admin());
  ASSERT_EQ(read.status, 200) << read.summary();
  EXPECT_EQ(str(at(read.json(), "answers"), "name"), "Ada");
  EXPECT_EQ(num(at(read.json(), "answers"), "age"), 36);
  EXPECT_EQ(str(at(read.json(), "metadata"), "device"), "tablet-7");

  // The same request under the same key: the stored response, not a second one.
  v1::SubmitReply again;
  status = daisy->Submit(call_as(app.token).get(), request, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(str(J(json_of(again.response())), "id"), id);
  EXPECT_EQ(list_all_responses(server(), form_id).size(), 1u);

  // Another request under that key: ALREADY_EXISTS, nothing stored.
  *request.mutable_answers() = to_struct(R"({"name": "Grace"})");
  v1::SubmitReply refused;
  status = daisy->Submit(call_as(app.token).get(), request, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
  EXPECT_EQ(list_all_responses(server(), form_id).size(), 1u);
}

TEST_F(GrpcTest, SubmitRefusalsCarryTheirCodeAndNameTheFields) {
  std::string form_id = survey_form();
  auto daisy = stub();
  v1::SubmitReply reply;

  v1::SubmitRequest missing;  // no name, and an age that is not an integer
  missing.set_form_id(form_id);
  *missing.mutable_answers() = to_struct(R"({"age": "old"})");
  grpc::Status status = daisy->Submit(call_as(kAdminToken).get(), missing, &reply);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  auto fields = violated_fields(status);
  EXPECT_TRUE(std::find(fields.begin(), fields.end(), "name") != fields.end()) << ::testing::PrintToString(fields);
  EXPECT_TRUE(std::find(fields.begin(), fields.end(), "age") != fields.end()) << ::testing::PrintToString(fields);

  v1::SubmitRequest bad_fields;  // no answers at all, a key that is not visible ASCII, a date in the future
  bad_fields.set_form_id(form_id);
  bad_fields.set_idempotency_key("two words");
  bad_fields.mutable_submitted_at()->set_seconds(4'000'000'000);
  status = daisy->Submit(call_as(kAdminToken).get(), bad_fields, &reply);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  fields = violated_fields(status);
  EXPECT_EQ(std::set<std::string>(fields.begin(), fields.end()),
            (std::set<std::string>{"answers", "idempotency_key", "submitted_at"}));

  v1::SubmitRequest unknown;
  unknown.set_form_id("0193a1b2-c3d4-7000-8000-123456789abc");
  *unknown.mutable_answers() = to_struct(R"({"name": "x"})");
  status = daisy->Submit(call_as(kAdminToken).get(), unknown, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();

  v1::SubmitRequest fine;
  fine.set_form_id(form_id);
  *fine.mutable_answers() = to_struct(R"({"name": "x"})");
  status = daisy->Submit(call_as("").get(), fine, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  status = daisy->Submit(call_as("dsy_app_not-a-real-token").get(), fine, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_all_responses(server(), form_id).size(), 0u) << "a refused submission was stored";

  // Each refusal is counted by method and code.
  HttpResponse metrics = server().get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  for (std::string_view code : {"INVALID_ARGUMENT", "NOT_FOUND", "UNAUTHENTICATED"}) {
    std::string series = "daisy_grpc_calls_total{method=\"daisy.v1.Daisy/Submit\",code=\"" + std::string(code) + "\"} ";
    auto at_series = metrics.body.find(series);
    ASSERT_NE(at_series, std::string::npos) << series;
    EXPECT_GE(std::atoi(metrics.body.c_str() + at_series + series.size()), code == "UNAUTHENTICATED" ? 2 : 1) << series;
  }
}

TEST_F(GrpcTest, SendEventsStoresTheAcceptedOnesAndNamesWhatIsWrongWithTheOthers) {
  App app = make_app(server(), unique("grpc-events"));
  auto daisy = stub();
  std::string session = new_session();

  v1::EventBatch batch;
  *batch.add_events() = event(session, "open");
  *batch.add_events() = event("not-a-uuid", "broken");
  *batch.add_events() = event(session, "close");
  v1::BatchReply reply;
  grpc::Status status = daisy->SendEvents(call_as(app.token).get(), batch, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.accepted(), 2u);
  ASSERT_EQ(reply.ids_size(), 2);
  ASSERT_EQ(reply.rejected_size(), 1);
  EXPECT_EQ(reply.rejected(0).index(), 1u);
  ASSERT_GE(reply.rejected(0).errors_size(), 1);
  EXPECT_EQ(reply.rejected(0).errors(0).field(), "session_id");

  auto stored = session_events(app, session);
  ASSERT_EQ(stored.size(), 2u);
  std::set<std::string> names{str(stored[0], "name"), str(stored[1], "name")};
  EXPECT_EQ(names, (std::set<std::string>{"open", "close"}));
  EXPECT_EQ(num(at(stored[0], "data"), "n"), 1);
  EXPECT_EQ(arr(at(stored[0], "data"), "tags").size(), 2u);
  EXPECT_EQ(str(stored[0], "timestamp"), "2023-11-14T22:13:20.123Z");

  // The rejected one is kept for monitoring, with its reason.
  HttpResponse rejections = server().get("/v1/events/rejections?app_id=" + app.id, server().admin());
  ASSERT_EQ(rejections.status, 200) << rejections.summary();
  EXPECT_NE(rejections.body.find("session_id"), std::string::npos) << rejections.body;

  // No event accepted: INVALID_ARGUMENT naming each event's field.
  v1::EventBatch all_bad;
  *all_bad.add_events() = event("nope", "x");
  v1::Event nameless = event(session, "");
  *all_bad.add_events() = nameless;
  status = daisy->SendEvents(call_as(app.token).get(), all_bad, &reply);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto fields = violated_fields(status);
  EXPECT_TRUE(std::find(fields.begin(), fields.end(), "events[0].session_id") != fields.end())
      << ::testing::PrintToString(fields);
  EXPECT_TRUE(std::find(fields.begin(), fields.end(), "events[1].name") != fields.end())
      << ::testing::PrintToString(fields);

  v1::EventBatch empty;
  status = daisy->SendEvents(call_as(app.token).get(), empty, &reply);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(violated_fields(status), std::vector<std::string>{"events"});

  // Events are an app's: the admin token is refused.
  status = daisy->SendEvents(call_as(kAdminToken).get(), batch, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(session_events(app, session).size(), 2u);
}

TEST_F(GrpcTest, StreamEventsAcknowledgesEachMessageInOrderAfterItsCommit) {
  App app = make_app(server(), unique("grpc-stream"));
  auto daisy = stub();
  std::string session = new_session();
  auto ctx = call_as(app.token);
  auto stream = daisy->StreamEvents(ctx.get());
  for (int m = 0; m < 5; ++m) {
    v1::EventBatch batch;
    for (int i = 0; i < 10; ++i) *batch.add_events() = event(session, "m" + std::to_string(m));
    if (m == 2) *batch.add_events() = event("bad", "bad");  // one rejected in the third message
    ASSERT_TRUE(stream->Write(batch));
    v1::Ack ack;
    ASSERT_TRUE(stream->Read(&ack));
    EXPECT_EQ(ack.sequence(), static_cast<std::uint64_t>(m + 1));
    EXPECT_EQ(ack.accepted(), 10u);
    EXPECT_EQ(ack.ids_size(), 10);
    EXPECT_EQ(ack.rejected_size(), m == 2 ? 1 : 0);
    // Acknowledged means stored: it is read back at once.
    EXPECT_EQ(session_events(app, session).size(), static_cast<std::size_t>((m + 1) * 10));
  }
  ASSERT_TRUE(stream->WritesDone());
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();

  // An empty message ends the stream with INVALID_ARGUMENT; what came before stays.
  auto ctx2 = call_as(app.token);
  auto second = daisy->StreamEvents(ctx2.get());
  ASSERT_TRUE(second->Write(v1::EventBatch()));
  v1::Ack none;
  EXPECT_FALSE(second->Read(&none));
  EXPECT_EQ(second->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  auto ctx3 = call_as(kAdminToken);
  auto as_admin = daisy->StreamEvents(ctx3.get());
  as_admin->Write(v1::EventBatch());
  EXPECT_EQ(as_admin->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(session_events(app, session).size(), 50u);
}

TEST_F(GrpcTest, MessagesSentAheadOfTheirAcksAreAcknowledgedInOrder) {
  App app = make_app(server(), unique("grpc-ahead"));
  auto daisy = stub();
  std::string session = new_session();
  auto ctx = call_as(app.token);
  auto stream = daisy->StreamEvents(ctx.get());
  // Twelve messages before reading any ack (more than the server works on at
  // once), message m holding m events named "m<m>".
  for (int m = 1; m <= 12; ++m) {
    v1::EventBatch batch;
    for (int i = 0; i < m; ++i) *batch.add_events() = event(session, "m" + std::to_string(m));
    ASSERT_TRUE(stream->Write(batch));
  }
  std::vector<v1::Ack> acks(12);
  for (int m = 1; m <= 12; ++m) ASSERT_TRUE(stream->Read(&acks[m - 1])) << "ack " << m;
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
  std::map<std::string, std::string> name_of_id;
  for (const auto& e : session_events(app, session)) name_of_id[str(e, "id")] = str(e, "name");
  for (int m = 1; m <= 12; ++m) {
    const v1::Ack& ack = acks[m - 1];
    EXPECT_EQ(ack.sequence(), static_cast<std::uint64_t>(m));
    ASSERT_EQ(ack.ids_size(), m) << "ack " << m << " carries another message's ids";
    for (const auto& id : ack.ids()) EXPECT_EQ(name_of_id[id], "m" + std::to_string(m)) << id;
  }
  EXPECT_EQ(name_of_id.size(), 78u);
}

TEST_F(GrpcTest, AStreamCutMidwayLosesNoAckedEventAndAResendStoresNoneTwice) {
  App app = make_app(server(), unique("grpc-cut"));
  auto daisy = stub();
  std::string session = new_session();
  std::vector<v1::EventBatch> batches(4);
  for (int m = 0; m < 4; ++m) {
    for (int i = 0; i < 25; ++i) *batches[m].add_events() = event(session, "cut", new_session());
  }
  const std::string cut_line = "msg=call transport=grpc method=/daisy.v1.Daisy/StreamEvents code=CANCELLED";
  std::size_t cut_before = log_count(cut_line);
  {
    auto ctx = call_as(app.token);
    auto stream = daisy->StreamEvents(ctx.get());
    for (int m = 0; m < 3; ++m) {
      ASSERT_TRUE(stream->Write(batches[m]));
      v1::Ack ack;
      ASSERT_TRUE(stream->Read(&ack));
      EXPECT_EQ(ack.accepted(), 25u);
    }
    ctx->TryCancel();  // the connection is cut before the fourth message
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(session_events(app, session).size(), 75u) << "every acknowledged event is stored";
  EXPECT_TRUE(log_grows_from(cut_line, cut_before)) << "logged as the client saw it end\n" << server().err_text();

  // The producer resends everything from its first message: acked again, stored once.
  auto ctx = call_as(app.token);
  auto stream = daisy->StreamEvents(ctx.get());
  for (int m = 0; m < 4; ++m) {
    ASSERT_TRUE(stream->Write(batches[m]));
    v1::Ack ack;
    ASSERT_TRUE(stream->Read(&ack));
    EXPECT_EQ(ack.accepted(), 25u) << "a repeat is acknowledged again";
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  auto stored = session_events(app, session);
  EXPECT_EQ(stored.size(), 100u);
  std::set<std::string> ids;
  for (const auto& e : stored) ids.insert(str(e, "id"));
  EXPECT_EQ(ids.size(), 100u) << "an event was stored twice";
}

TEST_F(GrpcTest, JobsAreReadAsHttpShowsThem) {
  App app = make_app(server(), unique("grpc-jobs"));
  // A webhook to a closed port: its jobs are made and fail, and stay listed.
  HttpResponse hook = server().request(
      "POST", "/v1/integrations", admin_json(),
      dump(json::object{{"name", "hook"},
                        {"source", json::object{{"app_id", app.id}}},
                        {"type", "webhook"},
                        {"config", json::object{{"url", "http://127.0.0.1:9/hook"}, {"timeout_ms", 2000}}}}));
  ASSERT_EQ(hook.status, 201) << hook.summary();
  std::string integration_id = str(hook.json(), "id");
  auto daisy = stub();
  v1::EventBatch batch;
  std::string session = new_session();
  for (int i = 0; i < 3; ++i) *batch.add_events() = event(session, "job");
  v1::BatchReply sent;
  grpc::Status status = daisy->SendEvents(call_as(app.token).get(), batch, &sent);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(sent.actions_size(), 3);
  std::string job_id = sent.actions(0).job_id();
  ASSERT_FALSE(job_id.empty());
  EXPECT_EQ(sent.actions(0).integration_id(), integration_id);

  v1::GetJobRequest get;
  get.set_id(job_id);
  v1::Job job;
  status = daisy->GetJob(call_as(kAdminToken).get(), get, &job);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(job.id(), job_id);
  EXPECT_EQ(job.integration_id(), integration_id);
  EXPECT_EQ(job.type(), "event.created");
  EXPECT_FALSE(job.status().empty());
  EXPECT_EQ(job.data().struct_value().fields().at("session_id").string_value(), session);
  HttpResponse over_http = server().get("/v1/jobs/" + job_id, server().admin());
  ASSERT_EQ(over_http.status, 200);
  EXPECT_EQ(str(over_http.json(), "source_id"), job.source_id());
  EXPECT_EQ(str(over_http.json(), "created_at"), job.created_at());

  // A page of one, then the rest from its cursor.
  v1::ListJobsRequest list;
  list.set_integration_id(integration_id);
  list.set_limit(1);
  v1::JobPage page;
  status = daisy->ListJobs(call_as(kAdminToken).get(), list, &page);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(page.items_size(), 1);
  ASSERT_FALSE(page.next_cursor().empty());
  std::set<std::string> seen{page.items(0).id()};
  list.set_limit(10);
  list.set_after(page.next_cursor());
  v1::JobPage rest;
  status = daisy->ListJobs(call_as(kAdminToken).get(), list, &rest);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(rest.items_size(), 2);
  EXPECT_TRUE(rest.next_cursor().empty());
  for (const auto& j : rest.items()) seen.insert(j.id());
  std::set<std::string> made;
  for (const auto& a : sent.actions()) made.insert(a.job_id());
  EXPECT_EQ(seen, made);

  // Refusals: an app token, an unknown job, a bad filter.
  status = daisy->GetJob(call_as(app.token).get(), get, &job);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  get.set_id("0193a1b2-c3d4-7000-8000-000000000000");
  status = daisy->GetJob(call_as(kAdminToken).get(), get, &job);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListJobsRequest bad;
  bad.set_status("finished");
  bad.set_limit(5000);
  status = daisy->ListJobs(call_as(kAdminToken).get(), bad, &page);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto fields = violated_fields(status);
  EXPECT_EQ(std::set<std::string>(fields.begin(), fields.end()), (std::set<std::string>{"status", "limit"}));
}

TEST_F(GrpcTest, WatchSendsWhatIsCommittedAndResumesAfterACursor) {
  App app = make_app(server(), unique("grpc-watch"));
  auto daisy = stub();
  std::string session = new_session();
  v1::WatchRequest request;
  request.add_types("event.created");
  auto ctx = call_as(app.token);
  auto watch = daisy->Watch(ctx.get(), request);
  // The server sends its headers once the watch is subscribed.
  watch->WaitForInitialMetadata();

  auto send = [&](std::string_view name) {
    v1::EventBatch batch;
    *batch.add_events() = event(session, name);
    v1::BatchReply reply;
    grpc::Status status = daisy->SendEvents(call_as(app.token).get(), batch, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
  };
  send("first");
  v1::Change change;
  ASSERT_TRUE(watch->Read(&change));
  EXPECT_EQ(change.type(), "event.created");
  EXPECT_EQ(change.data().fields().at("session_id").string_value(), session);
  EXPECT_EQ(change.data().fields().at("name").string_value(), "first");
  std::string cursor = change.cursor();
  ASSERT_FALSE(cursor.empty());
  ctx->TryCancel();
  watch->Finish();

  // Missed while away, read on resuming after the cursor.
  send("second");
  v1::WatchRequest resume = request;
  resume.set_after(cursor);
  auto ctx2 = call_as(app.token);
  auto again = daisy->Watch(ctx2.get(), resume);
  ASSERT_TRUE(again->Read(&change));
  EXPECT_EQ(change.type(), "event.created");
  EXPECT_EQ(change.data().fields().at("name").string_value(), "second");
  ctx2->TryCancel();
  again->Finish();

  // An app token may not watch job updates; a type that does not exist is named.
  v1::WatchRequest jobs;
  jobs.add_types("job.updated");
  auto ctx3 = call_as(app.token);
  auto refused = daisy->Watch(ctx3.get(), jobs);
  EXPECT_FALSE(refused->Read(&change));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::WatchRequest unknown;
  unknown.add_types("event.exploded");
  auto ctx4 = call_as(app.token);
  auto bad = daisy->Watch(ctx4.get(), unknown);
  EXPECT_FALSE(bad->Read(&change));
  grpc::Status status = bad->Finish();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(violated_fields(status), std::vector<std::string>{"types[0]"});
}

// A cursor whose place the ring no longer holds (here one of a Change read
// back, "<epoch>-0-<ms>", as after a restart or through another node): what
// was missed since its time is read back from the store, as GET /v1/stream
// does, with no gap, and an app reads back only its own.
TEST_F(GrpcTest, WatchResumingBeyondTheRingReadsBackWhatWasMissedFromTheStore) {
  App app = make_app(server(), unique("grpc-watch-back"));
  App other = make_app(server(), unique("grpc-watch-other"));
  auto daisy = stub();
  std::string session = new_session();
  auto send = [&](const App& to, std::string_view name) {
    v1::EventBatch batch;
    *batch.add_events() = event(session, name);
    v1::BatchReply reply;
    grpc::Status status = daisy->SendEvents(call_as(to.token).get(), batch, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return reply.ids_size() == 1 ? reply.ids(0) : std::string();
  };
  v1::WatchRequest request;
  request.add_types("event.created");
  request.add_types("response.created");
  auto ctx = call_as(app.token);
  auto watch = daisy->Watch(ctx.get(), request);
  watch->WaitForInitialMetadata();
  send(app, "seen");
  v1::Change change;
  ASSERT_TRUE(watch->Read(&change));
  ASSERT_EQ(change.type(), "event.created");
  // "<epoch>-<n>-<ms>" -> "<epoch>-0-<ms>": the same time, no place in the ring.
  std::string cursor = change.cursor();
  std::size_t first_dash = cursor.find('-'), last_dash = cursor.rfind('-');
  ASSERT_TRUE(first_dash != std::string::npos && last_dash > first_dash) << cursor;
  std::string beyond = cursor.substr(0, first_dash) + "-0" + cursor.substr(last_dash);
  ctx->TryCancel();
  watch->Finish();

  // Missed while away: an event and a response of this app, an event of another.
  std::string missed_event = send(app, "missed");
  std::string others_event = send(other, "not yours");
  HttpResponse response = submit(server(), survey_form(), J(R"({"name": "Ada"})"), {}, app.token);
  ASSERT_EQ(response.status, 201) << response.summary();
  std::string missed_response = str(response.json(), "id");

  v1::WatchRequest resume = request;
  resume.set_after(beyond);
  auto ctx2 = call_as(app.token);
  auto again = daisy->Watch(ctx2.get(), resume);
  std::set<std::string> seen;
  const std::set<std::string> expected = {"event.created " + missed_event, "response.created " + missed_response};
  while (!std::includes(seen.begin(), seen.end(), expected.begin(), expected.end()) && again->Read(&change)) {
    EXPECT_NE(change.type(), "gap") << json_of(change);
    EXPECT_FALSE(change.cursor().empty());
    auto id = change.data().fields().find("id");
    seen.insert(change.type() + " " + (id == change.data().fields().end() ? "" : id->second.string_value()));
  }
  ctx2->TryCancel();
  again->Finish();
  EXPECT_TRUE(seen.count("event.created " + missed_event)) << testing::PrintToString(seen);
  EXPECT_TRUE(seen.count("response.created " + missed_response)) << testing::PrintToString(seen);
  EXPECT_FALSE(seen.count("event.created " + others_event)) << testing::PrintToString(seen);
}

// Each call is one log line when it ends, as each HTTP request is one access
// line: its method, its status code, its duration and the peer.
TEST_F(GrpcTest, EachCallIsLoggedWhenItEnds) {
  auto daisy = stub();
  const std::string not_found = "msg=call transport=grpc method=/daisy.v1.Daisy/GetJob code=NOT_FOUND duration_ms=";
  std::size_t before = log_count(not_found);
  v1::GetJobRequest get;
  get.set_id(new_session());
  v1::Job job;
  ASSERT_EQ(daisy->GetJob(call_as(kAdminToken).get(), get, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(log_grows_from(not_found, before)) << server().err_text();
  std::string log = server().err_text();
  std::size_t line = log.rfind(not_found);
  ASSERT_NE(line, std::string::npos);
  std::string rest = log.substr(line, log.find('\n', line) - line);
  EXPECT_NE(rest.find(" peer=ipv4:127.0.0.1:"), std::string::npos) << rest;

  // A watch the client cancels: CANCELLED.
  const std::string cancelled = "msg=call transport=grpc method=/daisy.v1.Daisy/Watch code=CANCELLED duration_ms=";
  before = log_count(cancelled);
  v1::WatchRequest request;
  request.add_types("event.created");
  auto ctx = call_as(kAdminToken);
  auto watch = daisy->Watch(ctx.get(), request);
  watch->WaitForInitialMetadata();
  ctx->TryCancel();
  watch->Finish();
  EXPECT_TRUE(log_grows_from(cancelled, before)) << server().err_text();
  // ...and counted so in /metrics (docs/grpc.md).
  EXPECT_GE(calls_counted("daisy.v1.Daisy/Watch", "CANCELLED"), 1);
}

// A unary call whose deadline passes while it works (here a Submit waiting on
// a slow sync webhook) is logged and counted as its client saw it end, not
// with the OK its handler reaches later; its write committed, so a resend
// with its idempotency key answers the stored response.
TEST_F(GrpcTest, AUnaryCallWhoseDeadlinePassedIsLoggedAsTheClientSawIt) {
  FakeProvider receiver;
  receiver.set("/slow",
               FakeProvider::Reply{.status = 200, .body = "{}", .content_type = "application/json", .delay = 1500ms});
  std::string form_id = survey_form();
  HttpResponse hook = server().request(
      "POST", "/v1/integrations", admin_json(),
      dump(json::object{{"name", "slow"},
                        {"source", json::object{{"form_id", form_id}}},
                        {"type", "webhook"},
                        {"mode", "sync"},
                        {"config", json::object{{"url", receiver.url("/slow")}, {"timeout_ms", 5000}}}}));
  ASSERT_EQ(hook.status, 201) << hook.summary();
  const std::string late = "msg=call transport=grpc method=/daisy.v1.Daisy/Submit code=DEADLINE_EXCEEDED duration_ms=";
  std::size_t before = log_count(late);
  int counted_before = std::max(calls_counted("daisy.v1.Daisy/Submit", "DEADLINE_EXCEEDED"), 0);

  auto daisy = stub();
  v1::SubmitRequest request;
  request.set_form_id(form_id);
  *request.mutable_answers() = to_struct(R"({"name": "Ada"})");
  request.set_idempotency_key(unique("late"));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 300ms);
  ctx.AddMetadata("authorization", "Bearer " + std::string(kAdminToken));
  v1::SubmitReply reply;
  ASSERT_EQ(daisy->Submit(&ctx, request, &reply).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(log_grows_from(late, before)) << server().err_text();
  EXPECT_EQ(calls_counted("daisy.v1.Daisy/Submit", "DEADLINE_EXCEEDED"), counted_before + 1);

  grpc::Status again = daisy->Submit(call_as(kAdminToken).get(), request, &reply);
  ASSERT_TRUE(again.ok()) << again.error_message();
  EXPECT_TRUE(reply.replayed());
}

class GrpcStopTest : public OwnedServers {};

// A stop begins for both transports at once: while HTTP lets a request in
// progress finish, the gRPC port takes no new call (UNAVAILABLE), and the
// process then exits cleanly.
TEST_F(GrpcStopTest, WhileHttpDrainsTheGrpcPortTakesNoNewCall) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  const std::string address = "127.0.0.1:" + std::to_string(d.grpc_port());
  auto daisy = v1::Daisy::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  auto get_job = [&](v1::Daisy::Stub& stub) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    ctx.AddMetadata("authorization", "Bearer " + std::string(kAdminToken));
    v1::GetJobRequest get;
    get.set_id("0193a1b2-c3d4-7000-8000-000000000000");
    v1::Job job;
    return stub.GetJob(&ctx, get, &job).error_code();
  };
  ASSERT_EQ(get_job(*daisy), grpc::StatusCode::NOT_FOUND);  // serving

  // An HTTP request in progress keeps the HTTP server in its grace.
  Client c = d.connect();
  std::string body = R"({"name":"in flight at the stop"})";
  ASSERT_TRUE(begin_held_request(c, "/v1/apps", body.size()));
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_for_err("msg=\"stopping\"")) << d.err_tail();
  // Refused (the gRPC server closes its port as its shutdown begins, on a
  // thread of its own: waited for, up to 10 s): UNAVAILABLE on a new
  // connection, CANCELLED or UNAVAILABLE on the one already open.
  grpc::StatusCode on_new_connection = grpc::StatusCode::OK;
  for (int i = 0; i < 100 && on_new_connection != grpc::StatusCode::UNAVAILABLE; ++i) {
    if (i > 0) std::this_thread::sleep_for(100ms);
    auto fresh = v1::Daisy::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    on_new_connection = get_job(*fresh);
  }
  EXPECT_EQ(on_new_connection, grpc::StatusCode::UNAVAILABLE);
  grpc::StatusCode on_open_connection = get_job(*daisy);
  EXPECT_TRUE(on_open_connection == grpc::StatusCode::CANCELLED || on_open_connection == grpc::StatusCode::UNAVAILABLE)
      << on_open_connection;
  ASSERT_TRUE(d.running()) << "the HTTP request kept the process in its grace";

  ASSERT_TRUE(c.send_raw(body));
  EXPECT_EQ(c.read_response().status, 201);
  ExitStatus stopped = d.wait_exit(60s);
  EXPECT_TRUE(stopped.exited && stopped.code == 0) << stopped.describe();
}

}  // namespace
}  // namespace daisy_e2e
