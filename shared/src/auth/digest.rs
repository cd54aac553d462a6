//! The one digest that stored tokens share: what the store keeps of a
//! refresh token or a mailed token is its SHA-256, base64url.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn sha256_b64url(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
}
