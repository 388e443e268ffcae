// The data layer in one include: datasets, readers, tokenizers, transforms and the DataLoader.
#pragma once

#include "nabla/data/char_tokenizer.h"
#include "nabla/data/csv.h"
#include "nabla/data/data_loader.h"
#include "nabla/data/dataset.h"
#include "nabla/data/idx.h"
#include "nabla/data/image_file.h"
#include "nabla/data/sentencepiece_tokenizer.h"
#include "nabla/data/split.h"
#include "nabla/data/text_corpus.h"
#include "nabla/data/text_datasets.h"
#include "nabla/data/tokenizer.h"
#include "nabla/data/transforms.h"
#include "nabla/data/utf8.h"
#include "nabla/data/word_tokenizer.h"
