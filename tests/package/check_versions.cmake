# cmake -DSOURCE=<herald source> -DVERSION=<version> -P check_versions.cmake
# The version lives in include/herald/version.hpp (CMake and the Conan recipe parse it);
# the vcpkg manifests carry a copy, which must agree.
foreach(manifest vcpkg.json packaging/vcpkg/ports/herald/vcpkg.json)
    file(READ "${SOURCE}/${manifest}" json)
    string(JSON manifest_version ERROR_VARIABLE error GET "${json}" version)
    if(error)
        message(FATAL_ERROR "${manifest}: no \"version\" (${error})")
    endif()
    if(NOT manifest_version STREQUAL VERSION)
        message(FATAL_ERROR "${manifest} says version ${manifest_version}, "
                            "include/herald/version.hpp says ${VERSION}")
    endif()
    message(STATUS "${manifest}: ${manifest_version}")
endforeach()
file(STRINGS "${SOURCE}/packaging/conan/conanfile.py" hardcoded REGEX "^ *version *=")
if(hardcoded)
    message(FATAL_ERROR "packaging/conan/conanfile.py hardcodes a version (${hardcoded}); "
                        "it must come from include/herald/version.hpp (set_version)")
endif()
