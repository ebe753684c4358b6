// GET /v1/forms/{id}/responses/export end to end: CSV (RFC 4180), NDJSON and
// XLSX, streamed with chunked transfer encoding, read whole and decoded here
// (the workbooks by Debian's openpyxl, a real reader).
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;

class ExportTest : public SharedServer<ExportTest> {
 public:
  static DaisyProcess::Options options() { return {}; }

 protected:
  static std::string export_path(std::string_view form_id, std::string_view format) {
    return responses_path(form_id) + "/export?format=" + std::string(format);
  }

  // The export, checked to be a complete chunked 200 reply.
  static std::string fetch(std::string_view form_id, std::string_view format) {
    Streamed s = get_streamed(server().port(), export_path(form_id, format), server().admin());
    const HttpResponse& r = s.response;
    EXPECT_EQ(r.status, 200) << r.summary();
    EXPECT_TRUE(s.chunked) << "Transfer-Encoding: " << r.header("Transfer-Encoding");
    EXPECT_TRUE(s.terminated) << "the stream did not end with the last chunk";
    EXPECT_FALSE(r.has_header("Content-Length"));
    if (format == "csv") {
      EXPECT_EQ(r.header("Content-Type").rfind("text/csv", 0), 0u) << r.header("Content-Type");
    } else if (format == "xlsx") {
      EXPECT_EQ(r.header("Content-Type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    } else {
      EXPECT_EQ(r.header("Content-Type"), "application/x-ndjson");
    }
    EXPECT_NE(r.header("Content-Disposition").find("responses-" + std::string(form_id) + "." + std::string(format)),
              std::string::npos)
        << r.header("Content-Disposition");
    return r.body;
  }

  static std::vector<std::vector<std::string>> fetch_csv(std::string_view form_id) {
    std::string body = fetch(form_id, "csv");
    std::string why;
    auto rows = parse_csv(body, why);
    if (!rows) {
      ADD_FAILURE() << "the export is not RFC 4180 CSV: " << why << "\n" << body.substr(0, 2000);
      return {};
    }
    return *rows;
  }

  // The cells of the workbook's sheets as openpyxl reads them: per sheet, its
  // title and rows; per cell [value as text or null, openpyxl's data type
  // ("s", "n", "b", "d"), number format].
  static json::value read_xlsx(const std::string& body) {
    auto path = std::filesystem::temp_directory_path() / ("daisy-e2e-" + fx::unique("xlsx") + ".xlsx");
    std::ofstream(path, std::ios::binary) << body;
    // Debian's interpreter: python3-openpyxl is installed for it.
    std::string cmd =
        "/usr/bin/python3 -c '"
        "import json, sys, openpyxl\n"
        "wb = openpyxl.load_workbook(sys.argv[1])\n"
        "cell = lambda c: [None if c.value is None else (c.value.isoformat() if c.data_type == \"d\" "
        "else str(c.value)), c.data_type, c.number_format]\n"
        "print(json.dumps([[ws.title, [[cell(c) for c in row] for row in ws.iter_rows()]] "
        "for ws in wb.worksheets]))' " +
        path.string() + " 2>&1";
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
      ::pclose(p);
    }
    std::filesystem::remove(path);
    boost::system::error_code ec;
    json::value v = json::parse(out, ec);
    if (ec) ADD_FAILURE() << "openpyxl could not read the workbook: " << out.substr(0, 2000);
    return v;
  }

  // Splits NDJSON into parsed lines; every line must end with \n and parse.
  static std::vector<json::value> fetch_ndjson(std::string_view form_id) {
    std::string body = fetch(form_id, "ndjson");
    std::vector<json::value> out;
    if (!body.empty() && body.back() != '\n') ADD_FAILURE() << "the last line does not end with \\n";
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t eol = body.find('\n', pos);
      if (eol == std::string::npos) eol = body.size();
      std::string_view line(body.data() + pos, eol - pos);
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (ec || !v.is_object()) {
        ADD_FAILURE() << "an NDJSON line is not a JSON object: " << line.substr(0, 300);
      } else {
        out.push_back(std::move(v));
      }
      pos = eol + 1;
    }
    return out;
  }
};

constexpr std::string_view kHeader =
    "response_id,submitted_at,status,name,count,ratio,ok,colour,tags,day,at,mail,tel,where,note";

std::string every_type_form() {
  return R"({"title":"export","questions":[
    {"key":"name","type":"text"},
    {"key":"count","type":"integer"},
    {"key":"ratio","type":"number"},
    {"key":"ok","type":"boolean"},
    {"key":"colour","type":"choice","options":["red","green, or blue"]},
    {"key":"tags","type":"multi_choice","options":["a","b","c"]},
    {"key":"day","type":"date"},
    {"key":"at","type":"datetime"},
    {"key":"mail","type":"email"},
    {"key":"tel","type":"phone"},
    {"key":"where","type":"geopoint"},
    {"key":"note","type":"text"}],
   "rules":[{"name":"small","check":"answers.count == nil or answers.count < 100","message":"big count"}]})";
}

TEST_F(ExportTest, CsvQuotesFieldsAndFormatsEveryType) {
  std::string id = create_form_id(server(), J(every_type_form()));
  ASSERT_FALSE(id.empty());
  const char* submissions[] = {
      R"({"name":"Smith, \"Bob\"\nJr.","count":42,"ratio":2.5,"ok":true,"colour":"red","tags":["a","c"],
          "day":"2024-02-29","at":"2024-05-01T09:30:00Z","mail":"a@b.org","tel":"+14155552671",
          "where":{"lat":52.5,"lon":13.25},"note":"line1\r\nline2"})",
      R"({"name":"plain","count":500,"ok":false,"colour":"green, or blue","where":{"lat":-90,"lon":180}})",
      R"({})",
      R"({"name":"semi;colon","tags":["b"],"note":"\"","ratio":-0.125})",
      R"({"name":"cr\ronly","note":"ends with a quote\""})",
  };
  std::vector<json::value> stored;
  for (const char* answers : submissions) {
    HttpResponse r = submit(server(), id, J(answers));
    ASSERT_EQ(r.status, 201) << r.summary();
    stored.push_back(r.json());
  }
  auto lead = [&](std::size_t i) {
    return str(stored[i], "id") + "," + str(stored[i], "submitted_at") + "," + str(stored[i], "status") + ",";
  };
  ASSERT_EQ(str(stored[1], "status"), "flagged");
  std::string want = std::string(kHeader) + "\r\n";
  want += lead(0) +
          "\"Smith, \"\"Bob\"\"\nJr.\",42,2.5,true,red,a;c,2024-02-29,2024-05-01T09:30:00Z,a@b.org,+14155552671,"
          "\"52.5,13.25\",\"line1\r\nline2\"\r\n";
  want += lead(1) + "plain,500,,false,\"green, or blue\",,,,,,\"-90,180\",\r\n";
  want += lead(2) + ",,,,,,,,,,,\r\n";
  want += lead(3) + "semi;colon,,-0.125,,,b,,,,,,\"\"\"\"\r\n";
  want += lead(4) + "\"cr\ronly\",,,,,,,,,,,\"ends with a quote\"\"\"\r\n";
  std::string body = fetch(id, "csv");
  EXPECT_EQ(body, want);

  // And it parses back to the answers.
  std::string why;
  auto rows = parse_csv(body, why);
  ASSERT_TRUE(rows) << why;
  ASSERT_EQ(rows->size(), 6u);
  EXPECT_EQ((*rows)[1][3], "Smith, \"Bob\"\nJr.");
  EXPECT_EQ((*rows)[1][13], "52.5,13.25");
  EXPECT_EQ((*rows)[1][14], "line1\r\nline2");
  EXPECT_EQ((*rows)[4][14], "\"");
  EXPECT_EQ((*rows)[5][3], "cr\ronly");
  for (const auto& row : *rows) EXPECT_EQ(row.size(), 15u);
}

TEST_F(ExportTest, NdjsonHasOneResponsePerLine) {
  std::string id = create_form_id(server(), J(every_type_form()));
  ASSERT_FALSE(id.empty());
  for (const char* answers : {R"({"name":"multi\nline","note":"{\"not\":\"json\"}\n"})", R"({"count":500})",
                              R"({"where":{"lat":1.5,"lon":-2.25},"tags":["c","a"]})"}) {
    ASSERT_EQ(submit(server(), id, J(answers)).status, 201);
  }
  std::vector<json::value> listed = list_all_responses(server(), id);
  ASSERT_EQ(listed.size(), 3u);
  // A correction shows in the export as the latest revision.
  HttpResponse fixed = correct(server(), id, str(listed[1], "id"), J(R"({"count":5})"));
  ASSERT_EQ(fixed.status, 200) << fixed.summary();
  listed = list_all_responses(server(), id);

  std::vector<json::value> lines = fetch_ndjson(id);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], listed[i]) << i;
  EXPECT_EQ(at(lines[1], "revision"), json::value(2));
  EXPECT_EQ(at(lines[1], "answers"), J(R"({"count":5})"));
  EXPECT_EQ(str(lines[1], "status"), "accepted");

  std::vector<std::vector<std::string>> rows = fetch_csv(id);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2][2], "accepted");
  EXPECT_EQ(rows[2][4], "5");
}

TEST_F(ExportTest, EveryRowArrivesOnceBeyondOnePage) {
  // The stream reads 1000 rows at a time: cross that boundary twice, and end
  // on neither side of it.
  constexpr std::size_t kCount = 2345;
  std::string id = create_form_id(server(), J(R"({"title":"big","questions":[{"key":"n","type":"integer"},
                                                                              {"key":"label","type":"text"}]})"));
  ASSERT_FALSE(id.empty());
  std::vector<std::string> ids = submit_many(
      server(), id, kCount,
      [](std::size_t i) {
        return json::object{{"n", i}, {"label", "row " + std::to_string(i) + ", \"q\""}};
      },
      fx::unique("bulk") + "-");
  std::set<std::string> submitted(ids.begin(), ids.end());
  ASSERT_EQ(submitted.size(), kCount);
  ASSERT_EQ(submitted.count(""), 0u);
  std::vector<std::string> order = ids_of(list_all_responses(server(), id));
  ASSERT_EQ(order.size(), kCount);

  std::vector<std::vector<std::string>> rows = fetch_csv(id);
  ASSERT_EQ(rows.size(), kCount + 1);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"response_id", "submitted_at", "status", "n", "label"}));
  std::vector<std::string> csv_ids;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 5u) << i;
    csv_ids.push_back(rows[i][0]);
    // The row carries its own answers.
    std::size_t n = std::stoul(rows[i][3]);
    EXPECT_EQ(rows[i][4], "row " + std::to_string(n) + ", \"q\"");
    EXPECT_EQ(ids[n], rows[i][0]);
  }
  EXPECT_EQ(csv_ids, order) << "CSV rows are not every response once, in arrival order";

  std::vector<json::value> lines = fetch_ndjson(id);
  EXPECT_EQ(ids_of(lines), order) << "NDJSON lines are not every response once, in arrival order";

  json::value book = read_xlsx(fetch(id, "xlsx"));
  ASSERT_TRUE(book.is_array() && book.as_array().size() == 1) << json::serialize(book).substr(0, 500);
  const json::array& sheet = book.at(0).at(1).as_array();
  ASSERT_EQ(sheet.size(), kCount + 1);
  std::vector<std::string> xlsx_ids;
  for (std::size_t i = 1; i < sheet.size(); ++i) {
    xlsx_ids.emplace_back(sheet.at(i).at(0).at(0).as_string());
    std::size_t n = std::stoul(std::string(sheet.at(i).at(3).at(0).as_string()));
    EXPECT_EQ(ids[n], xlsx_ids.back());
  }
  EXPECT_EQ(xlsx_ids, order) << "XLSX rows are not every response once, in arrival order";
}

TEST_F(ExportTest, EmptyFormExportsOnlyTheHeader) {
  std::string id = create_form_id(server(), J(every_type_form()));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(fetch(id, "csv"), std::string(kHeader) + "\r\n");
  EXPECT_EQ(fetch(id, "ndjson"), "");
}

TEST_F(ExportTest, ColumnsFollowTheCurrentQuestionsAndArchivedFormsExport) {
  std::string id = create_form_id(server(), J(R"({"title":"cols","questions":[{"key":"a","type":"integer"},
                                                                              {"key":"b","type":"text"}]})"));
  ASSERT_FALSE(id.empty());
  HttpResponse r = submit(server(), id, J(R"({"a":1,"b":"gone soon"})"));
  ASSERT_EQ(r.status, 201);
  const std::string questions = "/v1/forms/" + id + "/questions";
  ASSERT_EQ(server().request("DELETE", questions + "/b", server().admin()).status, 200);
  ASSERT_EQ(server().request("POST", questions, admin_json(), R"({"key":"c","type":"boolean"})").status, 201);
  ASSERT_EQ(server().request("POST", questions, admin_json(), R"({"key":"aa","type":"text"})").status, 201);
  HttpResponse later = submit(server(), id, J(R"({"a":2,"c":true,"aa":"x"})"));
  ASSERT_EQ(later.status, 201);

  auto check = [&] {
    std::vector<std::vector<std::string>> rows = fetch_csv(id);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"response_id", "submitted_at", "status", "a", "c", "aa"}));
    EXPECT_EQ(rows[1],
              (std::vector<std::string>{str(r.json(), "id"), str(r.json(), "submitted_at"), "accepted", "1", "", ""}));
    EXPECT_EQ(rows[2], (std::vector<std::string>{str(later.json(), "id"), str(later.json(), "submitted_at"), "accepted",
                                                 "2", "true", "x"}));
  };
  check();
  ASSERT_EQ(server().request("DELETE", "/v1/forms/" + id, server().admin()).status, 200);
  check();
  EXPECT_EQ(fetch_ndjson(id).size(), 2u);
}

// Any app token can plant a formula in a text answer; the CSV escapes it
// unless the caller asks for ?formulas=keep. NDJSON is data, never escaped.
TEST_F(ExportTest, CsvEscapesFormulasUnlessAskedToKeepThem) {
  std::string id = create_form_id(
      server(), J(R"({"title":"f","questions":[{"key":"t","type":"text"},{"key":"n","type":"number"}]})"));
  ASSERT_FALSE(id.empty());
  const std::string planted = "=HYPERLINK(\"http://evil.example/\",\"click\")";
  HttpResponse r = submit(server(), id, json::value{{"t", planted}, {"n", -3}});
  ASSERT_EQ(r.status, 201) << r.summary();
  auto rows = fetch_csv(id);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][3], "'" + planted);
  EXPECT_EQ(rows[1][4], "-3");
  Streamed kept = get_streamed(server().port(), export_path(id, "csv") + "&formulas=keep", server().admin());
  ASSERT_EQ(kept.response.status, 200) << kept.response.summary();
  std::string why;
  auto raw = parse_csv(kept.response.body, why);
  ASSERT_TRUE(raw) << why;
  ASSERT_EQ(raw->size(), 2u);
  EXPECT_EQ((*raw)[1][3], planted);
  auto lines = fetch_ndjson(id);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(str(at(lines[0], "answers"), "t"), planted);
  EXPECT_TRUE(
      IsValidationError(server().get(export_path(id, "csv") + "&formulas=run", server().admin()), {"formulas"}));
}

TEST_F(ExportTest, XlsxHasTheCsvColumnsWithTypedCells) {
  std::string id = create_form_id(server(), J(every_type_form()));
  ASSERT_FALSE(id.empty());
  const char* submissions[] = {
      R"j({"name":"=HYPERLINK(\"http://evil.example/\",\"x\")","count":42,"ratio":2.5,"ok":true,"colour":"red",
          "tags":["a","c"],"day":"2024-02-29","at":"2024-05-01T09:30:00+02:00","mail":"a@b.org",
          "tel":"+14155552671","where":{"lat":52.5,"lon":13.25},"note":"line1\r\nline2 é"})j",
      R"({})",
  };
  std::vector<json::value> stored;
  for (const char* answers : submissions) {
    HttpResponse r = submit(server(), id, J(answers));
    ASSERT_EQ(r.status, 201) << r.summary();
    stored.push_back(r.json());
  }
  std::string body = fetch(id, "xlsx");
  ASSERT_EQ(body.substr(0, 2), "PK") << "not a zip file";
  json::value book = read_xlsx(body);
  ASSERT_TRUE(book.is_array() && book.as_array().size() == 1) << json::serialize(book);
  EXPECT_EQ(book.at(0).at(0), "Responses");
  const json::array& rows = book.at(0).at(1).as_array();
  ASSERT_EQ(rows.size(), 3u);
  auto cell = [&](std::size_t r, std::size_t c) { return rows.at(r).at(c); };
  // The header: the CSV's columns, as text.
  std::string header;
  for (const auto& c : rows.at(0).as_array()) {
    header += (header.empty() ? "" : ",") + std::string(c.at(0).as_string());
    EXPECT_EQ(c.at(1), "s");
  }
  EXPECT_EQ(header, kHeader);
  EXPECT_EQ(cell(1, 0), (json::array{json::value(str(stored[0], "id")), "s", "General"}));
  // submitted_at is a date (UTC, to the millisecond): the same instant as the reply's text.
  EXPECT_EQ(cell(1, 1).at(1), "d");
  EXPECT_EQ(cell(1, 1).at(2), "yyyy-mm-dd hh:mm:ss");
  std::string submitted = str(stored[0], "submitted_at");  // 2026-...T..:..:..[.fff]Z
  std::string excel = std::string(cell(1, 1).at(0).as_string());
  EXPECT_EQ(excel.substr(0, 19), submitted.substr(0, 19)) << excel << " vs " << submitted;
  EXPECT_EQ(cell(1, 2), (json::array{"accepted", "s", "General"}));
  // Text stays text, a formula included: the cell holds it, Excel never runs it.
  EXPECT_EQ(cell(1, 3), (json::array{"=HYPERLINK(\"http://evil.example/\",\"x\")", "s", "General"}));
  EXPECT_EQ(cell(1, 4), (json::array{"42", "n", "General"}));
  EXPECT_EQ(cell(1, 5), (json::array{"2.5", "n", "General"}));
  EXPECT_EQ(cell(1, 6), (json::array{"True", "b", "General"}));
  EXPECT_EQ(cell(1, 7), (json::array{"red", "s", "General"}));
  EXPECT_EQ(cell(1, 8), (json::array{"a;c", "s", "General"}));
  EXPECT_EQ(cell(1, 9), (json::array{"2024-02-29T00:00:00", "d", "yyyy-mm-dd"}));
  EXPECT_EQ(cell(1, 10), (json::array{"2024-05-01T07:30:00", "d", "yyyy-mm-dd hh:mm:ss"}));  // in UTC
  EXPECT_EQ(cell(1, 11), (json::array{"a@b.org", "s", "General"}));
  EXPECT_EQ(cell(1, 12), (json::array{"+14155552671", "s", "General"}));
  EXPECT_EQ(cell(1, 13), (json::array{"52.5,13.25", "s", "General"}));
  // A carriage return is written as OOXML's escape _x000D_ (XML would turn a
  // raw one into \n): Excel reads it back as CR; openpyxl 3.0 shows the escape.
  EXPECT_EQ(cell(1, 14), (json::array{"line1_x000D_\nline2 é", "s", "General"}));
  // A response without answers: its metadata, then empty cells.
  EXPECT_EQ(cell(2, 0).at(0), json::value(str(stored[1], "id")));
  for (std::size_t c = 3; c < 15; ++c) EXPECT_TRUE(cell(2, c).at(0).is_null()) << c;
}

TEST_F(ExportTest, XlsxOfAnEmptyFormHasOnlyTheHeader) {
  std::string id = create_form_id(server(), J(every_type_form()));
  ASSERT_FALSE(id.empty());
  json::value book = read_xlsx(fetch(id, "xlsx"));
  ASSERT_TRUE(book.is_array() && book.as_array().size() == 1) << json::serialize(book);
  ASSERT_EQ(book.at(0).at(1).as_array().size(), 1u);
  EXPECT_EQ(book.at(0).at(1).at(0).at(0).at(0), "response_id");
}

// The workbook is built under TMPDIR and removed once open: nothing is left
// there after an export, and a TMPDIR it cannot use is a 503, not a crash. A
// server of its own, started with its own TMPDIR.
TEST(ExportXlsxTempTest, NothingIsLeftInTheTemporaryDirectoryAndAnUnusableOneIs503) {
  auto tmp = std::filesystem::temp_directory_path() / ("daisy-e2e-" + fx::unique("tmpdir"));
  std::filesystem::create_directories(tmp);
  ::setenv("TMPDIR", tmp.c_str(), 1);  // inherited by the server this test starts
  DaisyProcess server;
  bool started = server.start();
  ::unsetenv("TMPDIR");
  ASSERT_TRUE(started) << server.start_error();
  std::string id = create_form_id(server, J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  ASSERT_FALSE(id.empty());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(submit(server, id, json::object{{"n", i}}).status, 201);
  std::string path = responses_path(id) + "/export?format=xlsx";
  Streamed s = get_streamed(server.port(), path, server.admin());
  ASSERT_EQ(s.response.status, 200) << s.response.summary();
  EXPECT_TRUE(s.terminated);
  EXPECT_EQ(s.response.body.substr(0, 2), "PK");
  EXPECT_TRUE(std::filesystem::is_empty(tmp)) << "the workbook's files were left in " << tmp;

  std::filesystem::remove_all(tmp);  // now the server cannot make its directory there
  HttpResponse refused = server.get(path, server.admin());
  EXPECT_TRUE(IsProblem(refused, 503, "export-unavailable"));
  EXPECT_NE(refused.body.find("TMPDIR"), std::string::npos) << refused.body;
  EXPECT_TRUE(server.get("/healthz").status == 200);
}

TEST_F(ExportTest, ExportRefusesBadRequests) {
  std::string id = create_form_id(server(), J(every_type_form()));
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(IsValidationError(server().get(export_path(id, "xml"), server().admin()), {"format"}));
  EXPECT_TRUE(IsValidationError(server().get(export_path(id, ""), server().admin()), {"format"}));
  EXPECT_TRUE(IsProblem(server().get(export_path("01900000-0000-7000-8000-000000000000", "csv"), server().admin()), 404,
                        "not-found"));
  App app = make_app(server(), fx::unique("export-app"));
  EXPECT_TRUE(IsProblem(server().get(export_path(id, "csv"), bearer(app.token)), 403, "forbidden"));
  EXPECT_TRUE(IsProblem(server().get(export_path(id, "ndjson")), 401, "unauthorized"));
}

}  // namespace
}  // namespace daisy_e2e
