// Strict config reading: defaults are resolved, and wrong types, out-of-range values and unknown
// keys are errors naming the full key path.
#include "nabla/io/config.h"

#include <gtest/gtest.h>

#include "../error_message.h"
#include "nabla/core/error.h"
#include "nabla/data/input_file.h"

using namespace nabla;
using nabla::io::ConfigReader;
using nabla::io::json;

using nabla::test_support::error_of;

TEST(Config, ReadsValuesFillsDefaultsAndResolves) {
  json config = json::parse(R"({"training": {"epochs": 3, "optimizer": {"name": "adamw"}}})");
  ConfigReader root(config);
  ConfigReader training = root.object("training");
  EXPECT_EQ(training.integer("epochs", 1, 1, 1000), 3);
  EXPECT_EQ(training.integer("batch_size", 32, 1, 1 << 20), 32);
  ConfigReader optimizer = training.object("optimizer");
  EXPECT_EQ(optimizer.string("name", "adam", {"adam", "adamw"}), "adamw");
  EXPECT_DOUBLE_EQ(optimizer.number("lr", 1e-3, 0, 1e300, true), 1e-3);
  optimizer.finish();
  training.finish();
  root.finish();
  EXPECT_EQ(root.resolved()["training"]["batch_size"], 32);
  EXPECT_EQ(root.resolved()["training"]["optimizer"]["lr"], 1e-3);
}

TEST(Config, ErrorsNameTheKeyPathAndWhatWasExpected) {
  json config = json::parse(R"({"training": {"optimizer": {"lr": "fast", "nmae": "sgd"}, "epochs": 0}})");
  ConfigReader root(config);
  ConfigReader training = root.object("training");
  ConfigReader optimizer = training.object("optimizer");
  EXPECT_EQ(error_of([&] { optimizer.number("lr", 1e-3, 0, 1e300, true); }),
            "training.optimizer.lr: expected a positive number, got \"fast\"");
  EXPECT_EQ(error_of([&] { training.integer("epochs", 1, 1, 1000000); }),
            "training.epochs: expected an integer in [1, 1000000], got 0");
  EXPECT_EQ(error_of([&] { optimizer.string("name", "adam", {"adam", "sgd"}); }), "(no error)");
  EXPECT_EQ(error_of([&] { optimizer.finish(); }), "training.optimizer.nmae: unknown key; known keys here: lr, name");
  EXPECT_EQ(error_of([&] { ConfigReader(json::parse(R"({"a": {"b": 1}})")).object("a").string("b", "x"); }),
            "a.b: expected a string, got 1");
  EXPECT_EQ(error_of([&] { ConfigReader(json::parse("{}")).integer("epochs", std::nullopt, 1, 10); }),
            "epochs: missing; this key is required (an integer)");
  EXPECT_EQ(error_of([&] { ConfigReader(json::parse("[1]")); }), "config: expected an object ({...}), got [1]");
}

TEST(Config, OverridesSetNestedKeysWithJsonOrStringValues) {
  json config = json::parse(R"({"training": {"epochs": 3}})");
  io::apply_override(config, "training.epochs=5");
  io::apply_override(config, "training.optimizer.name=sgd");
  io::apply_override(config, "model.dropout=0.25");
  EXPECT_EQ(config["training"]["epochs"], 5);
  EXPECT_EQ(config["training"]["optimizer"]["name"], "sgd");
  EXPECT_EQ(config["model"]["dropout"], 0.25);
  EXPECT_THROW(io::apply_override(config, "no-equals-sign"), Error);
  EXPECT_THROW(io::apply_override(config, "training.epochs.x=1"), Error);  // epochs is not an object
}

// Integer keys have ranges, so a value too large for what it sizes is an error naming the key,
// never a wrapped number (epochs = 3,000,000,000 used to read as negative, a batch of 2^63-1 trained
// zero steps).
TEST(Config, IntegersOutsideTheirRangeAreErrorsNotWrappedNumbers) {
  json config = json::parse(R"({"epochs": 3000000000, "batch": 9223372036854775807, "huge": 18446744073709551615})");
  ConfigReader root(config);
  EXPECT_EQ(error_of([&] { root.integer("epochs", 1, 1, 1000000); }),
            "epochs: expected an integer in [1, 1000000], got 3000000000");
  EXPECT_EQ(error_of([&] { root.integer("batch", 32, 1, 1 << 24); }),
            "batch: expected an integer in [1, 16777216], got 9223372036854775807");
  EXPECT_EQ(error_of([&] { root.integer("huge", 0, 0, INT64_MAX); }),
            "huge: expected an integer in [0, 9223372036854775807], got 18446744073709551615");
}

// Hostile nesting: a config, a --set path or a --set value nested thousands of levels deep is an
// error before anything recurses over it.
TEST(Config, DeeplyNestedJsonIsAnErrorNotAStackOverflow) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(error_of([&] { data::parse_json(deep, "probe"); }).find("nested more than 64 levels"), std::string::npos);
  const std::string objects = [] {
    std::string s;
    for (int i = 0; i < 5000; ++i) s += "{\"a\":";
    return s + "1" + std::string(5000, '}');
  }();
  EXPECT_NE(error_of([&] { data::parse_json(objects, "probe"); }).find("nested more than"), std::string::npos);
  // Brackets inside strings and comments do not count.
  EXPECT_EQ(data::parse_json(R"({"a": "[[[[[[[[[["} // {{{{{{{)", "probe", true)["a"], "[[[[[[[[[[");
  json config = json::object();
  std::string path;
  for (int i = 0; i < 100000; ++i) path += "a.";
  EXPECT_NE(error_of([&] { io::apply_override(config, path + "b=1"); }).find("more than 64 keys deep"),
            std::string::npos);
  EXPECT_NE(error_of([&] { io::apply_override(config, "x=" + deep); }).find("nested more than"), std::string::npos);
  EXPECT_TRUE(config.empty());
}
