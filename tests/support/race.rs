//! Requests that race: every racer is set up first, then all are released
//! from one barrier, and the race reports how many were in flight when the
//! first answer came, so that a test can assert that they did overlap (a
//! "race" whose racers ran one after another tests nothing).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Barrier;

/// The answers, in the order the racers were given, and the overlap seen.
pub struct Race<T> {
    pub answers: Vec<T>,
    /// Racers that had started when the first answer came.
    pub started_before_first_answer: usize,
    /// The most racers in flight at once.
    pub max_in_flight: usize,
}

impl<T> Race<T> {
    /// Asserts that every racer was in flight before any answered.
    #[track_caller]
    pub fn assert_overlapped(&self) {
        assert_eq!(
            self.started_before_first_answer,
            self.answers.len(),
            "not every racer had started when the first answer came: no race"
        );
    }
}

impl<T> Race<T> {
    /// Asserts that at least `n` racers were in flight at once. For races of
    /// more racers than a loaded machine can set off before the fastest is
    /// answered (dozens of SDK requests built and signed on two cores),
    /// where what the test needs is many at once, not all.
    #[track_caller]
    pub fn assert_in_flight_at_once(&self, n: usize) {
        println!(
            "{} of {} racers in flight at once at most ({} started before the first answer)",
            self.max_in_flight,
            self.answers.len(),
            self.started_before_first_answer
        );
        assert!(
            self.max_in_flight >= n,
            "at most {} of {} racers were in flight at once, fewer than {n}: no race",
            self.max_in_flight,
            self.answers.len()
        );
    }

    /// [`Race::assert_overlapped`] where the store makes requests wait.
    /// The embedded store answers from memory without ever waiting, so a
    /// request that does not hash a password runs from start to answer
    /// without yielding, and its racers may well run one after another
    /// (the store's single connection settles them in turn). On DynamoDB
    /// every store call waits on the network: the racers must overlap.
    #[track_caller]
    pub fn assert_overlapped_on(&self, backend: crate::Backend) {
        println!(
            "{backend:?}: {} of {} racers started before the first answer",
            self.started_before_first_answer,
            self.answers.len()
        );
        if backend == crate::Backend::Dynamo {
            self.assert_overlapped();
        }
    }
}

/// Runs `racers` (futures, already set up: nothing runs before the barrier)
/// each on its own task, all released at once.
pub async fn race<T, Fut>(racers: impl IntoIterator<Item = Fut>) -> Race<T>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let racers: Vec<Fut> = racers.into_iter().collect();
    let start = Arc::new(Barrier::new(racers.len()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let at_first_answer = Arc::new(OnceLock::new());
    let tasks: Vec<_> = racers
        .into_iter()
        .map(|racer| {
            let (start, in_flight, max_in_flight, started, at_first_answer) = (
                Arc::clone(&start),
                Arc::clone(&in_flight),
                Arc::clone(&max_in_flight),
                Arc::clone(&started),
                Arc::clone(&at_first_answer),
            );
            tokio::spawn(async move {
                start.wait().await;
                // A task the barrier woke runs next on the waking worker
                // (tokio's LIFO slot), after the waker's request: yielding
                // puts every racer in the queues idle workers steal from,
                // so that racers run side by side on their own threads.
                tokio::task::yield_now().await;
                started.fetch_add(1, Ordering::SeqCst);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_in_flight.fetch_max(now, Ordering::SeqCst);
                let answer = racer.await;
                let _ = at_first_answer.set(started.load(Ordering::SeqCst));
                in_flight.fetch_sub(1, Ordering::SeqCst);
                answer
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("racer"));
    }
    Race {
        answers,
        started_before_first_answer: *at_first_answer.get().expect("an answer"),
        max_in_flight: max_in_flight.load(Ordering::SeqCst),
    }
}
