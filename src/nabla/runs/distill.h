// training.distill: a run learns from a teacher run's soft targets as well as from its labels
// (train::Distillation): {"teacher": RUN, "temperature": 2, "alpha": 0.5, "precision": "fp32"}.
// The teacher is a finished run of the same task; a text student tokenizes as its teacher did, so
// both score the same vocabulary.
#pragma once
#include <memory>
#include <optional>

#include "nabla/io/config.h"
#include "nabla/models/registry.h"
#include "nabla/runs/loaded_run.h"
#include "nabla/runs/task_data.h"
#include "nabla/train/model.h"

namespace nabla::runs {

// The teacher run config's training.distill.teacher names, loaded (before the data: its tokenizer
// is the student's), or nothing without training.distill.
std::unique_ptr<LoadedRun> load_teacher(const io::json& config);

// Reads training.distill (finish() is called) and checks the teacher against the student: the
// same task, classes or vocabulary, tokenizer and input. Errors name both sides.
train::Distillation read_distillation(io::ConfigReader distill, LoadedRun& teacher, const TaskData& data,
                                      const models::BuiltModel& student);

}  // namespace nabla::runs
