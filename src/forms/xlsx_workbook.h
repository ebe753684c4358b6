#pragma once
// A response export as an Excel workbook (libxlsxwriter in constant-memory
// mode): the same columns as the CSV export (response_id, submitted_at,
// status, then the question keys), with numbers as numbers, booleans as
// booleans, and submitted_at, date and datetime answers as Excel dates (UTC).
// Text is always a string cell: a spreadsheet never runs it as a formula.
//
// Contract:
// - Rows are added in order; each is written to disk when the next starts, so
//   memory stays constant whatever the count. A sheet holds at most Excel's
//   1,048,576 rows; past that the rows go on to "Responses (2)", and so on.
// - finish() closes the workbook (the zip is written then), after which
//   read_part() hands out the file's bytes. The file lives in a private
//   directory under the system's temporary directory (TMPDIR) and is unlinked
//   as soon as it is open, so nothing is left behind, even after kill -9
//   once finished; an abandoned workbook is freed without being written.
// - Failures (disk full, a temporary directory that cannot be made) throw
//   std::runtime_error.

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <vector>

#include "domain/question.h"
#include "store/form_store.h"

struct lxw_workbook;
struct lxw_worksheet;
struct lxw_format;

namespace daisy::forms {

class XlsxWorkbook {
 public:
  explicit XlsxWorkbook(std::vector<Question> questions);
  ~XlsxWorkbook();
  XlsxWorkbook(const XlsxWorkbook&) = delete;
  XlsxWorkbook& operator=(const XlsxWorkbook&) = delete;

  void add_row(const ResponseRow& row, simdjson::dom::parser& parser);
  void finish();
  // Appends up to max_bytes of the finished file; false once it is all read.
  bool read_part(std::string& out, std::size_t max_bytes);

 private:
  void start_sheet();
  void write_answer(unsigned col, const Question& q, simdjson::dom::element value);
  void write_text(unsigned col, std::string_view text);
  void write_timestamp(unsigned col, std::string_view text, bool date_only);
  void check(int error, const char* what);

  std::vector<Question> questions_;
  std::string dir_;
  lxw_workbook* workbook_ = nullptr;
  lxw_worksheet* sheet_ = nullptr;
  lxw_format* datetime_format_ = nullptr;
  lxw_format* date_format_ = nullptr;
  unsigned sheets_ = 0;
  std::uint32_t next_row_ = 0;
  int fd_ = -1;  // the finished file, already unlinked
};

}  // namespace daisy::forms
