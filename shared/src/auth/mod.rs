//! Who is calling: passwords, access tokens and refresh tokens.

pub mod access;
pub mod password;
pub mod refresh;
