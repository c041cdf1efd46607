#pragma once
// The command line: voice-ai-ivr [--config F] [--check-config] [--print-config] [serve|migrate|domain|token]

namespace ivr::app {

int main_cli(int argc, char** argv);

}  // namespace ivr::app
