#pragma once
// The kinds of integration Daisy knows, listed once (kind_registry.cpp): the
// rules that read a kind's config (for the definitions, without the runner)
// and, in action_kind.h, make_action_kinds (the deliverers, for the runner).

#include "domain/integration.h"

namespace daisy::jobs {

IntegrationKinds integration_kinds();

}  // namespace daisy::jobs
