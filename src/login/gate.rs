//! A counting gate with two queues: a waiter marked urgent gets the next free
//! place before every ordinary waiter, otherwise first come, first served.
//!
//! The browser's pages go through one: the cases that run alone among their
//! user's sign-ins (session probes, refreshes) are a chain, one after
//! another, while the other cases fill the other places; each link of the
//! chain waiting its turn for a page behind the others' would hold the whole
//! chain, and the run, back.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

#[derive(Default)]
struct State {
    free: usize,
    urgent: VecDeque<oneshot::Sender<()>>,
    ordinary: VecDeque<oneshot::Sender<()>>,
}

/// The gate; cheap to clone.
#[derive(Clone)]
pub struct Gate(Arc<Mutex<State>>);

/// A place, given back when dropped.
pub struct Place(Gate);

impl Gate {
    pub fn new(places: usize) -> Gate {
        Gate(Arc::new(Mutex::new(State {
            free: places.max(1),
            ..State::default()
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a place: `urgent` ones before the others. `None` only if
    /// the place promised to this waiter went missing.
    pub async fn enter(&self, urgent: bool) -> Option<Place> {
        let rx = {
            let mut s = self.state();
            let nobody_ahead = s.urgent.is_empty() && (urgent || s.ordinary.is_empty());
            if s.free > 0 && nobody_ahead {
                s.free -= 1;
                return Some(Place(self.clone()));
            }
            let (tx, rx) = oneshot::channel();
            if urgent {
                s.urgent.push_back(tx);
            } else {
                s.ordinary.push_back(tx);
            }
            rx
        };
        let mut waiting = Waiting { gate: self.clone(), rx };
        match (&mut waiting.rx).await {
            Ok(()) => {
                // The place is this waiter's now: `Waiting` must not hand it on.
                waiting.rx = oneshot::channel().1;
                Some(Place(self.clone()))
            }
            Err(_) => None,
        }
    }

    /// A place comes free: to the first live waiter, urgent ones first.
    fn release(&self) {
        let mut s = self.state();
        while let Some(tx) = s.urgent.pop_front().or_else(|| s.ordinary.pop_front()) {
            if tx.send(()).is_ok() {
                return;
            }
        }
        s.free += 1;
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A waiter's side; a waiter that goes away after it was given a place (its
/// future dropped before it saw it) gives the place on.
struct Waiting {
    gate: Gate,
    rx: oneshot::Receiver<()>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.rx.try_recv().is_ok() {
            self.gate.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn urgent_waiters_go_first_and_places_are_counted() {
        let gate = Gate::new(1);
        let held = gate.enter(false).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, urgent) in [("a", false), ("b", false), ("u", true)] {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _p = gate.enter(urgent).await.unwrap();
                order.lock().unwrap().push(name);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
            // Queued in this order.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec!["u", "a", "b"]);
        // Every place came back.
        let _again = gate.enter(false).await.unwrap();
        assert_eq!(gate.state().free, 0);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_take_a_place_with_it() {
        let gate = Gate::new(1);
        let held = gate.enter(false).await.unwrap();
        let gone = tokio::time::timeout(Duration::from_millis(10), gate.enter(true)).await;
        assert!(gone.is_err(), "it waited");
        drop(held);
        let again = tokio::time::timeout(Duration::from_millis(100), gate.enter(false)).await;
        assert!(again.is_ok_and(|p| p.is_some()), "the place is free again");
    }
}
