#include "nabla/runs/distill.h"

#include "nabla/core/error.h"
#include "nabla/models/language_model.h"
#include "nabla/ops/autocast.h"

namespace nabla::runs {

using models::Task;

namespace {

// The classes a model scores: a language model's vocabulary rows, else the data's classes.
int64_t scored_classes(const models::BuiltModel& built, int64_t data_classes) {
  if (const auto* lm = dynamic_cast<const models::LanguageModel*>(built.module.get())) return lm->vocab_size();
  return data_classes;
}

}  // namespace

std::unique_ptr<LoadedRun> load_teacher(const io::json& config) {
  if (!config.is_object() || !config.contains("training") || !config["training"].is_object() ||
      !config["training"].contains("distill"))
    return nullptr;
  const io::json& distill = config["training"]["distill"];
  NABLA_CHECK(distill.is_object() && distill.contains("teacher") && distill["teacher"].is_string(),
              "training.distill: needs \"teacher\", the run directory of a trained teacher");
  const std::string dir = distill["teacher"].get<std::string>();
  try {
    return std::make_unique<LoadedRun>(load_run(dir));
  } catch (const Error& e) {
    throw Error("training.distill.teacher \"" + dir + "\": " + e.what());
  }
}

train::Distillation read_distillation(io::ConfigReader distill, LoadedRun& teacher, const TaskData& data,
                                      const models::BuiltModel& student) {
  const std::string dir = distill.string("teacher", std::nullopt);
  train::Distillation d;
  d.teacher = teacher.model.module;
  d.temperature = distill.number("temperature", 2.0, 1e-3, 1e3);
  d.alpha = distill.number("alpha", 0.5, 0, 1);
  d.teacher_precision = parse_precision(distill.string("precision", "fp32", {"fp32", "bf16"}));
  distill.finish();

  const std::string where = "training.distill.teacher \"" + dir + "\"";
  NABLA_CHECK(student.task == Task::classification || student.task == Task::language_model, where,
              ": distillation needs a classifier or a language model (scores over classes), but this run's model is a ",
              student.type);
  NABLA_CHECK(teacher.model.task == student.task, where, ": the teacher (", teacher.model.type, ") and the student (",
              student.type, ") do different tasks");
  const int64_t teacher_classes = scored_classes(teacher.model, teacher.info.at("data_shape").at("classes"));
  const int64_t student_classes = scored_classes(student, data.shape.classes);
  NABLA_CHECK(teacher_classes == student_classes, where, ": the teacher scores ", teacher_classes, " ",
              student.task == Task::language_model ? "tokens (its vocabulary)" : "classes", ", the student ",
              student_classes, "; they must score the same ones");
  if (teacher.tokenizer || data.tokenizer)
    NABLA_CHECK(teacher.tokenizer && data.tokenizer && teacher.tokenizer->to_json() == data.tokenizer->to_json(), where,
                ": the teacher's tokenizer (", teacher.tokenizer ? teacher.tokenizer->type() : "none",
                ") is not the student's (", data.tokenizer ? data.tokenizer->type() : "none",
                "); a student tokenizes with its teacher's tokenizer unless model.init_from gives another");
  const auto teacher_input = teacher.info.at("data_shape").at("input").get<std::vector<int64_t>>();
  if (student.task == Task::language_model) {
    const auto* lm = dynamic_cast<const models::LanguageModel*>(teacher.model.module.get());
    NABLA_CHECK(
        !lm || lm->context_length() == 0 || data.shape.input.empty() || data.shape.input[0] <= lm->context_length(),
        where, ": the student's sequences of ", data.shape.input[0],
        " tokens are longer than the teacher's context of ", lm ? lm->context_length() : 0);
  } else {
    NABLA_CHECK(Shape(teacher_input) == data.shape.input, where, ": the teacher reads examples of shape ",
                Shape(teacher_input), ", the student's data ", data.shape.input);
  }
  return d;
}

}  // namespace nabla::runs
