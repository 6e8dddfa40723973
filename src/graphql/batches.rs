//! Runs a request's loader batches on the request's own task, and only when its
//! resolvers have nothing else to do. Every key asked for while resolving one level is
//! then in one batch, whatever the machine's load: the statement count of a request
//! depends on its depth, not on timing (a timer on another thread would cut batches
//! short under load).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};

/// The queue that a request's DataLoaders spawn their batches into.
#[derive(Clone, Default)]
pub struct Batches(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl Batches {
    /// The spawner to give `DataLoader::new`.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let queue = self.0.clone();
        move |batch| {
            if let Ok(mut q) = queue.lock() {
                q.push(batch);
            }
        }
    }

    /// Drives `request` to completion, running queued batches whenever it waits.
    pub async fn drive<F: Future>(&self, request: F) -> F::Output {
        Drive {
            request: Box::pin(request),
            queue: self.0.clone(),
            running: FuturesUnordered::new(),
        }
        .await
    }
}

struct Drive<F: Future> {
    request: Pin<Box<F>>,
    queue: Arc<Mutex<Vec<BoxFuture<'static, ()>>>>,
    running: FuturesUnordered<BoxFuture<'static, ()>>,
}

/// Wakes the task, and remembers that the request itself was woken.
struct Woken {
    flag: AtomicBool,
    task: Waker,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::SeqCst);
        self.task.wake_by_ref();
    }
}

impl<F: Future> Future for Drive<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let woken = Arc::new(Woken {
            flag: AtomicBool::new(false),
            task: cx.waker().clone(),
        });
        let waker = Waker::from(woken.clone());
        loop {
            if let Poll::Ready(out) = self.request.as_mut().poll(&mut Context::from_waker(&waker)) {
                return Poll::Ready(out);
            }
            if woken.flag.swap(false, Ordering::SeqCst) {
                // The resolvers have more to do right now: let them ask for more keys.
                continue;
            }
            let queued: Vec<_> = self
                .queue
                .lock()
                .map(|mut q| q.drain(..).collect())
                .unwrap_or_default();
            self.running.extend(queued);
            while let Poll::Ready(Some(())) = self.running.poll_next_unpin(cx) {}
            if !woken.flag.swap(false, Ordering::SeqCst) {
                return Poll::Pending;
            }
        }
    }
}
