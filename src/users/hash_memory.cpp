// See hash_memory.h: libsodium's argon2 memory on 2 MiB pages.
#include "users/hash_memory.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace fu::hash_memory {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

#ifndef MADV_POPULATE_WRITE
constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; older kernels refuse it (EINVAL)
#endif

using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);

std::atomic<bool> g_enabled{false};
std::atomic<unsigned long> g_advised{0};
std::atomic<MmapFn> g_next{nullptr};

// The mmap this file's stands in front of: libc's, or a sanitizer's
// interceptor when one is loaded (it must still see every mapping).
void* next_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
    MmapFn next = g_next.load(std::memory_order_acquire);
    if (!next) {
        next = reinterpret_cast<MmapFn>(dlsym(RTLD_NEXT, "mmap"));
        if (next) g_next.store(next, std::memory_order_release);
    }
    if (next) return next(addr, length, prot, flags, fd, offset);
    long r = syscall(SYS_mmap, addr, length, prot, flags, fd, offset);
    return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
}

bool is_hashing_memory(void* addr, size_t length, int flags, int fd) {
    return addr == nullptr && fd == -1 && (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) &&
           (flags & MAP_POPULATE) && !(flags & (MAP_FIXED | MAP_HUGETLB | MAP_GROWSDOWN)) &&
           length >= kHugePage && length <= (SIZE_MAX >> 1);
}

// `length` bytes starting on a 2 MiB boundary, advised huge pages, then
// populated as MAP_POPULATE would have. MAP_FAILED when no room was found.
void* map_huge(size_t length, int prot, int flags) {
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
    g_advised.fetch_add(1, std::memory_order_relaxed);
    return p;
}

}  // namespace

void enable() {
    g_enabled.store(true, std::memory_order_release);
}

unsigned long advised() {
    return g_advised.load(std::memory_order_relaxed);
}

}  // namespace fu::hash_memory

// Stands in front of libc's mmap for every caller in the process (libsodium
// included); see hash_memory.h.
extern "C" __attribute__((visibility("default"))) void* mmap(void* addr, size_t length, int prot,
                                                             int flags, int fd,
                                                             off_t offset) noexcept {
    using namespace fu::hash_memory;
    if (g_enabled.load(std::memory_order_acquire) && is_hashing_memory(addr, length, flags, fd)) {
        void* p = map_huge(length, prot, flags);
        if (p != MAP_FAILED) return p;
    }
    return next_mmap(addr, length, prot, flags, fd, offset);
}
