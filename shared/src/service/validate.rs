//! Input rules shared by every operation that takes user data.

use crate::error::{Error, Result};

mod store_limits;
pub use store_limits::{device_info, login_email};

pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_OPTIONAL_FIELD_CHARS: usize = 200;

/// Trimmed and lower-cased, if it has the form of an address:
/// `local@domain.tld`, no spaces or control characters, within RFC 5321 sizes.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let invalid = || Error::validation("email must be a valid email address");
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2);
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(invalid())
    }
}

/// Trimmed, 1..=`max` characters, no control characters.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String> {
    let value = raw.trim();
    let chars = value.chars().count();
    if chars == 0 {
        return Err(Error::validation(format!("{field} must not be empty")));
    }
    if chars > max {
        return Err(Error::validation(format!(
            "{field} must be at most {max} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(value.to_owned())
}

pub fn name(field: &str, raw: &str) -> Result<String> {
    text(field, raw, MAX_NAME_CHARS)
}

/// An optional field: absent or blank is None, otherwise the `text` rules.
pub fn optional(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, MAX_OPTIONAL_FIELD_CHARS).map(Some),
    }
}

/// A user id from a path: ids are UUIDs, so anything else names no user
/// (and is answered as one, without a store read).
pub fn user_id(raw: &str) -> Result<&str> {
    match uuid::Uuid::try_parse(raw) {
        Ok(_) => Ok(raw),
        Err(_) => Err(Error::UserNotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(normalize_email("  Ada@ACME.com ").unwrap(), "ada@acme.com");
        assert_eq!(
            normalize_email("a.b+c@sub.example.org").unwrap(),
            "a.b+c@sub.example.org"
        );
    }

    #[test]
    fn odd_addresses_are_refused() {
        for bad in [
            "",
            "ada",
            "@acme.com",
            "ada@",
            "ada@acme",
            "ada@@acme.com",
            "a da@acme.com",
            "ada@acme..com",
            ".ada@acme.com",
            "ada@-acme.com",
            "ada@acme.c",
            "ada\n@acme.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@acme.com", "a".repeat(250));
        assert!(normalize_email(&long).is_err());
    }

    #[test]
    fn names_follow_the_rules() {
        assert_eq!(name("firstName", "  Ada ").unwrap(), "Ada");
        assert!(name("firstName", "   ").is_err());
        assert!(name("firstName", &"x".repeat(101)).is_err());
        name("firstName", &"é".repeat(100)).unwrap();
        let err = name("firstName", "Ada\u{0007}").unwrap_err();
        assert!(err.to_string().contains("control characters"));
    }
}
