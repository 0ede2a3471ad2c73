// Compiled by tests/header.rs: the C++ header alone, warning-free under -Wall -Wextra -pedantic.
#include "proxy_wifi.hpp"
