// See hash_memory.h: libsodium's argon2 memory on 2 MiB pages.
#include "users/hash_memory.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
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
using MunmapFn = int (*)(void*, size_t);

// A sanitizer's runtime maps memory through this mmap while it initializes,
// before its own hooks may run: nothing on the way may be instrumented.
#define FU_UNINSTRUMENTED __attribute__((no_sanitize("address,thread,undefined")))

// Plain variables read with the compiler's builtins: std::atomic's members
// are functions a sanitizer build may leave out of line, instrumented.
bool g_enabled = false;
unsigned long g_advised = 0;
MmapFn g_next = nullptr;
MunmapFn g_next_munmap = nullptr;

// The hashing memory a thread keeps between hashes (keep_for_this_thread).
// Trivial, so thread_local is a plain TLS slot: no initializer or destructor
// call on the way of an uninstrumented mmap.
struct Kept {
    void* base;
    size_t length;
    int prot;
    bool keep;
    bool in_use;
};
thread_local Kept t_kept;
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
pthread_key_t g_key;  // its destructor gives a thread's kept memory back
bool g_key_made = false;

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

FU_UNINSTRUMENTED int next_munmap(void* addr, size_t length) {
    MunmapFn next = __atomic_load_n(&g_next_munmap, __ATOMIC_ACQUIRE);
    if (!next) {
        next = reinterpret_cast<MunmapFn>(dlsym(RTLD_NEXT, "munmap"));
        if (next) __atomic_store_n(&g_next_munmap, next, __ATOMIC_RELEASE);
    }
    if (next) return next(addr, length);
    return static_cast<int>(syscall(SYS_munmap, addr, length));
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
    if (aligned > start) next_munmap(got, aligned - start);
    const uintptr_t end = aligned + mapped;
    if (start + span > end) next_munmap(reinterpret_cast<void*>(end), start + span - end);
    void* p = reinterpret_cast<void*>(aligned);
    (void)madvise(p, mapped, MADV_HUGEPAGE);  // EINVAL without THP in the kernel: small pages
    // What a hash writes stays out of core dumps and out of a forked child.
    (void)madvise(p, mapped, MADV_DONTDUMP);
    (void)madvise(p, mapped, MADV_WIPEONFORK);
    // A kernel before 5.14 refuses MADV_POPULATE_WRITE: the pages come on first touch instead.
    if (prot & PROT_WRITE) (void)madvise(p, mapped, MADV_POPULATE_WRITE);
    __atomic_fetch_add(&g_advised, 1, __ATOMIC_RELAXED);
    return p;
}

FU_UNINSTRUMENTED bool overlaps(const Kept& k, void* addr, size_t length) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(addr), b = reinterpret_cast<uintptr_t>(k.base);
    return k.base && a < b + k.length && b < a + length;
}

// The kept memory is no longer this thread's to hand out (unmapped, or
// mapped over, by someone else than libsodium's hash).
FU_UNINSTRUMENTED void forget(Kept& k) {
    k = Kept{nullptr, 0, 0, k.keep, false};
}

FU_UNINSTRUMENTED void release(Kept& k) {
    if (!k.base || k.in_use) return;
    next_munmap(k.base, k.length);
    k.base = nullptr;
    k.length = 0;
}

// glibc has cleared the key when this runs: a hash later in the thread's
// end (another key's destructor) would keep memory nothing gives back.
void give_back_at_exit(void*) {
    t_kept.keep = false;
    release(t_kept);
}

void make_key() {
    g_key_made = pthread_key_create(&g_key, give_back_at_exit) == 0;
}

}  // namespace

void enable() {
    __atomic_store_n(&g_enabled, true, __ATOMIC_RELEASE);
}

unsigned long advised() {
    return __atomic_load_n(&g_advised, __ATOMIC_RELAXED);
}

void keep_for_this_thread() {
    pthread_once(&g_key_once, make_key);
    if (!g_key_made) return;  // no way to give it back at exit: not kept
    t_kept.keep = true;
    (void)pthread_setspecific(g_key, &t_kept);  // not null: the destructor runs at exit
}

size_t kept_by_this_thread() {
    return t_kept.base ? t_kept.length : 0;
}

void release_this_thread() {
    release(t_kept);
}

}  // namespace fu::hash_memory

// Stands in front of libc's mmap for every caller in the process (libsodium
// included); see hash_memory.h.
extern "C" __attribute__((visibility("default"))) FU_UNINSTRUMENTED void* mmap(
    void* addr, size_t length, int prot, int flags, int fd, off_t offset) noexcept {
    using namespace fu::hash_memory;
    if (!__atomic_load_n(&g_enabled, __ATOMIC_ACQUIRE))
        return next_mmap(addr, length, prot, flags, fd, offset);
    Kept& k = t_kept;
    // A fixed mapping replaces what it covers, kept memory included (the
    // kernel may have unmapped it even when the new mapping fails).
    if ((flags & MAP_FIXED) && overlaps(k, addr, length)) forget(k);
    if (is_hashing_memory(addr, length, flags, fd)) {
        if (k.base && !k.in_use) {
            if (k.length == length && k.prot == prot) {
                k.in_use = true;  // zeroed when it was given back, and still in memory
                return k.base;
            }
            release(k);  // hashes of other parameters: the newest size is kept
        }
        void* p = map_huge(length, prot, flags);
        if (p != MAP_FAILED) {
            // Kept only writable, as libsodium maps it (zeroing it must not fault).
            if (k.keep && !k.base && prot == (PROT_READ | PROT_WRITE))
                k = Kept{p, length, prot, true, true};
            return p;
        }
    }
    return next_mmap(addr, length, prot, flags, fd, offset);
}

// The kept memory's owner giving it back: zeroed, and kept for its next
// hash. Every other unmapping goes on to the next munmap.
extern "C" __attribute__((visibility("default"))) FU_UNINSTRUMENTED int munmap(
    void* addr, size_t length) noexcept {
    using namespace fu::hash_memory;
    if (__atomic_load_n(&g_enabled, __ATOMIC_ACQUIRE)) {
        Kept& k = t_kept;
        if (k.in_use && addr == k.base && length == k.length) {
            explicit_bzero(addr, length);
            k.in_use = false;
            return 0;
        }
        // Any other unmapping that touches the kept memory unmaps it for real
        // and, once it did, the memory is no longer this thread's to hand out.
        if (overlaps(k, addr, length)) {
            const int r = next_munmap(addr, length);
            if (r == 0) forget(k);
            return r;
        }
    }
    return next_munmap(addr, length);
}
