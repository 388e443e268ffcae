// `nabla`: train, evaluate and sample the models of the library from JSON configs.
#include <CLI/CLI.hpp>
#include <iostream>

#include "nabla/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"nabla: define, train, evaluate and run neural networks"};
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const nabla::Error& e) {
    std::cerr << "nabla: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
