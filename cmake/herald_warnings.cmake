# Private helper: the strict warning set for herald's own tests, examples and benchmarks.
# Nothing here reaches consumers of herald::herald.
#
# HERALD_WERROR turns those warnings into errors. It is OFF by default, so that a user's build
# with a newer or older compiler is not broken by a warning nobody here has seen yet; the
# project's own presets (CMakePresets.json) turn it ON, where every warning must be fixed.
option(HERALD_WERROR "Treat warnings in herald's own tests, examples and benchmarks as errors" OFF)

function(herald_target_warnings target)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(${target} PRIVATE
            -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow)
        if(HERALD_WERROR)
            target_compile_options(${target} PRIVATE -Werror)
        endif()
    elseif(MSVC)
        target_compile_options(${target} PRIVATE /W4 /permissive-)
        if(HERALD_WERROR)
            target_compile_options(${target} PRIVATE /WX)
        endif()
    endif()
endfunction()
