#pragma once
// Includes Catch2 whichever major version the build found (v3 where available, Debian's v2
// otherwise); tests use only the macros both versions share.
#ifdef HERALD_CATCH3
#include <catch2/catch_template_test_macros.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#else
#include <catch2/catch.hpp>
#endif
