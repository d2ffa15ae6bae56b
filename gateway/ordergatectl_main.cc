// ordergatectl: see gateway/ordergatectl.h (and --help).
#include <iostream>

#include "gateway/ordergatectl.h"

int main(int argc, char** argv) {
  return ordergate::gateway::ctl::RunOrdergatectl(argc, argv, std::cout, std::cerr);
}
