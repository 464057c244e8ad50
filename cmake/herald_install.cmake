# Install and export rules (included by the top-level CMakeLists.txt when HERALD_INSTALL is ON).
#
# An install holds exactly:
#   include/herald/**.hpp                 the headers, at the same <herald/...> paths as in
#                                         the source tree
#   share/cmake/herald/*.cmake            package config, ARCH_INDEPENDENT version file,
#                                         exported targets and one file per optional component
#   share/pkgconfig/herald.pc             for pkg-config users
#   share/doc/herald/LICENSE
# Nothing is architecture dependent, so everything but the headers lives under share/.
# tests/package checks this list against a fresh install.
#
# The build tree is usable as a package too: -Dherald_DIR=<herald build dir>.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HERALD_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/herald"
    CACHE STRING "Where herald's CMake package files are installed (relative to the prefix)")
set(HERALD_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig"
    CACHE STRING "Where herald.pc is installed (relative to the prefix)")
mark_as_advanced(HERALD_INSTALL_CMAKEDIR HERALD_INSTALL_PKGCONFIGDIR)

# ---- core target --------------------------------------------------------------------------
install(TARGETS herald
    EXPORT heraldTargets
    FILE_SET HEADERS DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    # For consumers with CMake older than 3.23, which ignore imported file sets.
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT heraldTargets
    NAMESPACE herald::
    FILE heraldTargets.cmake
    DESTINATION "${HERALD_INSTALL_CMAKEDIR}")
export(EXPORT heraldTargets
    NAMESPACE herald::
    FILE "${PROJECT_BINARY_DIR}/heraldTargets.cmake")

# ---- package config and version -----------------------------------------------------------
# One generated file serves the build tree and the install: it only refers to files next to
# itself (CMAKE_CURRENT_LIST_DIR).
configure_package_config_file(
    "${CMAKE_CURRENT_LIST_DIR}/heraldConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/heraldConfig.cmake"
    INSTALL_DESTINATION "${HERALD_INSTALL_CMAKEDIR}"
    NO_SET_AND_CHECK_MACRO)

# 0.x releases may break the API in every minor version; from 1.0 on, majors do.
if(PROJECT_VERSION_MAJOR EQUAL 0)
    set(herald_version_compatibility SameMinorVersion)
else()
    set(herald_version_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/heraldConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}"
    COMPATIBILITY ${herald_version_compatibility}
    ARCH_INDEPENDENT)

install(FILES
    "${PROJECT_BINARY_DIR}/heraldConfig.cmake"
    "${PROJECT_BINARY_DIR}/heraldConfigVersion.cmake"
    DESTINATION "${HERALD_INSTALL_CMAKEDIR}")

# ---- optional components ------------------------------------------------------------------
# herald_add_package_component(<name> TARGET <target> DEPENDENCY <package> <version>
#                              [DEPENDENCY_TARGET <imported target>] [FIND_MODULE <file>])
# Exports <target> (EXPORT_NAME already set, e.g. herald::fmt) in its own export set and
# writes herald-<name>-component.cmake, which heraldConfig.cmake includes when the consumer
# asks for the component: it finds <package> (at least <version>) unless
# DEPENDENCY_TARGET (default <package>::<package>) already exists. A missing dependency makes
# only that component not found. FIND_MODULE (Find<package>.cmake, for a dependency that
# ships no CMake package, like asio) is installed next to the component file and used to find
# the dependency. The target must be defined before this file is included.
function(herald_add_package_component name)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "TARGET;DEPENDENCY_TARGET;FIND_MODULE" "DEPENDENCY")
    list(GET arg_DEPENDENCY 0 dependency)
    list(GET arg_DEPENDENCY 1 dependency_version)
    set(dependency_target "${dependency}::${dependency}")
    if(arg_DEPENDENCY_TARGET)
        set(dependency_target "${arg_DEPENDENCY_TARGET}")
    endif()
    install(TARGETS ${arg_TARGET} EXPORT herald-${name}-targets)
    install(EXPORT herald-${name}-targets
        NAMESPACE herald::
        FILE herald-${name}-targets.cmake
        DESTINATION "${HERALD_INSTALL_CMAKEDIR}")
    export(EXPORT herald-${name}-targets
        NAMESPACE herald::
        FILE "${PROJECT_BINARY_DIR}/herald-${name}-targets.cmake")
    set(module_path_push "")
    set(module_path_pop "")
    if(arg_FIND_MODULE)
        get_filename_component(find_module_name "${arg_FIND_MODULE}" NAME)
        configure_file("${arg_FIND_MODULE}" "${PROJECT_BINARY_DIR}/${find_module_name}" COPYONLY)
        install(FILES "${arg_FIND_MODULE}" DESTINATION "${HERALD_INSTALL_CMAKEDIR}")
        set(module_path_push "list(PREPEND CMAKE_MODULE_PATH \"\${CMAKE_CURRENT_LIST_DIR}\")")
        set(module_path_pop "list(REMOVE_AT CMAKE_MODULE_PATH 0)")
    endif()
    file(CONFIGURE OUTPUT "${PROJECT_BINARY_DIR}/herald-${name}-component.cmake"
        @ONLY CONTENT [=[
# herald component '@name@' (included by heraldConfig.cmake when it is asked for).
if(NOT TARGET @dependency_target@)
    @module_path_push@
    find_package(@dependency@ @dependency_version@ QUIET)
    @module_path_pop@
endif()
if(NOT TARGET @dependency_target@)
    set(herald_@name@_FOUND FALSE)
    set(_herald_component_reason
        "needs @dependency@ @dependency_version@ or newer, which was not found")
    return()
endif()
include("${CMAKE_CURRENT_LIST_DIR}/herald-@name@-targets.cmake")
set(herald_@name@_FOUND TRUE)
]=])
    install(FILES "${PROJECT_BINARY_DIR}/herald-${name}-component.cmake"
        DESTINATION "${HERALD_INSTALL_CMAKEDIR}")
endfunction()

if(TARGET herald_fmt)
    # A fmt::fmt that is not imported belongs to a parent project (add_subdirectory of
    # both); it cannot be referred to from an installed package, so the component is skipped.
    get_target_property(herald_fmt_imported fmt::fmt IMPORTED)
    if(herald_fmt_imported)
        herald_add_package_component(fmt TARGET herald_fmt DEPENDENCY fmt 9)
    else()
        message(STATUS "herald: fmt::fmt is not an imported target; "
                       "herald::fmt is not exported as a package component")
    endif()
endif()

herald_redis_install_components() # cmake/herald_redis.cmake
if(TARGET herald_asio)
    # As for fmt: an asio::asio of a parent project cannot be referred to from a package.
    get_target_property(herald_asio_imported asio::asio IMPORTED)
    if(herald_asio_imported)
        herald_add_package_component(asio TARGET herald_asio DEPENDENCY asio 1.18
            FIND_MODULE "${CMAKE_CURRENT_LIST_DIR}/Findasio.cmake")
    else()
        message(STATUS "herald: asio::asio is not an imported target; "
                       "herald::asio is not exported as a package component")
    endif()
endif()

# ---- pkg-config ---------------------------------------------------------------------------
# Relocatable: the prefix is found from the .pc file's own location when the directories are
# relative to the prefix (the default).
if(IS_ABSOLUTE "${HERALD_INSTALL_PKGCONFIGDIR}")
    set(HERALD_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
    file(RELATIVE_PATH herald_pc_to_prefix
        "/herald-prefix/${HERALD_INSTALL_PKGCONFIGDIR}" "/herald-prefix")
    string(REGEX REPLACE "/$" "" herald_pc_to_prefix "${herald_pc_to_prefix}")
    set(HERALD_PC_PREFIX "\${pcfiledir}/${herald_pc_to_prefix}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(HERALD_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
    set(HERALD_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# What Threads::Threads links here (empty where threads live in the C library).
set(HERALD_PC_LIBS "${CMAKE_THREAD_LIBS_INIT}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/herald.pc.in" "${PROJECT_BINARY_DIR}/herald.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/herald.pc"
    DESTINATION "${HERALD_INSTALL_PKGCONFIGDIR}")

# ---- license ------------------------------------------------------------------------------
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DOCDIR}")
