// The runs layer in one include: a validated config becomes a run (train, bench), and a run
// directory becomes a loaded model again (eval, predict, generate, summary); Hugging Face
// folders import as runs and export back.
#pragma once

#include "nabla/runs/bench_run.h"
#include "nabla/runs/distill.h"
#include "nabla/runs/eval_run.h"
#include "nabla/runs/freeze.h"
#include "nabla/runs/hf_runs.h"
#include "nabla/runs/init_from.h"
#include "nabla/runs/loaded_run.h"
#include "nabla/runs/run_optimizer.h"
#include "nabla/runs/task_data.h"
#include "nabla/runs/train_run.h"
