// CSV tables: numeric features, integer / real / named labels, quoting, and errors with file:line:column.
#include "nabla/data/csv.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "nabla/core/error.h"

using namespace nabla;
namespace fs = std::filesystem;

namespace {
std::string write_csv(const std::string& name, const std::string& text) {
  fs::path dir = fs::temp_directory_path() / ("nabla_csv_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}
std::string error_of(const std::string& path, const data::CsvOptions& options = {.label_column = "label"}) {
  try {
    data::read_csv(path, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(Csv, ReadsFeaturesAndIntegerLabels) {
  const std::string path = write_csv("good.csv", "a,label,b\n1.5,0,-2\n\n 3 ,1, 4e-1\r\n+5,2,6\n");
  data::CsvData d = data::read_csv(path, {.label_column = "label"});
  EXPECT_EQ(d.x.shape(), Shape({3, 2}));
  EXPECT_EQ(d.x.to_vector<float>(), (std::vector<float>{1.5f, -2, 3, 0.4f, 5, 6}));
  EXPECT_EQ(d.y.dtype(), DType::i64);
  EXPECT_EQ(d.y.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(d.class_names.empty());
}

TEST(Csv, RealTargetsNamedClassesQuotesAndNoLabel) {
  const std::string real = write_csv("real.csv", "x,y\n1,0.5\n2,1.25\n");
  data::CsvData r = data::read_csv(real, {.label_column = "y"});
  EXPECT_EQ(r.y.dtype(), DType::f32);
  EXPECT_EQ(r.y.to_vector<float>(), (std::vector<float>{0.5f, 1.25f}));
  // Whole-number targets can still be regression values when asked.
  data::CsvData as_values =
      data::read_csv(write_csv("int.csv", "x,y\n1,3\n2,4\n"), {.label_column = "y", .labels = data::CsvLabels::values});
  EXPECT_EQ(as_values.y.dtype(), DType::f32);

  const std::string named = write_csv("named.csv", "w;\"species; name\"\n1;\"virginica\"\n2;setosa\n3;\"virginica\"\n");
  data::CsvData n = data::read_csv(named, {.label_column = "species; name", .delimiter = ';'});
  EXPECT_EQ(n.class_names, (std::vector<std::string>{"setosa", "virginica"}));
  EXPECT_EQ(n.y.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));

  data::CsvData all = data::read_csv(real);
  EXPECT_EQ(all.x.shape(), Shape({2, 2}));
  EXPECT_FALSE(all.y.defined());
}

TEST(Csv, BadFilesNameFileLineAndColumn) {
  std::string path = write_csv("text_cell.csv", "a,b,label\n1,2,0\n3,abc,1\n");
  EXPECT_NE(error_of(path).find(path + ":3:3"), std::string::npos) << error_of(path);
  EXPECT_NE(error_of(path).find("\"abc\""), std::string::npos);

  path = write_csv("ragged.csv", "a,b,label\n1,2,0\n3,1\n");
  EXPECT_NE(error_of(path).find(path + ":3:4: row has 2 cells but the header has 3"), std::string::npos)
      << error_of(path);
  path = write_csv("long_row.csv", "a,b,label\n1,2,0,7\n");
  EXPECT_NE(error_of(path).find(path + ":2:7: row has 4 cells"), std::string::npos) << error_of(path);

  path = write_csv("empty_cell.csv", "a,b,label\n1,,0\n");
  EXPECT_NE(error_of(path).find(path + ":2:3: empty cell"), std::string::npos) << error_of(path);

  path = write_csv("no_label.csv", "a,b\n1,2\n");
  EXPECT_NE(error_of(path).find("no label column \"label\"; the columns are: a, b"), std::string::npos)
      << error_of(path);

  path = write_csv("quote.csv", "a,label\n\"1,0\n");
  EXPECT_NE(error_of(path).find(path + ":2:1: unterminated quoted field"), std::string::npos) << error_of(path);

  path = write_csv("header_only.csv", "a,label\n");
  EXPECT_NE(error_of(path).find("no data rows"), std::string::npos);
  path = write_csv("empty.csv", "");
  EXPECT_NE(error_of(path).find("empty"), std::string::npos);
  path = write_csv("dup.csv", "a,a,label\n1,2,3\n");
  EXPECT_NE(error_of(path).find("appears twice"), std::string::npos);
  path = write_csv("inf.csv", "a,label\ninf,1\n");
  EXPECT_NE(error_of(path).find("is not a number"), std::string::npos);
  path = write_csv("text_label.csv", "a,label\n1,cat\n");
  EXPECT_NE(error_of(path, {.label_column = "label", .labels = data::CsvLabels::values}).find(path + ":2:3"),
            std::string::npos);
  EXPECT_NE(error_of("/nonexistent/table.csv").find("not found"), std::string::npos);
}
