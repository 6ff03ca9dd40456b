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
#pragma once

namespace fu::hash_memory {

// From now on, hashing memory is advised huge pages (idempotent, thread-safe).
void enable();

// Mappings advised since the process started (tests: libsodium's hashing
// really comes through here).
unsigned long advised();

}  // namespace fu::hash_memory
