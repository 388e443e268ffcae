// Prints the op test registry (tests/ops/op_registry.cpp) as JSON, for tests/golden/make_golden.py.
#include <iostream>

#include "../ops/op_registry.h"

int main() {
  std::cout << nabla::op_registry::to_json().dump(1) << "\n";
  return 0;
}
