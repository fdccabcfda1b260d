# Initial-cache file for a ThreadSanitizer build. Use it with -C:
#
#   cmake -S . -B build-tsan -C toolchain/cmake/tsan.cmake
#   cmake --build build-tsan --target unit_tests sfshim_differential_tests sfshim_fault_tests sfshim_fuzz
#
# As with asan-ubsan.cmake, only the test targets are built: the preloadable
# library cannot link a sanitizer runtime. Fork-heavy tests need
# TSAN_OPTIONS=die_after_fork=0 (toolchain/sanitize.sh sets it).
set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "" FORCE)
set(SFSHIM_SANITIZE_FLAGS "-fsanitize=thread -fno-omit-frame-pointer")
set(CMAKE_C_FLAGS "${SFSHIM_SANITIZE_FLAGS}" CACHE STRING "" FORCE)
set(CMAKE_CXX_FLAGS "${SFSHIM_SANITIZE_FLAGS}" CACHE STRING "" FORCE)
set(CMAKE_EXE_LINKER_FLAGS "-fsanitize=thread" CACHE STRING "" FORCE)
set(CMAKE_SHARED_LINKER_FLAGS "-fsanitize=thread" CACHE STRING "" FORCE)
# The sanitizer runtimes do not link into static programs, and the commands are
# not what these builds test: link them dynamically here.
set(SFSHIM_STATIC_COMMANDS OFF CACHE BOOL "" FORCE)
set(SFSHIM_BUILD_TESTS ON CACHE STRING "" FORCE)
