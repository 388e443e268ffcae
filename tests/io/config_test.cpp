// Strict config reading: defaults are resolved, and wrong types, out-of-range values and unknown
// keys are errors naming the full key path.
#include "nabla/io/config.h"

#include <gtest/gtest.h>

#include "../error_message.h"
#include "nabla/core/error.h"

using namespace nabla;
using nabla::io::ConfigReader;
using nabla::io::json;

using nabla::test_support::error_of;

TEST(Config, ReadsValuesFillsDefaultsAndResolves) {
  json config = json::parse(R"({"training": {"epochs": 3, "optimizer": {"name": "adamw"}}})");
  ConfigReader root(config);
  ConfigReader training = root.object("training");
  EXPECT_EQ(training.integer("epochs", 1, 1), 3);
  EXPECT_EQ(training.integer("batch_size", 32, 1), 32);
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
  EXPECT_EQ(error_of([&] { training.integer("epochs", 1, 1); }),
            "training.epochs: expected an integer in [1, inf), got 0");
  EXPECT_EQ(error_of([&] { optimizer.string("name", "adam", {"adam", "sgd"}); }), "(no error)");
  EXPECT_EQ(error_of([&] { optimizer.finish(); }), "training.optimizer.nmae: unknown key; known keys here: lr, name");
  EXPECT_EQ(error_of([&] { ConfigReader(json::parse(R"({"a": {"b": 1}})")).object("a").string("b", "x"); }),
            "a.b: expected a string, got 1");
  EXPECT_EQ(error_of([&] { ConfigReader(json::parse("{}")).integer("epochs", std::nullopt); }),
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
