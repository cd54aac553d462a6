//! Who is calling: passwords, access tokens, refresh tokens, mailed tokens,
//! outside providers' ID tokens.

pub mod access;
pub mod digest;
pub mod github;
pub mod key_ring;
pub mod keys;
pub mod mail_token;
pub mod mfa_key;
pub mod oidc;
pub mod password;
pub mod providers;
pub mod refresh;
pub mod signing;
pub mod totp;
