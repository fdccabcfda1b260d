# CPack's per-generator settings (CPACK_PROJECT_CONFIG_FILE, read by cpack
# once per generator). The Debian package installs under /usr (the defaults
# in the top CMakeLists.txt); the tarball is relocatable: its paths start at
# the prefix (bin/sfshim, lib/libsfshim.so.0, ...), with no top directory, so
# that `tar -xzf sfshim-VERSION-linux-ARCH.tar.gz -C PREFIX` installs it, and
# the x86_64 and i386 tarballs unpack into one prefix (the library goes to
# lib/ and lib32/; the launcher, header and man pages are the same in both).
if(CPACK_GENERATOR MATCHES "^(TGZ|TXZ|TBZ2|TZST|ZIP)$")
  set(CPACK_PACKAGING_INSTALL_PREFIX "/")
  set(CPACK_SET_DESTDIR OFF)
  set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY OFF)
  set(CPACK_STRIP_FILES ON)
  set(CPACK_PACKAGE_FILE_NAME
      "${CPACK_PACKAGE_NAME}-${CPACK_PACKAGE_VERSION}-${CPACK_SFSHIM_SYSTEM}-${CPACK_SFSHIM_ARCH}")
endif()
