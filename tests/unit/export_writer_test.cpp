#include "forms/export_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/question.h"
#include "store/form_store.h"

namespace {

using namespace daisy;
using daisy::forms::append_csv_field;
using daisy::forms::append_csv_header;
using daisy::forms::append_csv_row;

Question question(std::string key, QuestionType type) {
  Question q;
  q.key = std::move(key);
  q.type = type;
  return q;
}

ResponseRow response(std::string answers) {
  ResponseRow row;
  row.id = "r_01";
  row.form_id = "f_01";
  row.status = "accepted";
  row.submitted_at = "2024-05-01T09:30:00.000Z";
  row.answers = std::move(answers);
  return row;
}

std::string field(std::string_view value) {
  std::string out;
  append_csv_field(out, value);
  return out;
}

std::string row_text(const std::string& answers, const std::vector<Question>& questions,
                     daisy::forms::CsvFormulas formulas = daisy::forms::CsvFormulas::escape) {
  simdjson::dom::parser parser;
  std::string out;
  append_csv_row(out, response(answers), questions, parser, formulas);
  return out;
}

constexpr std::string_view prefix = "r_01,2024-05-01T09:30:00.000Z,accepted";

// ------------------------------------------------------------------- fields

TEST(ExportWriterField, PlainValuesAreWrittenAsIs) {
  EXPECT_EQ(field("abc"), "abc");
  EXPECT_EQ(field(""), "");
  EXPECT_EQ(field("  spaced  "), "  spaced  ");
  EXPECT_EQ(field("a;b"), "a;b");
  EXPECT_EQ(field("it's"), "it's");
  EXPECT_EQ(field("\t"), "\t");
  EXPECT_EQ(field("h\xC3\xA9"), "h\xC3\xA9");
}

TEST(ExportWriterField, QuotesFieldsWithSpecialCharacters) {
  EXPECT_EQ(field("a,b"), "\"a,b\"");
  EXPECT_EQ(field(","), "\",\"");
  EXPECT_EQ(field("line1\nline2"), "\"line1\nline2\"");
  EXPECT_EQ(field("line1\rline2"), "\"line1\rline2\"");
  EXPECT_EQ(field("line1\r\nline2"), "\"line1\r\nline2\"");
  EXPECT_EQ(field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(field("\""), "\"\"\"\"");
  EXPECT_EQ(field("\"\""), "\"\"\"\"\"\"");
  EXPECT_EQ(field("a,\"b\"\nc"), "\"a,\"\"b\"\"\nc\"");
}

TEST(ExportWriterField, Appends) {
  std::string out = "x,";
  append_csv_field(out, "a,b");
  out += ',';
  append_csv_field(out, "c");
  EXPECT_EQ(out, "x,\"a,b\",c");
}

// ------------------------------------------------------------------- header

TEST(ExportWriterHeader, FixedColumnsThenQuestionKeys) {
  std::string out;
  append_csv_header(out, {});
  EXPECT_EQ(out, "response_id,submitted_at,status\r\n");

  out.clear();
  append_csv_header(out, {question("name", QuestionType::text), question("age", QuestionType::integer),
                          question("where", QuestionType::geopoint)});
  EXPECT_EQ(out, "response_id,submitted_at,status,name,age,where\r\n");
}

// ------------------------------------------------------------------- rows

TEST(ExportWriterRow, EveryAnswerType) {
  const std::vector<Question> questions = {
      question("name", QuestionType::text),      question("age", QuestionType::integer),
      question("income", QuestionType::number),  question("consent", QuestionType::boolean),
      question("colour", QuestionType::choice),  question("pets", QuestionType::multi_choice),
      question("born", QuestionType::date),      question("seen", QuestionType::datetime),
      question("email", QuestionType::email),    question("phone", QuestionType::phone),
      question("where", QuestionType::geopoint),
  };
  const std::string answers = R"({
    "name": "Ada", "age": 36, "income": 1234.5, "consent": true, "colour": "red",
    "pets": ["cat", "dog"], "born": "1815-12-10", "seen": "2024-05-01T09:30:00Z",
    "email": "ada@example.com", "phone": "+441234567890", "where": {"lat": 52.52, "lon": 13.405}
  })";
  EXPECT_EQ(row_text(answers, questions),
            std::string(prefix) +
                ",Ada,36,1234.5,true,red,cat;dog,1815-12-10,2024-05-01T09:30:00Z,ada@example.com,+441234567890,"
                "\"52.52,13.405\"\r\n");
}

TEST(ExportWriterRow, TextIsQuotedWhenNeeded) {
  const std::vector<Question> questions = {question("a", QuestionType::text), question("b", QuestionType::text),
                                           question("c", QuestionType::text)};
  EXPECT_EQ(row_text(R"({"a":"Lovelace, Ada","b":"say \"hi\"","c":"line1\nline2\r\n"})", questions),
            std::string(prefix) + ",\"Lovelace, Ada\",\"say \"\"hi\"\"\",\"line1\nline2\r\n\"\r\n");
}

TEST(ExportWriterRow, MissingAndNullAnswersAreEmpty) {
  const std::vector<Question> questions = {question("a", QuestionType::text), question("b", QuestionType::integer),
                                           question("c", QuestionType::boolean)};
  EXPECT_EQ(row_text(R"({"b":7})", questions), std::string(prefix) + ",,7,\r\n");
  EXPECT_EQ(row_text(R"({"a":null,"b":null,"c":null})", questions), std::string(prefix) + ",,,\r\n");
  EXPECT_EQ(row_text("{}", questions), std::string(prefix) + ",,,\r\n");
  // Keys match exactly.
  EXPECT_EQ(row_text(R"({"A":"x","b ":1})", questions), std::string(prefix) + ",,,\r\n");
  // Answers that cannot be read leave every answer cell empty.
  EXPECT_EQ(row_text("not json", questions), std::string(prefix) + ",,,\r\n");
  EXPECT_EQ(row_text("[1,2,3]", questions), std::string(prefix) + ",,,\r\n");
}

TEST(ExportWriterRow, ColumnsFollowTheQuestionsNotTheAnswers) {
  const std::vector<Question> questions = {question("z", QuestionType::integer), question("a", QuestionType::integer)};
  EXPECT_EQ(row_text(R"({"a":1,"z":26,"extra":5})", questions), std::string(prefix) + ",26,1\r\n");
}

TEST(ExportWriterRow, Numbers) {
  const std::vector<Question> questions = {question("a", QuestionType::number), question("b", QuestionType::number),
                                           question("c", QuestionType::number), question("d", QuestionType::number),
                                           question("e", QuestionType::integer)};
  EXPECT_EQ(row_text(R"({"a":-7,"b":0.1,"c":-2.50,"d":18446744073709551615,"e":9007199254740993})", questions),
            std::string(prefix) + ",-7,0.1,-2.5,18446744073709551615,9007199254740993\r\n");
  EXPECT_EQ(row_text(R"({"a":0,"b":1e-7,"c":3.0,"d":1e300})", questions),
            std::string(prefix) + ",0,1e-07,3,1e+300,\r\n");
}

TEST(ExportWriterRow, Booleans) {
  const std::vector<Question> questions = {question("a", QuestionType::boolean), question("b", QuestionType::boolean)};
  EXPECT_EQ(row_text(R"({"a":true,"b":false})", questions), std::string(prefix) + ",true,false\r\n");
}

TEST(ExportWriterRow, MultiChoiceJoinedWithSemicolons) {
  const std::vector<Question> questions = {question("m", QuestionType::multi_choice)};
  EXPECT_EQ(row_text(R"({"m":["a"]})", questions), std::string(prefix) + ",a\r\n");
  EXPECT_EQ(row_text(R"({"m":["a","b","c"]})", questions), std::string(prefix) + ",a;b;c\r\n");
  EXPECT_EQ(row_text(R"({"m":[]})", questions), std::string(prefix) + ",\r\n");
  // The joined text is quoted as a whole when an option needs it.
  EXPECT_EQ(row_text(R"({"m":["x, y","z"]})", questions), std::string(prefix) + ",\"x, y;z\"\r\n");
  EXPECT_EQ(row_text(R"({"m":["say \"hi\"","z"]})", questions), std::string(prefix) + ",\"say \"\"hi\"\";z\"\r\n");
}

TEST(ExportWriterRow, GeopointAsLatCommaLon) {
  const std::vector<Question> questions = {question("g", QuestionType::geopoint)};
  EXPECT_EQ(row_text(R"({"g":{"lat":52.52,"lon":13.405}})", questions), std::string(prefix) + ",\"52.52,13.405\"\r\n");
  EXPECT_EQ(row_text(R"({"g":{"lon":151,"lat":-33}})", questions), std::string(prefix) + ",\"-33,151\"\r\n");
  EXPECT_EQ(row_text(R"({"g":{"lat":-90,"lon":180.0}})", questions), std::string(prefix) + ",\"-90,180\"\r\n");
  EXPECT_EQ(row_text(R"({"g":{"lat":0.000001,"lon":-0.5}})", questions), std::string(prefix) + ",\"1e-06,-0.5\"\r\n");
}

TEST(ExportWriterRow, RowsAppendAndShareAParser) {
  const std::vector<Question> questions = {question("n", QuestionType::integer), question("t", QuestionType::text)};
  simdjson::dom::parser parser;
  std::string out;
  append_csv_header(out, questions);
  ResponseRow first = response(R"({"n":1,"t":"one"})");
  ResponseRow second = response(R"({"t":"two, too"})");
  second.id = "r_02";
  second.status = "flagged";
  second.submitted_at = "2024-05-02T00:00:00.000Z";
  append_csv_row(out, first, questions, parser);
  append_csv_row(out, second, questions, parser);
  EXPECT_EQ(out,
            "response_id,submitted_at,status,n,t\r\n"
            "r_01,2024-05-01T09:30:00.000Z,accepted,1,one\r\n"
            "r_02,2024-05-02T00:00:00.000Z,flagged,,\"two, too\"\r\n");
}

// Text that a spreadsheet would run as a formula gets a leading "'" (CSV
// injection); numbers and geopoints stay numbers; `keep` writes it raw.
TEST(ExportWriterRow, FormulaTextIsEscaped) {
  const std::vector<Question> questions = {question("t", QuestionType::text)};
  for (std::string_view start : {"=", "+", "-", "@"}) {
    std::string text = std::string(start) + "HYPERLINK(1)";
    EXPECT_EQ(row_text(R"({"t":")" + text + R"("})", questions), std::string(prefix) + ",'" + text + "\r\n") << text;
    EXPECT_EQ(row_text(R"({"t":")" + text + R"("})", questions, daisy::forms::CsvFormulas::keep),
              std::string(prefix) + "," + text + "\r\n")
        << text;
  }
  EXPECT_EQ(row_text(R"({"t":"\tx"})", questions), std::string(prefix) + ",'\tx\r\n");
  EXPECT_EQ(row_text(R"({"t":"\rx"})", questions), std::string(prefix) + ",\"'\rx\"\r\n");
  EXPECT_EQ(row_text(R"({"t":"=1+2, then"})", questions), std::string(prefix) + ",\"'=1+2, then\"\r\n");
  // Text that is only a signed number runs nothing: a phone number stays as sent.
  EXPECT_EQ(row_text(R"({"t":"+441234567890"})", questions), std::string(prefix) + ",+441234567890\r\n");
  EXPECT_EQ(row_text(R"({"t":"-12.5"})", questions), std::string(prefix) + ",-12.5\r\n");
  EXPECT_EQ(row_text(R"({"t":"-1+1"})", questions), std::string(prefix) + ",'-1+1\r\n");
  EXPECT_EQ(row_text(R"({"t":"+"})", questions), std::string(prefix) + ",'+\r\n");
  // Not at the start: not a formula.
  EXPECT_EQ(row_text(R"({"t":"a=b"})", questions), std::string(prefix) + ",a=b\r\n");
  EXPECT_EQ(row_text(R"({"t":"'quoted"})", questions), std::string(prefix) + ",'quoted\r\n");
  // A list whose first option is formula text.
  const std::vector<Question> multi = {question("m", QuestionType::multi_choice)};
  EXPECT_EQ(row_text(R"({"m":["@sum","b"]})", multi), std::string(prefix) + ",'@sum;b\r\n");
  // Numbers stay numbers.
  const std::vector<Question> numbers = {question("n", QuestionType::number), question("g", QuestionType::geopoint)};
  EXPECT_EQ(row_text(R"({"n":-7.5,"g":{"lat":-33,"lon":151}})", numbers),
            std::string(prefix) + ",-7.5,\"-33,151\"\r\n");
}

TEST(ExportWriterRow, NoQuestions) { EXPECT_EQ(row_text(R"({"a":1})", {}), std::string(prefix) + "\r\n"); }

}  // namespace
