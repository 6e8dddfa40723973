//! The hub: the WebSocket subscriptions of this instance, and the events the listener
//! passes on to them.

use super::Signal;

/// This instance's subscriptions. Cheap to clone; [`Hub::signal`] never blocks.
#[derive(Clone, Default)]
pub struct Hub {}

impl Hub {
    /// Passes on what the listener heard. Never blocks the listener.
    pub fn signal(&self, signal: Signal) {
        let _ = signal;
    }
}
