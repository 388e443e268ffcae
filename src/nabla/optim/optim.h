// The optimizers, learning-rate schedules and gradient clipping, in one include.
#pragma once

#include "nabla/optim/adagrad.h"
#include "nabla/optim/adam.h"
#include "nabla/optim/clip.h"
#include "nabla/optim/make_optimizer.h"
#include "nabla/optim/optimizer.h"
#include "nabla/optim/rmsprop.h"
#include "nabla/optim/schedulers.h"
#include "nabla/optim/sgd.h"
