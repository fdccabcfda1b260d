# Initial-cache file for an AddressSanitizer + UndefinedBehaviorSanitizer build.
# Use it with -C (it only sets cache entries, so it composes with any compiler):
#
#   cmake -S . -B build-asan -C toolchain/cmake/asan-ubsan.cmake
#   cmake --build build-asan --target unit_tests sfshim_differential_tests sfshim_fault_tests sfshim_fuzz
#
# The flags go to C and C++ compiling and linking alike. The preloadable
# libsfshim.so links as C with --no-undefined and cannot carry the sanitizer
# runtimes: build the test targets (they link the static core), not `all`.
# toolchain/sanitize.sh does all of this.
set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "" FORCE)
set(SFSHIM_SANITIZE_FLAGS "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer")
set(CMAKE_C_FLAGS "${SFSHIM_SANITIZE_FLAGS}" CACHE STRING "" FORCE)
set(CMAKE_CXX_FLAGS "${SFSHIM_SANITIZE_FLAGS}" CACHE STRING "" FORCE)
set(CMAKE_EXE_LINKER_FLAGS "-fsanitize=address,undefined" CACHE STRING "" FORCE)
set(CMAKE_SHARED_LINKER_FLAGS "-fsanitize=address,undefined" CACHE STRING "" FORCE)
# The sanitizer runtimes do not link into static programs, and the commands are
# not what these builds test: link them dynamically here.
set(SFSHIM_STATIC_COMMANDS OFF CACHE BOOL "" FORCE)
set(SFSHIM_BUILD_TESTS ON CACHE STRING "" FORCE)
