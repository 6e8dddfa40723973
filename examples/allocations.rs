//! What one dashboard allocates: the driver of `instructions` (`support/dashboard.rs`)
//! over the system allocator, counted. Run by `make instructions` (bench/run.py) after
//! the instruction counts, and usable under `valgrind --tool=dhat`, which sees the
//! system allocator (mimalloc, linked in, it would not).
//!
//! ```sh
//! allocations <body.json> <tokens.txt> <warm-up requests> <measured requests>
//! ```
//!
//! Prints one line: allocations per request by size, bytes allocated per request, and
//! the most bytes live at once within one request (what each request in flight adds to
//! the server's resident memory).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

#[path = "support/dashboard.rs"]
mod dashboard;

#[global_allocator]
static GLOBAL: Census = Census;

/// The system allocator, counting: bytes live now, the most live since the last reset,
/// and allocations by size (up to 64, 256, 1 KiB, 4 KiB, 16 KiB, and larger).
struct Census;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static BY_SIZE: [AtomicUsize; 6] = [const { AtomicUsize::new(0) }; 6];
static BYTES: AtomicUsize = AtomicUsize::new(0);
const BUCKETS: [usize; 5] = [64, 256, 1024, 4096, 16384];

fn allocated(size: usize) {
    let live = LIVE.fetch_add(size as isize, Ordering::Relaxed) + size as isize;
    PEAK.fetch_max(live, Ordering::Relaxed);
    BY_SIZE[BUCKETS.iter().take_while(|b| size > **b).count()].fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(size, Ordering::Relaxed);
}

fn freed(size: usize) {
    LIVE.fetch_sub(size as isize, Ordering::Relaxed);
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Census {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocated(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocated(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        freed(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        freed(layout.size());
        allocated(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn main() -> anyhow::Result<()> {
    let (mut start, mut peak, mut counted) = (0, 0, None);
    let m = dashboard::main("allocations", |before| {
        if before {
            // Only the measured requests count (warm-up fills caches once).
            let by_size = BY_SIZE.each_ref().map(|c| c.load(Ordering::Relaxed));
            counted.get_or_insert((by_size, BYTES.load(Ordering::Relaxed)));
            start = LIVE.load(Ordering::Relaxed);
            PEAK.store(start, Ordering::Relaxed);
        } else {
            peak = peak.max(PEAK.load(Ordering::Relaxed) - start);
        }
    })?;
    let (by_size0, bytes0) = counted.unwrap_or_default();
    let per = |n: usize| n / m.requests.max(1);
    let by_size: Vec<usize> = BY_SIZE
        .iter()
        .zip(by_size0)
        .map(|(c, c0)| per(c.load(Ordering::Relaxed) - c0))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "allocations_by_size": by_size,
            "sizes": ["<=64", "<=256", "<=1K", "<=4K", "<=16K", ">16K"],
            "bytes_per_request": per(BYTES.load(Ordering::Relaxed) - bytes0),
            "peak_live_bytes_per_request": peak,
            "statements_per_request": m.statements as f64 / m.requests.max(1) as f64,
            "answer_bytes_per_request": per(m.answer_bytes),
        })
    );
    Ok(())
}
