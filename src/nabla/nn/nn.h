// The layers, in one include.
#pragma once

#include "nabla/nn/activation.h"
#include "nabla/nn/activation_checkpointing.h"
#include "nabla/nn/attention.h"
#include "nabla/nn/conv.h"
#include "nabla/nn/cross_entropy_head.h"
#include "nabla/nn/embedding.h"
#include "nabla/nn/init.h"
#include "nabla/nn/linear.h"
#include "nabla/nn/module.h"
#include "nabla/nn/normalization.h"
#include "nabla/nn/rnn.h"
#include "nabla/nn/sequential.h"
