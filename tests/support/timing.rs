//! What the timing tests (tests/login_timing.rs, tests/mail_timing.rs)
//! compare: medians of interleaved samples.

use std::time::Duration;

/// The median of `samples` (the mean of the middle two for an even count).
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let mid = samples.len() / 2;
    if samples.len().is_multiple_of(2) {
        (samples[mid - 1] + samples[mid]) / 2
    } else {
        samples[mid]
    }
}
