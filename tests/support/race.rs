//! Requests that race: every racer is set up first, then all are released
//! at once, and the race reports how many were in flight when the
//! first answer came, so that a test can assert that they did overlap (a
//! "race" whose racers ran one after another tests nothing).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;

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

    /// [`Race::assert_overlapped`], saying which store it was on.
    #[track_caller]
    pub fn assert_overlapped_on(&self, backend: crate::Backend) {
        println!(
            "{backend:?}: {} of {} racers started before the first answer, {} in flight at most",
            self.started_before_first_answer,
            self.answers.len(),
            self.max_in_flight
        );
        self.assert_overlapped();
    }
}

/// Runs `racers` (futures, already set up: nothing runs before the race),
/// all released at once: they are polled together, so each runs up to its
/// first wait (its first store call) before any is resumed. Every racer's
/// first request is then out before any answer is read, on either store,
/// however loaded the machine (racers on tasks of their own did not
/// overlap on the embedded store, whose answers take microseconds: the
/// first racer could be done before a busy machine had started the last);
/// afterwards they interleave at every wait. Blocking work (argon2,
/// SQLite) still runs in parallel on tokio's blocking threads.
pub async fn race<T, Fut>(racers: impl IntoIterator<Item = Fut>) -> Race<T>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let at_first_answer = Arc::new(OnceLock::new());
    let mut running: Vec<Pin<Box<dyn Future<Output = T> + Send>>> = racers
        .into_iter()
        .map(|racer| {
            let (in_flight, max_in_flight, started, at_first_answer) = (
                Arc::clone(&in_flight),
                Arc::clone(&max_in_flight),
                Arc::clone(&started),
                Arc::clone(&at_first_answer),
            );
            Box::pin(async move {
                started.fetch_add(1, Ordering::SeqCst);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_in_flight.fetch_max(now, Ordering::SeqCst);
                let answer = racer.await;
                let _ = at_first_answer.set(started.load(Ordering::SeqCst));
                in_flight.fetch_sub(1, Ordering::SeqCst);
                answer
            }) as Pin<Box<dyn Future<Output = T> + Send>>
        })
        .collect();
    let mut answers: Vec<Option<T>> = running.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (racer, answer) in running.iter_mut().zip(answers.iter_mut()) {
            if answer.is_none()
                && let Poll::Ready(done) = racer.as_mut().poll(cx)
            {
                *answer = Some(done);
            }
        }
        if answers.iter().all(Option::is_some) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    Race {
        answers: answers.into_iter().map(|a| a.expect("answered")).collect(),
        started_before_first_answer: *at_first_answer.get().expect("an answer"),
        max_in_flight: max_in_flight.load(Ordering::SeqCst),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Backend;

    /// Racers run one after another, as the check sees them.
    fn in_turn() -> Race<()> {
        Race {
            answers: vec![(), (), ()],
            started_before_first_answer: 1,
            max_in_flight: 1,
        }
    }

    #[test]
    #[should_panic(expected = "no race")]
    fn racers_in_turn_fail_on_the_embedded_store() {
        in_turn().assert_overlapped_on(Backend::Embedded);
    }

    #[test]
    #[should_panic(expected = "no race")]
    fn racers_in_turn_fail_on_dynamodb() {
        in_turn().assert_overlapped_on(Backend::Dynamo);
    }

    #[tokio::test]
    async fn racers_that_wait_all_start_before_the_first_answers() {
        let raced = race((0..3).map(|_| async { tokio::task::yield_now().await }));
        let raced = raced.await;
        assert_eq!(raced.started_before_first_answer, 3);
        assert_eq!(raced.max_in_flight, 3);
    }

    #[tokio::test]
    async fn a_racer_that_never_waits_is_done_before_the_next_starts() {
        let raced = race((0..3).map(|_| async {})).await;
        assert_eq!(raced.started_before_first_answer, 1);
        assert_eq!(raced.max_in_flight, 1);
    }
}
