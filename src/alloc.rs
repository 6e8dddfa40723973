//! The process's allocator: mimalloc, asked for alignment only when a type needs more
//! than every block has.
//!
//! The `mimalloc` crate passes every allocation through `mi_malloc_aligned`, whose fast
//! path only serves blocks up to 1 KiB that happen to be aligned; a dashboard's larger
//! allocations (boxed field futures, answer buffers) fell to its generic aligned path,
//! 37 % of all allocations and 10 % of the instructions of a staff dashboard. Every
//! mimalloc block is aligned to a pointer's size, so a layout that asks no more than
//! that takes the plain `mi_malloc` paths.
//!
//! mimalloc returns freed memory to the system only when the thread that freed it
//! allocates or frees again; a worker that goes quiet after a burst would keep it. So a
//! worker that parks while nothing executes gives its freed memory back ([`on_park`]).

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned,
};

/// What mimalloc guarantees for every block, whatever its size.
const BLOCK_ALIGN: usize = std::mem::size_of::<usize>();

pub struct Mimalloc;

// SAFETY: each method forwards to mimalloc's matching function, aligned whenever the
// layout asks more than every block is, and `dealloc` frees what mimalloc returned.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= BLOCK_ALIGN {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= BLOCK_ALIGN {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            if layout.align() <= BLOCK_ALIGN {
                mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

/// Requests executing now (see [`Executing`]).
static EXECUTING: AtomicUsize = AtomicUsize::new(0);

/// Held while a request executes: a worker returns memory only when none is held.
pub struct Executing(());

impl Executing {
    pub fn start() -> Executing {
        EXECUTING.fetch_add(1, Ordering::Relaxed);
        Executing(())
    }
}

impl Drop for Executing {
    fn drop(&mut self) {
        EXECUTING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// For the runtime's `on_thread_park`: when nothing executes, this worker's freed memory
/// goes back to the system, at most once a second per worker (under load there is
/// always an execution, so this costs a load and a comparison).
pub fn on_park() {
    const EVERY: Duration = Duration::from_secs(1);
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    }
    if EXECUTING.load(Ordering::Relaxed) != 0 {
        return;
    }
    LAST.with(|last| {
        let now = Instant::now();
        if last.get().is_some_and(|t| now.duration_since(t) < EVERY) {
            return;
        }
        last.set(Some(now));
        // SAFETY: collects this thread's mimalloc heap; no pointer is passed.
        unsafe { libmimalloc_sys::mi_collect(true) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alignment_a_type_can_ask_is_honoured() {
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [align, 24.max(align), 1000, 1025, 70_000] {
                let size = size.next_multiple_of(align);
                let layout = Layout::from_size_align(size, align).unwrap();
                unsafe {
                    let p = Mimalloc.alloc(layout);
                    assert!(
                        !p.is_null() && (p as usize).is_multiple_of(align),
                        "{size} bytes aligned {align}"
                    );
                    let q = Mimalloc.realloc(p, layout, size * 3);
                    assert!(
                        !q.is_null() && (q as usize).is_multiple_of(align),
                        "grown {size} aligned {align}"
                    );
                    Mimalloc.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = Mimalloc.alloc_zeroed(layout);
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|b| *b == 0));
                    Mimalloc.dealloc(z, layout);
                }
            }
        }
    }
}
