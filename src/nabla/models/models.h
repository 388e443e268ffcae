// The models layer in one include: architectures, their registry and generation.
#pragma once

#include "nabla/models/classifiers.h"
#include "nabla/models/generation.h"
#include "nabla/models/gpt.h"
#include "nabla/models/keras_init.h"
#include "nabla/models/language_model.h"
#include "nabla/models/recurrent_lm.h"
#include "nabla/models/registry.h"
