// The decisions about pulled rows that every backend makes alike (feed_store.h).
#include "store/feed_store.h"

namespace daisy {

bool same_plan_values(const PlanRow& a, const PlanRow& b) {
  return a.title == b.title && a.sell_mode == b.sell_mode && a.starts_local == b.starts_local &&
         a.ends_local == b.ends_local && a.min_price == b.min_price && a.max_price == b.max_price &&
         a.attributes == b.attributes;
}

}  // namespace daisy
