#pragma once
// Who is making a request, as resolved from its bearer token.

#include <string>

namespace daisy {

struct Principal {
  enum class Kind { anonymous, admin, app };
  Kind kind = Kind::anonymous;
  std::string app_id;  // set when kind == app

  bool is_admin() const { return kind == Kind::admin; }
  bool is_app() const { return kind == Kind::app; }
  bool authenticated() const { return kind != Kind::anonymous; }
};

}  // namespace daisy
