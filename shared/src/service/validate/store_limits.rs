//! Limits that come from what the stores can keep. SQLite keeps anything;
//! DynamoDB refuses an item whose key is over 2048 bytes, whose maps nest
//! more than 32 levels, or whose numbers are outside its range (38 digits,
//! magnitude 1E-130 to 9.99E+125): a refusal that would reach the client as
//! a 500 after the password was checked. These checks run before any store
//! call, so both stores answer such input alike, with a 400 naming the field.

use serde_json::Value;

use super::MAX_EMAIL_CHARS;
use crate::error::{Error, Result};

/// deviceInfo as JSON text: a user agent, a device name, a few flags.
pub const MAX_DEVICE_INFO_BYTES: usize = 4096;
/// deviceInfo itself is level 1; DynamoDB allows 32.
pub const MAX_DEVICE_INFO_DEPTH: usize = 8;
/// Object members and array elements, counted at every level.
pub const MAX_DEVICE_INFO_ENTRIES: usize = 100;
pub const MAX_DEVICE_INFO_KEY_CHARS: usize = 128;
/// DynamoDB's number range: a non-zero magnitude from 1E-130 to below 1E+126.
const DYNAMODB_MIN_MAGNITUDE: f64 = 1e-130;
const DYNAMODB_MAX_MAGNITUDE: f64 = 1e126;

/// The address login looks up: normalised as register stores it (so that
/// any spelling of one mailbox finds its account), within RFC 5321's 254
/// characters (it is a key in the store: `EMAIL#…`, `THROTTLE#…`). An
/// address that cannot exist is only trimmed and lower-cased, and answered
/// like any unknown one.
pub fn login_email(raw: &str) -> Result<String> {
    let email = super::normalize_email(raw).unwrap_or_else(|_| raw.trim().to_lowercase());
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(Error::validation(format!(
            "email must be at most {MAX_EMAIL_CHARS} characters"
        )));
    }
    Ok(email)
}

/// A session's `deviceInfo`, as the client sent it, if every store can keep it.
pub fn device_info(value: &Value) -> Result<()> {
    let invalid = |rule: String| Error::validation(format!("deviceInfo {rule}"));
    // Serializing a Value cannot fail (its keys are strings).
    let bytes = serde_json::to_vec(value).map_or(usize::MAX, |text| text.len());
    if bytes > MAX_DEVICE_INFO_BYTES {
        return Err(invalid(format!(
            "must be at most {MAX_DEVICE_INFO_BYTES} bytes as JSON"
        )));
    }
    let mut entries = 0;
    check_value(value, 1, &mut entries).map_err(invalid)
}

fn check_value(
    value: &Value,
    depth: usize,
    entries: &mut usize,
) -> std::result::Result<(), String> {
    let nested = matches!(value, Value::Object(_) | Value::Array(_));
    if nested && depth > MAX_DEVICE_INFO_DEPTH {
        return Err(format!(
            "must be at most {MAX_DEVICE_INFO_DEPTH} levels deep"
        ));
    }
    let mut count = |n: usize| {
        *entries += n;
        if *entries > MAX_DEVICE_INFO_ENTRIES {
            Err(format!(
                "must have at most {MAX_DEVICE_INFO_ENTRIES} keys and array items"
            ))
        } else {
            Ok(())
        }
    };
    match value {
        Value::Object(map) => {
            count(map.len())?;
            for (key, inner) in map {
                check_key(key)?;
                check_value(inner, depth + 1, entries)?;
            }
        }
        Value::Array(items) => {
            count(items.len())?;
            for inner in items {
                check_value(inner, depth + 1, entries)?;
            }
        }
        Value::Number(number) => check_number(number)?,
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
    Ok(())
}

fn check_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() {
        return Err("keys must not be empty".into());
    }
    if key.chars().count() > MAX_DEVICE_INFO_KEY_CHARS {
        return Err(format!(
            "keys must be at most {MAX_DEVICE_INFO_KEY_CHARS} characters"
        ));
    }
    Ok(())
}

/// Integers (at most 20 digits) always fit; a fraction or exponent is an
/// f64 (at most 17 significant digits), whose magnitude must fit.
fn check_number(number: &serde_json::Number) -> std::result::Result<(), String> {
    if number.is_i64() || number.is_u64() {
        return Ok(());
    }
    let magnitude = number.as_f64().map(f64::abs);
    match magnitude {
        Some(m) if m == 0.0 || (DYNAMODB_MIN_MAGNITUDE..DYNAMODB_MAX_MAGNITUDE).contains(&m) => {
            Ok(())
        }
        _ => Err("numbers must be 0 or of a magnitude from 1e-130 to below 1e126".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nested(depth: usize) -> Value {
        (1..depth).fold(json!({"leaf": true}), |inner, _| json!({"n": inner}))
    }

    fn message(result: Result<()>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
        let message = err.to_string();
        assert!(message.starts_with("deviceInfo "), "{message}");
        message
    }

    #[test]
    fn login_emails_are_trimmed_lower_cased_and_at_most_254_characters() {
        assert_eq!(login_email("  Ada@ACME.com ").unwrap(), "ada@acme.com");
        // Not an address at all: still looked up, like any unknown one.
        assert_eq!(login_email("not-an-address").unwrap(), "not-an-address");
        // Register's spelling of the mailbox, whatever the client typed.
        assert_eq!(
            login_email("ＡＤＡ@bücher.de").unwrap(),
            "ada@xn--bcher-kva.de"
        );
        let longest = format!("{}@acme.com", "a".repeat(254 - 9));
        assert_eq!(login_email(&longest).unwrap(), longest);
        for too_long in [
            format!("{}@acme.com", "a".repeat(254 - 8)),
            "é".repeat(255),
            "a".repeat(3000),
        ] {
            let err = login_email(&too_long).unwrap_err();
            assert_eq!(err.code(), "VALIDATION_ERROR");
            assert_eq!(err.to_string(), "email must be at most 254 characters");
        }
    }

    #[test]
    fn ordinary_device_info_is_kept() {
        device_info(&json!({
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)", "os": "linux",
            "screen": {"w": 1920, "h": 1080, "ratio": 1.5, "tiny": 1e-100, "big": 9.9e125},
            "tags": ["a", null, false, -12, 18446744073709551615_u64, 0.0, -0.0],
            "empty": {}, "blank": ""
        }))
        .unwrap();
        device_info(&nested(MAX_DEVICE_INFO_DEPTH)).unwrap();
    }

    #[test]
    fn deeper_than_eight_levels_is_refused() {
        assert!(message(device_info(&nested(MAX_DEVICE_INFO_DEPTH + 1))).contains("levels deep"));
        // DynamoDB's own limit is 32: 40 is far past both.
        message(device_info(&nested(40)));
        let arrays = (1..=MAX_DEVICE_INFO_DEPTH).fold(json!([]), |inner, _| json!([inner]));
        assert!(message(device_info(&arrays)).contains("levels deep"));
    }

    #[test]
    fn numbers_outside_dynamodbs_range_are_refused() {
        for bad in [
            1e300,
            -1e300,
            1e126,
            1e-131,
            -5e-200,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let text = message(device_info(&json!({ "n": bad })));
            assert!(text.contains("numbers"), "{bad}: {text}");
        }
        let in_array = json!({"list": [1, 2, 1e-300]});
        assert!(message(device_info(&in_array)).contains("numbers"));
    }

    #[test]
    fn empty_or_long_keys_are_refused() {
        assert!(message(device_info(&json!({"": 1}))).contains("must not be empty"));
        assert!(message(device_info(&json!({"a": {"": "x"}}))).contains("must not be empty"));
        let long = "k".repeat(MAX_DEVICE_INFO_KEY_CHARS + 1);
        assert!(message(device_info(&json!({ long: 1 }))).contains("at most 128 characters"));
        device_info(&json!({ "k".repeat(MAX_DEVICE_INFO_KEY_CHARS): 1 })).unwrap();
    }

    #[test]
    fn too_many_entries_or_bytes_are_refused() {
        let many: serde_json::Map<String, Value> = (0..=MAX_DEVICE_INFO_ENTRIES)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect();
        assert!(message(device_info(&Value::Object(many))).contains("at most 100 keys"));
        let items = json!({"list": vec![0; MAX_DEVICE_INFO_ENTRIES]});
        assert!(message(device_info(&items)).contains("at most 100 keys"));
        let big = json!({"userAgent": "x".repeat(MAX_DEVICE_INFO_BYTES)});
        assert!(message(device_info(&big)).contains("at most 4096 bytes"));
    }
}
