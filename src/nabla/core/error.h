// nabla::Error: the one exception type. Messages say what went wrong, where, and what to do.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace nabla {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <typename T, typename... Rest>
void append_all(std::ostringstream& out, const T& first, const Rest&... rest) {
  out << first;
  append_all(out, rest...);
}
}  // namespace detail

// Builds a message from any streamable parts: fail("matmul: ", a.shape(), " vs ", b.shape()).
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream out;
  detail::append_all(out, parts...);
  throw Error(out.str());
}

}  // namespace nabla

// Checks user-facing conditions; unlike assert it stays on in Release builds.
#define NABLA_CHECK(condition, ...)               \
  do {                                            \
    if (!(condition)) ::nabla::fail(__VA_ARGS__); \
  } while (0)
