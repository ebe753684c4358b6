#pragma once
// Who is making a request, as resolved from its bearer token.

#include <memory>
#include <string>

#include "domain/app.h"

namespace daisy {

struct Principal {
  // publishable: an app's publishable key (dpk_...), which pages carry: it
  // only sends events and responses (routes say whether they take it).
  enum class Kind { anonymous, admin, app, publishable };
  Kind kind = Kind::anonymous;
  std::string app_id;  // set when kind == app or publishable
  // For a publishable key: what it may do, as it was when the request was
  // authenticated (saves the routes a second lookup).
  std::shared_ptr<const AppAccess> access;

  bool is_admin() const { return kind == Kind::admin; }
  bool is_app() const { return kind == Kind::app; }
  bool is_publishable() const { return kind == Kind::publishable; }
  // An app's secret token or its publishable key.
  bool acts_for_app() const { return kind == Kind::app || kind == Kind::publishable; }
  bool authenticated() const { return kind != Kind::anonymous; }
};

}  // namespace daisy
