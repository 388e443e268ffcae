# The project's commands. `make run` and `make test` install what is missing first.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)

.PHONY: setup setup-peers build run test asan-build test-asan test-asan-fast test-tsan fuzz soak bench golden clean

setup:
	@bash scripts/setup.sh

setup-peers:
	@bash scripts/setup-peers.sh

build: setup
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The main job: the articles' neuron (their TensorFlow listing), the Keras-style CNN on Fashion-MNIST (2 epochs) and a small
# character-level GPT on the King James Bible, through the `nabla` command line. Runs go to
# runs/demo/; running it again moves the previous demo runs to runs/demo/<name>.replaced-N.
run: build
	@echo "== The articles' sigmoid neuron: X = [[1,2,3],[4,5,6],[7,8,9]], y = [1,0,1], SGD 0.1, MSE, 1000 epochs =="
	@$(BUILD_DIR)/examples/sigmoid_neuron
	@echo
	@echo "== The articles' Keras-style CNN on Fashion-MNIST (Adam, 2 epochs) =="
	@$(BUILD_DIR)/bin/nabla train configs/fashion_cnn.json --set training.epochs=2 --out runs/demo/fashion_cnn --overwrite --verbose 2
	@echo
	@echo "== A small character-level GPT on the King James Bible (about 3 minutes) =="
	@$(BUILD_DIR)/bin/nabla train configs/gpt_demo.json --out runs/demo/gpt_demo --overwrite --verbose 2

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The suite under AddressSanitizer + UBSan; test-asan-fast leaves out the end-to-end runs (the
# command line, whole models, 200 kill trials, MPI jobs), as CI does.
asan-build: setup
	@cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNABLA_SANITIZE=address -DNABLA_BUILD_BENCH=OFF > /dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)

test-asan: asan-build
	@cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

test-asan-fast: asan-build
	@cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -LE '^(apps|models)$$' -E 'CrashSafety|DataParallel'

# The threaded parts (the prefetching loader, and fit with it) under ThreadSanitizer. One kernel
# thread: libgomp is not instrumented, so TSan cannot see its barriers and would report them.
test-tsan: setup
	@cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNABLA_SANITIZE=thread -DNABLA_BUILD_BENCH=OFF -DNABLA_MPI=OFF > /dev/null
	@cmake --build $(TSAN_DIR) -j $(JOBS) --target data_test train_test
	@cd $(TSAN_DIR) && NABLA_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) -L '^(data|train)$$'

# libFuzzer on every parser of outside input (clang, ASan + UBSan), FUZZ_SECONDS each; findings
# land in build-fuzz/fuzz-findings/ and the table in build-fuzz/fuzz-summary.md.
fuzz: setup
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNABLA_FUZZ=ON \
	  -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_BENCH=OFF -DOpenMP_CXX_FLAGS=-fopenmp=libgomp -DOpenMP_CXX_LIB_NAMES=gomp \
	  -DOpenMP_gomp_LIBRARY=$$(gcc -print-file-name=libgomp.so) > /dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers
	@bash scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# GPT small for SOAK_MINUTES with evaluation and checkpoints: memory and descriptors must not grow.
SOAK_MINUTES ?= 30
soak: build
	@bash scripts/soak.sh $(BUILD_DIR) $(SOAK_MINUTES)

# Side by side with PyTorch in one run; writes bench/RESULTS.md.
bench: build setup-peers
	@python3 bench/compare.py --nabla $(BUILD_DIR)/bench/nabla_bench --out bench/RESULTS.md
	@python3 bench/workloads.py --nabla $(BUILD_DIR)/bin/nabla --append bench/RESULTS.md
	@python3 bench/generation.py --nabla $(BUILD_DIR)/bin/nabla --append bench/RESULTS.md

# Regenerates the PyTorch and Keras golden files (needs setup-peers); the op cases come from the op registry.
golden: build setup-peers
	@python3 tests/golden/make_golden.py --dump $(BUILD_DIR)/tests/op_registry_dump
	@python3 tests/golden/nn/make_nn_golden.py
	@python3 tests/golden/nn_sequence/make_golden.py
	@python3 tests/golden/optim/make_optim_golden.py
	@python3 tests/golden/training/make_training_golden.py
	@python3 tests/golden/models/make_gpt_golden.py
	@python3 tests/golden/neuron/make_neuron_golden.py
	@KERAS_BACKEND=torch python3 tests/golden/keras/make_keras_golden.py
	@python3 tests/golden/pretrained/make_pretrained_golden.py
	@python3 tests/golden/pretrained/check_export.py $(BUILD_DIR)

clean:
	@rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR)
