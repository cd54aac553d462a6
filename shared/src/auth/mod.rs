//! Who is calling: passwords, access tokens and refresh tokens.

pub mod access;
pub mod key_ring;
pub mod keys;
pub mod password;
pub mod refresh;
