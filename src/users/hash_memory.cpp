// See hash_memory.h: libsodium's argon2 memory on 2 MiB pages.
#include "users/hash_memory.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace fu::hash_memory {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

#ifndef MADV_POPULATE_WRITE
constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; older kernels refuse it (EINVAL)
#endif

using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);

// A sanitizer's runtime maps memory through this mmap while it initializes,
// before its own hooks may run: nothing on the way may be instrumented.
#define FU_UNINSTRUMENTED __attribute__((no_sanitize("address,thread,undefined")))

// Plain variables read with the compiler's builtins: std::atomic's members
// are functions a sanitizer build may leave out of line, instrumented.
bool g_enabled = false;
unsigned long g_advised = 0;
MmapFn g_next = nullptr;

// The mmap this file's stands in front of: libc's, or a sanitizer's
// interceptor when one is loaded (it must still see every mapping).
FU_UNINSTRUMENTED void* next_mmap(void* addr, size_t length, int prot, int flags, int fd,
                                  off_t offset) {
    MmapFn next = __atomic_load_n(&g_next, __ATOMIC_ACQUIRE);
    if (!next) {
        next = reinterpret_cast<MmapFn>(dlsym(RTLD_NEXT, "mmap"));
        if (next) __atomic_store_n(&g_next, next, __ATOMIC_RELEASE);
    }
    if (next) return next(addr, length, prot, flags, fd, offset);
    long r = syscall(SYS_mmap, addr, length, prot, flags, fd, offset);
    return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
}

FU_UNINSTRUMENTED bool is_hashing_memory(void* addr, size_t length, int flags, int fd) {
    return addr == nullptr && fd == -1 && (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) &&
           (flags & MAP_POPULATE) && !(flags & (MAP_FIXED | MAP_HUGETLB | MAP_GROWSDOWN)) &&
           length >= kHugePage && length <= (SIZE_MAX >> 1);
}

// `length` bytes starting on a 2 MiB boundary, advised huge pages, then
// populated as MAP_POPULATE would have. MAP_FAILED when no room was found.
FU_UNINSTRUMENTED void* map_huge(size_t length, int prot, int flags) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t mapped = (length + page - 1) / page * page;
    const size_t span = mapped + kHugePage;
    void* got = next_mmap(nullptr, span, prot, flags & ~MAP_POPULATE, -1, 0);
    if (got == MAP_FAILED) return MAP_FAILED;
    const uintptr_t start = reinterpret_cast<uintptr_t>(got);
    const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > start) munmap(got, aligned - start);
    const uintptr_t end = aligned + mapped;
    if (start + span > end) munmap(reinterpret_cast<void*>(end), start + span - end);
    void* p = reinterpret_cast<void*>(aligned);
    (void)madvise(p, mapped, MADV_HUGEPAGE);  // EINVAL without THP in the kernel: small pages
    // A kernel before 5.14 refuses MADV_POPULATE_WRITE: the pages come on first touch instead.
    if (prot & PROT_WRITE) (void)madvise(p, mapped, MADV_POPULATE_WRITE);
    __atomic_fetch_add(&g_advised, 1, __ATOMIC_RELAXED);
    return p;
}

}  // namespace

void enable() {
    __atomic_store_n(&g_enabled, true, __ATOMIC_RELEASE);
}

unsigned long advised() {
    return __atomic_load_n(&g_advised, __ATOMIC_RELAXED);
}

}  // namespace fu::hash_memory

// Stands in front of libc's mmap for every caller in the process (libsodium
// included); see hash_memory.h.
extern "C" __attribute__((visibility("default"))) FU_UNINSTRUMENTED void* mmap(
    void* addr, size_t length, int prot, int flags, int fd, off_t offset) noexcept {
    using namespace fu::hash_memory;
    if (__atomic_load_n(&g_enabled, __ATOMIC_ACQUIRE) &&
        is_hashing_memory(addr, length, flags, fd)) {
        void* p = map_huge(length, prot, flags);
        if (p != MAP_FAILED) return p;
    }
    return next_mmap(addr, length, prot, flags, fd, offset);
}
