// Argon2id's memory on huge pages. libsodium maps each hash's memory (19 MiB
// by default) with mmap(MAP_POPULATE), reads it at random and unmaps it. On
// 4 KiB pages that is ~5000 pages, far more than the TLB holds, so nearly
// every block read misses it, and every context switch that flushes the TLB
// (a login's hand-offs to nginx, MariaDB and the server interrupt a hash
// several times) starts the walk over. On 2 MiB pages it is ten entries.
// Measured on the bench stack (bench/README, twelfth round): a hash's CPU in
// the helpers 52-58 ms on 4 KiB pages, 14-15 ms on huge ones.
//
// libsodium has no allocator hook, so this file defines mmap: once enable()
// ran, an anonymous, private mapping asked with MAP_POPULATE and at least
// 2 MiB long (libsodium's argon2 memory; nothing else in fcgi-users maps so)
// is placed on a 2 MiB boundary, advised MADV_HUGEPAGE and then populated.
// The caller gets the length it asked for and unmaps it as before. Every
// other mapping, and every mapping before enable(), goes to the next mmap
// (libc's, or a sanitizer's) unchanged. Where the kernel gives no huge pages
// (transparent_hugepage `never`, none free) the advice does nothing and the
// hash runs on small pages, as libsodium's own mapping would.
//
// A thread that hashes one password after another (a hash helper, the
// bench's raw argon2id) may also keep that memory between hashes
// (keep_for_this_thread): the mapping libsodium gives back is zeroed and
// kept, and the thread's next hash of the same size gets it again, already
// in memory, instead of the kernel allocating, zeroing and mapping 19 MiB of
// huge pages and unmapping them after (1.3-1.7 ms a hash here, against
// 0.3-0.4 ms for zeroing it in place: bench/README, thirteenth round). The
// memory holds nothing of a password between hashes: it is zeroed before
// it is kept. A thread's kept memory is given back when it ends, or when it
// calls release_this_thread (a helper left without requests for a while);
// a hash of another size gives it back and the new size is kept. The
// memory is the thread's alone: only that thread's munmap or mmap(MAP_FIXED)
// over it is seen (then it is forgotten); another thread unmapping it, or
// mremap, would go unnoticed, and nothing in fcgi-users does either. Hash
// memory, kept or not, is advised out of core dumps and wiped in a forked
// child (MADV_DONTDUMP, MADV_WIPEONFORK).
#pragma once

#include <cstddef>

namespace fu::hash_memory {

// From now on, hashing memory is advised huge pages (idempotent, thread-safe).
void enable();

// Mappings advised since the process started (tests: libsodium's hashing
// really comes through here).
unsigned long advised();

// From now on, the calling thread keeps its hashing memory between hashes
// (after enable(); idempotent).
void keep_for_this_thread();

// Bytes of hashing memory the calling thread keeps (0 or one hash's).
size_t kept_by_this_thread();

// Gives back the memory the calling thread keeps, if any and not in use; it
// goes on keeping the next hash's.
void release_this_thread();

}  // namespace fu::hash_memory
