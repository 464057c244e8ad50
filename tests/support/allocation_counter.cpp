// Replaces the global allocation functions to count this thread's allocations on demand.
// The counting is a thread_local flag plus counter, so other threads are not affected.
#include "counting.hpp"

#include <cstdlib>
#include <new>

namespace {
thread_local bool counting = false;
thread_local std::size_t count = 0;

void* allocate(std::size_t size) {
    if (counting) {
        ++count;
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
} // namespace

void herald_test::AllocationCounter::start() noexcept {
    count = 0;
    counting = true;
}
std::size_t herald_test::AllocationCounter::stop() noexcept {
    counting = false;
    return count;
}

void* operator new(std::size_t size) {
    return allocate(size);
}
void* operator new[](std::size_t size) {
    return allocate(size);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
