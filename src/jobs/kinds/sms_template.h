#pragma once
// The templates of an SMS integration's `to` and `body`: text with
// placeholders over the record a job carries.
//
//   Thanks {{answers.name|friend}}, receipt {{response.id}}
//
// A placeholder is `{{ path }}` or `{{ path | default }}`: whitespace inside
// the braces is allowed; a path is dotted names (letters, digits, _ and -),
// a number indexes an array. Its root is the record (answers.x, id), and
// `response` (form sources) or `event` (app sources) names the record itself.
// There is no escape: a template cannot hold a literal "{{".
//
// Rendered values: strings as they are, numbers as JSON writes them (36,
// 2.5: the shortest text that reads back), true
// and false, objects and arrays as compact JSON. A path that is missing or
// null takes its default; without one, rendering fails naming the path.

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace daisy::jobs {

class SmsTemplate {
 public:
  // The template, or why it is not one ("{{ at 12 is never closed").
  static std::variant<SmsTemplate, std::string> parse(std::string_view text);

  // The text with each placeholder replaced, or why not ("answers.phone is
  // missing"). alias: "response" or "event", the record's own name.
  std::variant<std::string, std::string> render(const boost::json::value& record, std::string_view alias) const;

  const std::string& text() const { return text_; }

 private:
  struct Part {
    std::string literal;            // before the placeholder (or the trailing text)
    std::vector<std::string> path;  // empty: no placeholder
    std::optional<std::string> fallback;
  };
  std::string text_;
  std::vector<Part> parts_;
};

// A phone number in E.164: + then 2 to 15 digits, the first not 0.
bool is_e164(std::string_view number);

// Characters (Unicode code points) in UTF-8 text: how Twilio counts a body.
std::size_t count_characters(std::string_view text);

}  // namespace daisy::jobs
