#pragma once
// Reading a form's responses, without HTTP: a page of them, or all of them as
// an export written a part at a time. A front end (api/responses.cpp) reads
// its query into a filter, calls here, and writes the rows out.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>

#include "domain/question.h"
#include "forms/export_writer.h"
#include "forms/form_cache.h"
#include "forms/xlsx_workbook.h"
#include "store/form_store.h"

namespace daisy::forms {

struct ResponsePage {
  std::vector<ResponseRow> rows;
  std::optional<std::int64_t> next_after_seq;  // the cursor of the next page; none after the last
};

// The responses of form_id that pass the filter, in seq order. not_found when
// there is no such form (archived ones have their responses too).
Result<ResponsePage> list_responses(FormStore& store, FormCache& forms, const std::string& form_id,
                                    const ResponseFilter& filter);

enum class ExportFormat { csv, ndjson, xlsx };

// Every response of a form, in seq order, a part at a time. Each part reads
// with a fresh query after the last row written, so memory stays constant
// whatever the count; a response stored while the export runs is in it when
// its seq comes after the part being read. An XLSX export first writes every
// row into its workbook (parts that add nothing to out), then hands out the
// finished file.
class ResponseExport {
 public:
  // not_found when there is no such form.
  static Result<std::shared_ptr<ResponseExport>> open(FormStore& store, FormCache& forms, std::string form_id,
                                                      ExportFormat format, CsvFormulas formulas);
  ResponseExport(FormStore& store, std::string form_id, std::vector<Question> questions, ExportFormat format,
                 CsvFormulas formulas);

  // Appends the next part (about a MiB) to out; false after the last.
  // Throws std::runtime_error when the store fails: the export ends there.
  bool write_part(std::string& out);

 private:
  FormStore& store_;
  std::string form_id_;
  std::vector<Question> questions_;
  ExportFormat format_;
  CsvFormulas formulas_;
  simdjson::dom::parser parser_;
  std::int64_t after_seq_ = 0;
  bool header_done_ = false;
  std::size_t rows_per_part_ = 1000;        // fewer when rows are large: a part stays near part_bytes
  std::unique_ptr<XlsxWorkbook> workbook_;  // xlsx only
  bool workbook_done_ = false;
};

}  // namespace daisy::forms
