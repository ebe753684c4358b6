#include "events/event_type_registry.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace {

using daisy::events::EventType;
using daisy::events::TypeTable;

std::shared_ptr<const EventType> type(std::string category, std::string name, std::string schema = "{}") {
  auto t = std::make_shared<EventType>();
  t->row.category = std::move(category);
  t->row.name = std::move(name);
  t->row.schema = std::move(schema);
  return t;
}

TEST(TypeTable, FindsWhatWasPutAndNothingElse) {
  auto table = std::make_shared<const TypeTable>();
  EXPECT_EQ(table->find("a", "b"), nullptr);
  constexpr int n = 20000;
  for (int i = 0; i < n; ++i) table = table->with(type("cat" + std::to_string(i % 37), "name" + std::to_string(i)));
  EXPECT_EQ(table->size(), std::size_t{n});
  for (int i = 0; i < n; ++i) {
    const EventType* t = table->find("cat" + std::to_string(i % 37), "name" + std::to_string(i));
    ASSERT_NE(t, nullptr) << i;
    EXPECT_EQ(t->row.name, "name" + std::to_string(i));
  }
  EXPECT_EQ(table->find("cat1", "name0"), nullptr) << "the category is part of the key";
  EXPECT_EQ(table->find("cat0", "name"), nullptr);
}

TEST(TypeTable, ReplacingKeepsTheSizeAndRemovingDropsTheKey) {
  auto table = std::make_shared<const TypeTable>()->with(type("c", "n", "{\"v\":1}"))->with(type("c", "m"));
  table = table->with(type("c", "n", "{\"v\":2}"));
  EXPECT_EQ(table->size(), 2u);
  ASSERT_NE(table->find("c", "n"), nullptr);
  EXPECT_EQ(table->find("c", "n")->row.schema, "{\"v\":2}");
  table = table->without("c", "n");
  EXPECT_EQ(table->size(), 1u);
  EXPECT_EQ(table->find("c", "n"), nullptr);
  EXPECT_NE(table->find("c", "m"), nullptr);
  table = table->without("c", "absent");
  EXPECT_EQ(table->size(), 1u);
}

// Readers hold snapshots: a change makes a new table and leaves theirs as it was.
TEST(TypeTable, ChangesLeaveEarlierSnapshotsAlone) {
  auto first = std::make_shared<const TypeTable>()->with(type("c", "kept"));
  auto second = first->with(type("c", "added"))->without("c", "kept");
  EXPECT_NE(first->find("c", "kept"), nullptr);
  EXPECT_EQ(first->find("c", "added"), nullptr);
  EXPECT_EQ(first->size(), 1u);
  EXPECT_EQ(second->find("c", "kept"), nullptr);
  EXPECT_NE(second->find("c", "added"), nullptr);
}

}  // namespace
