//! One file per family of handlers: request shape in, service call,
//! response shape out. `routes.rs` names which handler serves which route.

pub(crate) mod account;
pub(crate) mod health;
pub(crate) mod keys;
pub(crate) mod mail;
pub(crate) mod members;
pub(crate) mod mfa;
pub(crate) mod organization;
pub(crate) mod quota;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod social;
pub(crate) mod users;
