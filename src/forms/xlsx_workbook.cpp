#include "forms/xlsx_workbook.h"

#include <fcntl.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "forms/export_writer.h"
#include "util/iso8601.h"
#include "util/utf8.h"

namespace daisy::forms {
namespace {

constexpr const char* sheet_title = "Responses";
constexpr unsigned metadata_columns = 3;  // response_id, submitted_at, status
// Excel holds at most 32,767 characters in a cell; libxlsxwriter counts bytes.
constexpr std::size_t max_cell_bytes = 32767;

std::string make_private_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "daisy-xlsx-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) {
    throw std::runtime_error("cannot make a temporary directory for the workbook: " +
                             std::string(std::strerror(errno)));
  }
  return pattern;
}

// Excel's dates start in 1900 and end in 9999; earlier or later ones stay text.
std::optional<lxw_datetime> to_excel(std::int64_t ns_since_epoch) {
  using namespace std::chrono;
  sys_time<nanoseconds> t{nanoseconds(ns_since_epoch)};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  if (int(ymd.year()) < 1900) return std::nullopt;
  hh_mm_ss<nanoseconds> time{t - day};
  return lxw_datetime{int(ymd.year()),
                      int(unsigned(ymd.month())),
                      int(unsigned(ymd.day())),
                      int(time.hours().count()),
                      int(time.minutes().count()),
                      double(time.seconds().count()) + double(time.subseconds().count()) / 1e9};
}

}  // namespace

XlsxWorkbook::XlsxWorkbook(std::vector<Question> questions) : questions_(std::move(questions)) {
  if (questions_.size() + metadata_columns > LXW_COL_MAX) throw std::runtime_error("too many questions for a sheet");
  dir_ = make_private_dir();
  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;
  options.tmpdir = dir_.data();
  options.use_zip64 = LXW_TRUE;  // a large export may pass 4 GB of XML
  workbook_ = workbook_new_opt((dir_ + "/responses.xlsx").c_str(), &options);
  if (!workbook_) {
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("cannot start the workbook");
  }
  datetime_format_ = workbook_add_format(workbook_);
  format_set_num_format(datetime_format_, "yyyy-mm-dd hh:mm:ss");
  date_format_ = workbook_add_format(workbook_);
  format_set_num_format(date_format_, "yyyy-mm-dd");
  try {
    start_sheet();
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    lxw_workbook_free(workbook_);
    std::filesystem::remove_all(dir_);
    throw;
  }
}

XlsxWorkbook::~XlsxWorkbook() {
  if (workbook_) lxw_workbook_free(workbook_);  // abandoned: nothing is zipped
  if (fd_ >= 0) ::close(fd_);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void XlsxWorkbook::check(int error, const char* what) {
  if (error != LXW_NO_ERROR) {
    throw std::runtime_error(std::string("workbook: ") + what + ": " + lxw_strerror(static_cast<lxw_error>(error)));
  }
}

void XlsxWorkbook::start_sheet() {
  ++sheets_;
  std::string name = sheets_ == 1 ? sheet_title : std::string(sheet_title) + " (" + std::to_string(sheets_) + ")";
  sheet_ = workbook_add_worksheet(workbook_, name.c_str());
  if (!sheet_) throw std::runtime_error("workbook: cannot add the sheet " + name);
  next_row_ = 0;
  unsigned col = 0;
  for (const char* title : {"response_id", "submitted_at", "status"}) write_text(col++, title);
  check(worksheet_set_column(sheet_, 1, 1, 20, nullptr), "column width");
  for (const auto& q : questions_) write_text(col++, q.key);
  ++next_row_;
}

void XlsxWorkbook::write_text(unsigned col, std::string_view text) {
  std::string cell(utf8_prefix(text, max_cell_bytes));
  check(worksheet_write_string(sheet_, next_row_, static_cast<lxw_col_t>(col), cell.c_str(), nullptr), "string");
}

void XlsxWorkbook::write_timestamp(unsigned col, std::string_view text, bool date_only) {
  std::optional<lxw_datetime> when;
  if (date_only) {
    if (auto d = parse_date(text)) when = lxw_datetime{d->year, int(d->month), int(d->day), 0, 0, 0};
    if (when && when->year < 1900) when.reset();
  } else if (auto ns = parse_timestamp_ns(text)) {
    when = to_excel(*ns);
  }
  if (!when) return write_text(col, text);
  check(worksheet_write_datetime(sheet_, next_row_, static_cast<lxw_col_t>(col), &*when,
                                 date_only ? date_format_ : datetime_format_),
        "date");
}

void XlsxWorkbook::write_answer(unsigned col, const Question& q, simdjson::dom::element value) {
  auto cell = static_cast<lxw_col_t>(col);
  switch (value.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return;
    case simdjson::dom::element_type::BOOL: {
      bool b = false;
      if (value.get_bool().get(b)) return;
      return check(worksheet_write_boolean(sheet_, next_row_, cell, b ? 1 : 0, nullptr), "boolean");
    }
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: {
      double d = 0;
      if (value.get_double().get(d)) return;
      return check(worksheet_write_number(sheet_, next_row_, cell, d, nullptr), "number");
    }
    case simdjson::dom::element_type::STRING: {
      std::string_view text;
      if (value.get_string().get(text)) return;
      if (q.type == QuestionType::date) return write_timestamp(col, text, true);
      if (q.type == QuestionType::datetime) return write_timestamp(col, text, false);
      return write_text(col, text);
    }
    default:
      return write_text(col, answer_text(value));
  }
}

void XlsxWorkbook::add_row(const ResponseRow& row, simdjson::dom::parser& parser) {
  if (next_row_ == LXW_ROW_MAX) start_sheet();
  write_text(0, row.id);
  write_timestamp(1, row.submitted_at, false);
  write_text(2, row.status);
  simdjson::dom::object answers;
  if (!parser.parse(row.answers).get(answers)) {
    unsigned col = metadata_columns;
    for (const auto& q : questions_) {
      simdjson::dom::element value;
      if (!answers[q.key].get(value)) write_answer(col, q, value);
      ++col;
    }
  }
  ++next_row_;
}

void XlsxWorkbook::finish() {
  std::string path = dir_ + "/responses.xlsx";
  lxw_error closed = workbook_close(workbook_);  // frees the workbook whatever it returns
  workbook_ = nullptr;
  check(closed, "close");
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    throw std::runtime_error("workbook: cannot open the finished file: " + std::string(std::strerror(errno)));
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool XlsxWorkbook::read_part(std::string& out, std::size_t max_bytes) {
  std::size_t start = out.size();
  out.resize(start + max_bytes);
  ssize_t n;
  do {
    n = ::read(fd_, out.data() + start, max_bytes);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    out.resize(start);
    throw std::runtime_error("workbook: cannot read the finished file: " + std::string(std::strerror(errno)));
  }
  out.resize(start + static_cast<std::size_t>(n));
  return n > 0;
}

}  // namespace daisy::forms
