// The models layer in one include: architectures, generation, the registry and runs.
#pragma once

#include "nabla/models/classifiers.h"
#include "nabla/models/generation.h"
#include "nabla/models/gpt.h"
#include "nabla/models/language_model.h"
#include "nabla/models/recurrent_lm.h"
#include "nabla/models/registry.h"
#include "nabla/models/run.h"
#include "nabla/models/task_data.h"
