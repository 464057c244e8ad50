# vcpkg overlay port for herald, kept in herald's own repository:
#   vcpkg install herald --overlay-ports=<herald>/packaging/vcpkg/ports
# or, in a manifest project, "dependencies": ["herald"] plus
#   "vcpkg-configuration": { "overlay-ports": ["<herald>/packaging/vcpkg/ports"] }.
#
# The sources are the repository this port sits in (four directories up). A registry port
# would fetch a release archive instead (vcpkg_from_git / vcpkg_from_github with a SHA512).
# tests/package (herald.package.vcpkg_port) runs the same CMake options and fix-ups.

# Header-only: nothing is compiled, one configuration is enough.
set(VCPKG_BUILD_TYPE release)

get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../../.." ABSOLUTE)
if(NOT EXISTS "${SOURCE_PATH}/include/herald/herald.hpp")
    message(FATAL_ERROR "herald's sources were not found at ${SOURCE_PATH}")
endif()

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        fmt HERALD_WITH_FMT
        redis HERALD_WITH_REDIS
)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DHERALD_BUILD_TESTS=OFF
        -DHERALD_BUILD_EXAMPLES=OFF
        -DHERALD_BUILD_BENCH=OFF
        -DHERALD_INSTALL=ON
        ${FEATURE_OPTIONS}
)
vcpkg_cmake_install()

# herald installs its package files to share/cmake/herald; vcpkg wants share/herald.
vcpkg_cmake_config_fixup(PACKAGE_NAME herald CONFIG_PATH share/cmake/herald)
vcpkg_fixup_pkgconfig()

# Header-only: no libraries, no debug tree; the license is installed as the copyright file.
file(REMOVE_RECURSE
    "${CURRENT_PACKAGES_DIR}/debug"
    "${CURRENT_PACKAGES_DIR}/lib"
    "${CURRENT_PACKAGES_DIR}/share/doc")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
