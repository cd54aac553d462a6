//! Input rules shared by every operation that takes user data.

use icu_normalizer::ComposingNormalizerBorrowed;
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use crate::error::{Error, Result};

mod store_limits;
pub use store_limits::{device_info, login_email};

pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_OPTIONAL_FIELD_CHARS: usize = 200;

/// One spelling per mailbox, if it has the form of an address:
/// `local@domain.tld`, no spaces, control or invisible characters, within
/// RFC 5321 sizes. Trimmed, NFKC-normalised (full-width and other
/// compatibility forms fold to their plain letters) and lower-cased; the
/// domain in IDNA's ASCII form (`bücher.de` and `xn--bcher-kva.de` are one
/// domain, stored as the latter).
pub fn normalize_email(raw: &str) -> Result<String> {
    let invalid = || Error::validation("email must be a valid email address");
    let trimmed = raw.trim();
    if trimmed.chars().any(is_invisible) {
        return Err(invalid());
    }
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let folded = nfkc
        .normalize(&nfkc.normalize(trimmed).to_lowercase())
        .into_owned();
    let (local, domain) = folded.rsplit_once('@').ok_or_else(invalid)?;
    let domain = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Allow,
            DnsLength::Verify,
        )
        .map_err(|_| invalid())?;
    let email = format!("{local}@{domain}");
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid());
    }
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
    if value.chars().any(is_invisible) {
        return Err(Error::validation(format!(
            "{field} must not contain invisible or direction-changing characters"
        )));
    }
    Ok(value.to_owned())
}

/// Characters that show nothing or change how the text around them is
/// shown: bidirectional controls (U+202E makes "Ada" read backwards),
/// zero-width spaces and joiners, and the rest of Unicode's
/// Default_Ignorable_Code_Point set; also line and paragraph separators.
/// Text holding them can pass for other text.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
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
            assert!(
                matches!(normalize_email(bad), Err(Error::Validation(_))),
                "{bad:?}"
            );
        }
        let long = format!("{}@acme.com", "a".repeat(250));
        assert!(matches!(normalize_email(&long), Err(Error::Validation(_))));
    }

    #[test]
    fn one_mailbox_has_one_spelling() {
        for spelling in [
            "ada@bücher.de",
            "ADA@BÜCHER.DE",
            "ada@xn--bcher-kva.de",
            "ada@bu\u{0308}cher.de",
            "ａｄａ@ｂüｃｈｅｒ.ｄｅ",
        ] {
            assert_eq!(
                normalize_email(spelling).unwrap(),
                "ada@xn--bcher-kva.de",
                "{spelling}"
            );
        }
        assert_eq!(normalize_email("ＡＤＡ@acme.com").unwrap(), "ada@acme.com");
        // A Unicode local part is folded the same way, and kept.
        assert_eq!(
            normalize_email("Jose\u{0301}@acme.com").unwrap(),
            "jos\u{e9}@acme.com"
        );
    }

    #[test]
    fn invisible_characters_are_refused_in_emails_and_names() {
        for bad in [
            "ada\u{200B}@acme.com",
            "ada@ac\u{00AD}me.com",
            "\u{202E}ada@acme.com",
            "ada@acme.com\u{2066}",
            "ada@xn--zzzz.com",
        ] {
            assert!(
                matches!(normalize_email(bad), Err(Error::Validation(_))),
                "{bad:?}"
            );
        }
        for bad in [
            "Ada\u{202E}ecalevol",
            "A\u{200B}da",
            "Ada\u{2067}",
            "\u{FEFF}Ada",
            "Ad\u{200D}a",
            "Ada\u{2028}King",
        ] {
            let err = name("firstName", bad).unwrap_err();
            assert_eq!(err.code(), "VALIDATION_ERROR");
            assert!(err.to_string().contains("invisible"), "{bad:?}: {err}");
        }
        name("firstName", "Zoë").unwrap();
        name("firstName", "李").unwrap();
    }

    #[test]
    fn names_follow_the_rules() {
        assert_eq!(name("firstName", "  Ada ").unwrap(), "Ada");
        assert!(matches!(
            name("firstName", "   "),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            name("firstName", &"x".repeat(101)),
            Err(Error::Validation(_))
        ));
        name("firstName", &"é".repeat(100)).unwrap();
        let err = name("firstName", "Ada\u{0007}").unwrap_err();
        assert!(err.to_string().contains("control characters"));
    }
}
