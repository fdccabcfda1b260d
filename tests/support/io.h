// Small I/O helpers shared by every test library.
#pragma once

#include <string>

namespace sftest {

// Writes all of s to fd (retrying after EINTR and short writes); false on error.
bool write_all(int fd, const std::string &s);

// Appends what fd delivers to *out until end of file, an error, or timeout_ms;
// true when the time ran out first.
bool read_until_eof(int fd, int timeout_ms, std::string *out);

} // namespace sftest
