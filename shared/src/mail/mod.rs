//! Mail delivery: the templates mails are rendered from, and the loop that
//! turns outbox records into sent mail (SES on AWS, `.eml` files locally).
//! The records themselves are `model::mail`; it sits above the store,
//! which it reads and marks.
//!
//! A request that must mail writes the token's hash and an outbox record in
//! one transaction, and answers; delivery happens later and elsewhere
//! ([`deliver`]), so that a mail provider that is down never fails or slows
//! a request.

pub mod deliver;
pub mod render;
#[cfg(feature = "mailer")]
pub mod ses;
#[cfg(feature = "mailer")]
pub mod stream;
