/*
 * fusion.h - header-only C library (musl, x86-64) for Exo-OS Fusion Rings, the native
 * shared-memory IPC: raw system calls, the ring's layout, single, batch and in-place send and
 * receive, blocking waits (docs/ipc.md's protocol), call/reply hand-off, grants and rights.
 * The channels and flow control built on top of it are in fusion_chan.h.
 *
 * The contract is crates/abi/src/fusion.rs (numbers, structs, layout, words) and docs/ipc.md.
 * Every function returns a negative errno on failure (never -1/errno): -EAGAIN (would block),
 * -EPIPE (peer gone or ring shut down), -EPROTO (the peer wrote something invalid into shared
 * memory; the ring is then marked broken and every later call returns -EPROTO), -EMSGSIZE.
 * On Linux every fusion system call answers -ENOSYS.
 *
 * Threading: one thread sends and one thread receives on a given ring at a time (a direction
 * has one writer and one reader), as in the protocol.
 */
#ifndef FUSION_H
#define FUSION_H

/* The library in parts (each includes what it needs): */
#include "fusion_abi.h"  /* ABI, system calls, layout */
#include "fusion_ring.h" /* struct fusion_ring, attach/open/close */
#include "fusion_send.h" /* sending, batch cursors */
#include "fusion_recv.h" /* receiving, batch cursors */
#include "fusion_wait.h" /* waiting, call, grants */

#endif /* FUSION_H */
