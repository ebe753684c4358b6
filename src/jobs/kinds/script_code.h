#pragma once
// Lua code in an integration's config: a script action's `code` (function
// run) or a webhook's or redis integration's `transform` (function
// transform). Compiled when the definition is read, so a syntax error is a
// 422 naming the field and the line; the compiled Script rides along in the
// config.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "domain/field_error.h"
#include "domain/integration.h"
#include "script/script.h"

namespace daisy::jobs {

inline constexpr std::size_t max_script_code_bytes = 256 * 1024;

// Reads and compiles config[key] (a string of Lua defining `entry`); null,
// with an error naming "config.<key>", when it is missing (and required),
// too long, or does not compile.
std::shared_ptr<const Script> read_script_code(const boost::json::object& config, std::string_view key,
                                               std::string entry, bool required, boost::json::value data,
                                               ScriptLimits limits, std::vector<FieldError>& errors);

// A webhook's or redis integration's optional config.transform: false (with
// an error) when present and wrong.
bool read_transform(const boost::json::object& config, std::string& code, std::shared_ptr<const Script>& transform,
                    std::vector<FieldError>& errors);

// The code an integration runs, if any: a script action's, or the transform
// of a webhook or redis integration.
const Script* script_of(const IntegrationDefinition& definition);

// The payload a transform made of `payload` (JSON text): the text to send
// instead, or nullopt when the transform returned nil (the record is
// skipped). `run` is the transform's run, failed or not.
struct TransformOutcome {
  ScriptRun run;
  bool skipped = false;
  std::string payload;  // when run.ok and not skipped
};

// Runs on the calling thread (blocking): call it from a worker pool.
TransformOutcome apply_transform(const Script& transform, std::string_view payload, const ScriptCall& call);

// A run's log lines as an attempt keeps them: each ending in '\n', at most 16 KiB.
std::string attempt_log(const ScriptRun& run);

}  // namespace daisy::jobs
