#include "ivr/app/cli.hpp"

int main(int argc, char** argv) {
  return ivr::app::main_cli(argc, argv);
}
