// Small I/O helpers shared by every test library.
#pragma once

#include <string>

namespace sftest {

// Writes all of s to fd (retrying after EINTR and short writes); false on error.
bool write_all(int fd, const std::string &s);

} // namespace sftest
