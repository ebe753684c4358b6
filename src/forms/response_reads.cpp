#include "forms/response_reads.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "store/record_json.h"

namespace daisy::forms {

Result<ResponsePage> list_responses(FormStore& store, FormCache& forms, const std::string& form_id,
                                    const ResponseFilter& filter) {
  auto form = forms.get(form_id);
  if (!form.is_ok()) return form.status();
  auto rows = store.list_responses(form_id, filter);
  if (!rows.is_ok()) return rows.status();
  ResponsePage page;
  page.rows = std::move(rows.value());
  if (page.rows.size() == filter.limit && !page.rows.empty()) page.next_after_seq = page.rows.back().seq;
  return page;
}

Result<std::shared_ptr<ResponseExport>> ResponseExport::open(FormStore& store, FormCache& forms, std::string form_id,
                                                             ExportFormat format, CsvFormulas formulas) {
  auto form = forms.get(form_id);
  if (!form.is_ok()) return form.status();
  try {
    return std::make_shared<ResponseExport>(store, std::move(form_id), form.value()->form.definition.questions, format,
                                            formulas);
  } catch (const std::runtime_error& e) {
    return Status::unavailable(e.what());  // e.g. no room for the workbook's temporary directory
  }
}

ResponseExport::ResponseExport(FormStore& store, std::string form_id, std::vector<Question> questions,
                               ExportFormat format, CsvFormulas formulas)
    : store_(store),
      form_id_(std::move(form_id)),
      questions_(std::move(questions)),
      format_(format),
      formulas_(formulas) {
  if (format_ == ExportFormat::xlsx) workbook_ = std::make_unique<XlsxWorkbook>(questions_);
}

bool ResponseExport::write_part(std::string& out) {
  constexpr std::size_t part_bytes = 1024 * 1024;
  if (workbook_done_) return workbook_->read_part(out, part_bytes);
  const bool csv = format_ == ExportFormat::csv;
  if (csv && !header_done_) append_csv_header(out, questions_);
  header_done_ = true;
  ResponseFilter filter;
  filter.after_seq = after_seq_;
  const std::size_t rows_per_part = rows_per_part_;
  filter.limit = rows_per_part;
  auto rows = store_.list_responses(form_id_, filter);
  if (!rows.is_ok()) throw std::runtime_error("export read failed: " + rows.status().message());
  for (const auto& row : rows.value()) {
    if (workbook_) {
      workbook_->add_row(row, parser_);
    } else if (csv) {
      append_csv_row(out, row, questions_, parser_, formulas_);
    } else {
      out += response_json(row);
      out += '\n';
    }
  }
  if (!rows.value().empty()) after_seq_ = rows.value().back().seq;
  if (out.size() > part_bytes) rows_per_part_ = std::max<std::size_t>(1, rows_per_part * part_bytes / out.size());
  bool more_rows = rows.value().size() == rows_per_part;
  if (workbook_ && !more_rows) {
    workbook_->finish();
    workbook_done_ = true;
    return true;  // the file's bytes come in the next parts
  }
  return more_rows;
}

}  // namespace daisy::forms
