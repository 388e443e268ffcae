// The message of the nabla::Error a call throws, for tests that check what an error says.
#pragma once
#include <string>

#include "nabla/core/error.h"

namespace nabla::test_support {

// "(no error)" when the call returns normally.
template <typename F>
std::string error_of(F&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace nabla::test_support
