//! template.yaml's HttpApi `CorsConfiguration` (what API Gateway answers on
//! AWS) and `accounts_local::cors` (what accounts-local answers) are one
//! setting: the same methods, request headers, exposed headers, max-age and
//! credentials, and origins from the same `CorsAllowedOrigins` list.
//!
//! The configuration is found wherever it sits under `CorsConfiguration`
//! (for example inside an `!If` that drops it when no origin is given).

use std::collections::BTreeSet;
use std::path::Path;

use accounts_local::cors::{
    ALLOW_CREDENTIALS, ALLOWED_HEADERS, ALLOWED_METHODS, AllowedOrigins, DEFAULT_ALLOWED_ORIGINS,
    EXPOSED_HEADERS, MAX_AGE_SECONDS,
};
use serde_norway::{Mapping, Value};

const ORIGINS_PARAMETER: &str = "CorsAllowedOrigins";

/// The keys of a CorsConfiguration that accounts-local implements.
const KNOWN_KEYS: [&str; 6] = [
    "AllowOrigins",
    "AllowMethods",
    "AllowHeaders",
    "ExposeHeaders",
    "MaxAge",
    "AllowCredentials",
];

fn template() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_norway::from_str(&text).expect("template.yaml is not valid YAML")
}

/// The `CorsConfiguration` of every HttpApi resource.
fn cors_configurations(doc: &Value) -> Vec<(String, &Value)> {
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .expect("template.yaml: no Resources");
    let configurations: Vec<(String, &Value)> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi"))
        .map(|(id, r)| {
            let id = id.as_str().unwrap_or("?").to_owned();
            let cors = r
                .get("Properties")
                .and_then(|p| p.get("CorsConfiguration"))
                .unwrap_or_else(|| panic!("template.yaml: {id} has no CorsConfiguration"));
            (id, cors)
        })
        .collect();
    assert!(
        !configurations.is_empty(),
        "template.yaml: no AWS::Serverless::HttpApi"
    );
    configurations
}

/// Every mapping under `value` that holds CORS keys, through intrinsics
/// (`!If`, …) and lists.
fn cors_mappings<'a>(value: &'a Value, found: &mut Vec<&'a Mapping>) {
    match value {
        Value::Mapping(map) => {
            if KNOWN_KEYS.iter().any(|key| map.contains_key(*key)) {
                found.push(map);
            } else {
                map.values().for_each(|v| cors_mappings(v, found));
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| cors_mappings(v, found)),
        Value::Tagged(tagged) => cors_mappings(&tagged.value, found),
        _ => {}
    }
}

/// Whether `value` refers (`!Ref`, `{Ref: …}`) to `parameter` anywhere.
fn refers_to(value: &Value, parameter: &str) -> bool {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str() == Some(parameter),
        Value::Tagged(tagged) => refers_to(&tagged.value, parameter),
        Value::Mapping(map) => {
            map.get("Ref").and_then(Value::as_str) == Some(parameter)
                || map.values().any(|v| refers_to(v, parameter))
        }
        Value::Sequence(items) => items.iter().any(|v| refers_to(v, parameter)),
        _ => false,
    }
}

/// A list of header names or methods, in one case (both are
/// case-insensitive).
fn name_set(map: &Mapping, key: &str, context: &str, upper: bool) -> BTreeSet<String> {
    map.get(key)
        .and_then(Value::as_sequence)
        .unwrap_or_else(|| panic!("{context}: {key} is missing or not a list"))
        .iter()
        .map(|item| {
            let name = item
                .as_str()
                .unwrap_or_else(|| panic!("{context}: {key} holds a non-string"));
            if upper {
                name.to_ascii_uppercase()
            } else {
                name.to_ascii_lowercase()
            }
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn template_cors_is_the_local_servers() {
    let doc = template();
    for (api, configuration) in cors_configurations(&doc) {
        let mut mappings = Vec::new();
        cors_mappings(configuration, &mut mappings);
        assert!(
            !mappings.is_empty(),
            "template.yaml: {api}'s CorsConfiguration holds no AllowOrigins/AllowMethods/… mapping"
        );
        for map in mappings {
            let context = format!("template.yaml: {api} CorsConfiguration");
            let keys: BTreeSet<&str> = map.keys().filter_map(Value::as_str).collect();
            let unknown: Vec<&&str> = keys.iter().filter(|k| !KNOWN_KEYS.contains(k)).collect();
            assert!(
                unknown.is_empty(),
                "{context}: {unknown:?} not implemented by accounts_local::cors"
            );
            assert_eq!(
                name_set(map, "AllowMethods", &context, true),
                set(&ALLOWED_METHODS),
                "{context}: AllowMethods vs cors::ALLOWED_METHODS"
            );
            assert_eq!(
                name_set(map, "AllowHeaders", &context, false),
                set(&ALLOWED_HEADERS),
                "{context}: AllowHeaders vs cors::ALLOWED_HEADERS"
            );
            assert_eq!(
                name_set(map, "ExposeHeaders", &context, false),
                set(&EXPOSED_HEADERS),
                "{context}: ExposeHeaders vs cors::EXPOSED_HEADERS"
            );
            assert_eq!(
                map.get("MaxAge").and_then(Value::as_u64),
                Some(u64::from(MAX_AGE_SECONDS)),
                "{context}: MaxAge vs cors::MAX_AGE_SECONDS"
            );
            // API Gateway's default is false.
            let credentials = match map.get("AllowCredentials") {
                None => false,
                Some(value) => value
                    .as_bool()
                    .unwrap_or_else(|| panic!("{context}: AllowCredentials is not a boolean")),
            };
            assert_eq!(
                credentials, ALLOW_CREDENTIALS,
                "{context}: AllowCredentials vs cors::ALLOW_CREDENTIALS"
            );
            let origins = map
                .get("AllowOrigins")
                .unwrap_or_else(|| panic!("{context}: no AllowOrigins"));
            assert!(
                refers_to(origins, ORIGINS_PARAMETER),
                "{context}: AllowOrigins must come from the {ORIGINS_PARAMETER} parameter \
                 (accounts-local's --cors-allowed-origins), not {origins:?}"
            );
        }
    }
}

/// The parameter's format is the local setting's: the local default fits
/// the template's pattern, and the template's default (if any) parses as a
/// local setting.
#[test]
fn the_origins_parameter_is_the_local_setting() {
    let doc = template();
    let parameter = doc
        .get("Parameters")
        .and_then(|p| p.get(ORIGINS_PARAMETER))
        .unwrap_or_else(|| panic!("template.yaml: no parameter {ORIGINS_PARAMETER}"));
    let description = parameter
        .get("Description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        description.contains("comma-separated"),
        "template.yaml: {ORIGINS_PARAMETER}'s Description should say the list is comma-separated: {description:?}"
    );
    if let Some(pattern) = parameter.get("AllowedPattern").and_then(Value::as_str) {
        // CloudFormation matches the whole value.
        let pattern = regex::Regex::new(&format!("^(?:{pattern})$"))
            .unwrap_or_else(|e| panic!("{ORIGINS_PARAMETER}'s AllowedPattern: {e}"));
        assert!(
            pattern.is_match(DEFAULT_ALLOWED_ORIGINS),
            "cors::DEFAULT_ALLOWED_ORIGINS {DEFAULT_ALLOWED_ORIGINS:?} does not fit \
             {ORIGINS_PARAMETER}'s AllowedPattern"
        );
        // API Gateway would allow every origin; accounts-local refuses it.
        assert!(
            !pattern.is_match("*"),
            "{ORIGINS_PARAMETER}'s AllowedPattern lets the wildcard through"
        );
    }
    let default = parameter
        .get("Default")
        .map(|d| match d {
            Value::String(s) => s.clone(),
            Value::Sequence(items) => items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            other => panic!("{ORIGINS_PARAMETER}'s Default is {other:?}"),
        })
        .unwrap_or_default();
    if let Err(e) = default.parse::<AllowedOrigins>() {
        panic!("{ORIGINS_PARAMETER}'s Default is no valid --cors-allowed-origins: {e}");
    }
}
