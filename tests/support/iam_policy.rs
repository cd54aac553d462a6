//! How tests/iam_policies.rs reads IAM (included there with `#[path]`):
//! the accesses IAM checks for each recorded DynamoDB request, each
//! function's DynamoDB statements from template.yaml, IAM's evaluation of
//! one against the other, and the grants no scenario can reach.

use std::path::Path;

use accounts_tests::requests::RequestLog;
use serde_json::Value;
use serde_norway::Value as Yaml;

/// What IAM authorizes: one action on one resource for some partition keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Access {
    pub(super) action: String,
    /// None: the table; Some(name): that index.
    pub(super) index: Option<String>,
    pub(super) leading_keys: Vec<String>,
}

/// The requests recorded, as the accesses IAM checks.
#[derive(Debug, Clone, Default)]
pub(super) struct Recorder(pub(super) RequestLog);

impl Recorder {
    pub(super) fn take(&self) -> Vec<Access> {
        let requests = self.0.take();
        requests
            .iter()
            .flat_map(|(operation, body)| accesses_of(operation, body))
            .collect()
    }
}

pub(super) fn pk_of(item: &Value) -> String {
    item["pk"]["S"]
        .as_str()
        .unwrap_or_else(|| panic!("no string pk in {item}"))
        .to_owned()
}

/// The accesses IAM checks for one DynamoDB request (JSON protocol).
pub(super) fn accesses_of(operation: &str, body: &Value) -> Vec<Access> {
    let access = |action: &str, index: Option<String>, keys: Vec<String>| Access {
        action: action.to_owned(),
        index,
        leading_keys: keys,
    };
    match operation {
        "GetItem" | "DeleteItem" | "UpdateItem" => {
            vec![access(operation, None, vec![pk_of(&body["Key"])])]
        }
        "PutItem" => vec![access(operation, None, vec![pk_of(&body["Item"])])],
        "BatchGetItem" => {
            let tables = body["RequestItems"].as_object().expect("RequestItems");
            let keys = tables
                .values()
                .flat_map(|t| t["Keys"].as_array().expect("Keys").iter().map(pk_of))
                .collect();
            vec![access(operation, None, keys)]
        }
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .expect("TransactItems")
            .iter()
            .map(
                |item| match item.as_object().and_then(|o| o.iter().next()) {
                    Some((kind, write)) => match kind.as_str() {
                        "Put" => access("PutItem", None, vec![pk_of(&write["Item"])]),
                        "Update" => access("UpdateItem", None, vec![pk_of(&write["Key"])]),
                        "Delete" => access("DeleteItem", None, vec![pk_of(&write["Key"])]),
                        "ConditionCheck" => {
                            access("ConditionCheckItem", None, vec![pk_of(&write["Key"])])
                        }
                        other => panic!("unknown transaction item {other}"),
                    },
                    None => panic!("empty transaction item"),
                },
            )
            .collect(),
        "Query" => {
            // The store's queries name their partition value `:pk`.
            let partition = body["ExpressionAttributeValues"][":pk"]["S"]
                .as_str()
                .unwrap_or_else(|| panic!("a Query without :pk: {body}"))
                .to_owned();
            let index = body["IndexName"].as_str().map(str::to_owned);
            vec![access(operation, index, vec![partition])]
        }
        other => panic!("the code made a {other} request: add it to this test"),
    }
}

/// One Allow statement of a function's policy.
#[derive(Debug)]
pub(super) struct Statement {
    pub(super) actions: Vec<String>,
    /// None: the table; Some(name): an index (`*` for any).
    pub(super) index: Option<String>,
    /// None: no LeadingKeys condition.
    pub(super) leading_keys: Option<Vec<String>>,
}

pub(super) fn template() -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(&path).expect("template.yaml"))
        .expect("template.yaml is YAML")
}

pub(super) fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Sequence(items) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(str::to_owned)
            .collect(),
        _ => panic!("expected a string or a list: {value:?}"),
    }
}

pub(super) fn resource_of(value: &Yaml, context: &str) -> Option<String> {
    match value {
        Yaml::Tagged(t) if t.tag == "GetAtt" && t.value.as_str() == Some("Table.Arn") => None,
        Yaml::Tagged(t) if t.tag == "Sub" => {
            let sub = t.value.as_str().unwrap_or_default();
            let index = sub.strip_prefix("${Table.Arn}/index/").unwrap_or_else(|| {
                panic!("{context}: resource {sub} is neither the table nor an index")
            });
            Some(index.to_owned())
        }
        other => panic!("{context}: resource {other:?} is neither the table nor an index"),
    }
}

/// The DynamoDB statements of the function that serves `binary`.
pub(super) fn policy(template: &Yaml, binary: &str) -> Vec<Statement> {
    let resources = template["Resources"].as_mapping().expect("Resources");
    let function = resources
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("template.yaml: no function builds {binary}"));
    let mut statements = Vec::new();
    // Inline documents only (SAM policy templates name no DynamoDB action
    // here), and their DynamoDB statements only.
    let documents = function["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten();
    for document in documents {
        let Some(document_statements) = document["Statement"].as_sequence() else {
            continue;
        };
        for statement in document_statements {
            if !strings(&statement["Action"])
                .iter()
                .any(|a| a.starts_with("dynamodb:"))
            {
                continue;
            }
            assert_eq!(
                statement["Effect"].as_str(),
                Some("Allow"),
                "{binary}: only Allow statements"
            );
            let condition = &statement["Condition"];
            let leading_keys = (!condition.is_null()).then(|| {
                let like = &condition["ForAllValues:StringLike"];
                assert!(
                    condition.as_mapping().is_some_and(|m| m.len() == 1) && like.as_mapping().is_some_and(|m| m.len() == 1),
                    "{binary}: a condition other than ForAllValues:StringLike on dynamodb:LeadingKeys"
                );
                strings(&like["dynamodb:LeadingKeys"])
            });
            statements.push(Statement {
                actions: strings(&statement["Action"]),
                index: resource_of(&statement["Resource"], binary),
                leading_keys,
            });
        }
    }
    statements
}

/// IAM's StringLike: `*` matches any run of characters, `?` one.
pub(super) fn like(pattern: &str, value: &str) -> bool {
    match pattern.chars().next() {
        None => value.is_empty(),
        Some('*') => (0..=value.len())
            .filter(|&i| value.is_char_boundary(i))
            .any(|i| like(&pattern[1..], &value[i..])),
        Some('?') => value
            .chars()
            .next()
            .is_some_and(|c| like(&pattern[1..], &value[c.len_utf8()..])),
        Some(p) => value.starts_with(p) && like(&pattern[p.len_utf8()..], &value[p.len_utf8()..]),
    }
}

/// The statement (index) that allows `access`, if one does.
pub(super) fn allowing(statements: &[Statement], access: &Access) -> Option<usize> {
    statements.iter().position(|s| {
        s.actions.contains(&format!("dynamodb:{}", access.action))
            && match (&s.index, &access.index) {
                (None, None) => true,
                (Some(granted), Some(used)) => granted == "*" || granted == used,
                _ => false,
            }
            && match &s.leading_keys {
                None => true,
                Some(patterns) => access
                    .leading_keys
                    .iter()
                    .all(|key| patterns.iter().any(|p| like(p, key))),
            }
    })
}

/// `USER#123` → `USER#`: the kind of key, as the policies name them.
pub(super) fn kind(key: &str) -> String {
    match key.find('#') {
        Some(i) => key[..=i].to_owned(),
        None => key.to_owned(),
    }
}

/// Grants that no scenario below can reach: the code's lost-race and
/// rehash paths. (function, action, key kind) with the reason.
pub(super) const RACE_PATH_GRANTS: &[(&str, &str, &str, &str)] = &[
    (
        "post-user-request-reset-password",
        "GetItem",
        "MAILLIMIT#",
        "reads its count back after losing the race to write it",
    ),
    (
        "post-user-resend-verification",
        "GetItem",
        "MAILLIMIT#",
        "reads its count back after losing the race to write it",
    ),
    (
        "post-user-reset-password",
        "GetItem",
        "USER#",
        "reads the user back after losing the race to write it",
    ),
    (
        "post-user-verify-email",
        "GetItem",
        "USER#",
        "reads the user back after losing the race to write it",
    ),
    (
        "post-user-register",
        "GetItem",
        "EMAIL#",
        "reads the email lock after losing the registration race",
    ),
    (
        "post-organization-users",
        "GetItem",
        "EMAIL#",
        "reads the email lock after losing the race for the address",
    ),
    (
        "post-user-login",
        "PutItem",
        "USER#",
        "rehashes a password stored at other argon2 parameters",
    ),
    (
        "post-user-login",
        "GetItem",
        "THROTTLE#",
        "rereads the throttle record after losing a race to count a failure",
    ),
    (
        "post-user-login",
        "BatchGetItem",
        "SESSION#",
        "reads the user's sessions past the cap of 100, to end the oldest",
    ),
    (
        "post-user-login",
        "UpdateItem",
        "SESSION#",
        "ends the oldest sessions past the cap of 100",
    ),
    (
        "post-auth-google",
        "BatchGetItem",
        "SESSION#",
        "reads the user's sessions past the cap of 100, to end the oldest",
    ),
    (
        "post-auth-google",
        "UpdateItem",
        "SESSION#",
        "ends the oldest sessions past the cap of 100",
    ),
    (
        "post-auth-microsoft",
        "BatchGetItem",
        "SESSION#",
        "reads the user's sessions past the cap of 100, to end the oldest",
    ),
    (
        "post-auth-microsoft",
        "UpdateItem",
        "SESSION#",
        "ends the oldest sessions past the cap of 100",
    ),
    (
        "post-auth-github",
        "BatchGetItem",
        "SESSION#",
        "reads the user's sessions past the cap of 100, to end the oldest",
    ),
    (
        "post-auth-github",
        "UpdateItem",
        "SESSION#",
        "ends the oldest sessions past the cap of 100",
    ),
    (
        "post-auth-google-exchange",
        "BatchGetItem",
        "SESSION#",
        "reads the user's sessions past the cap of 100, to end the oldest",
    ),
    (
        "post-auth-google-exchange",
        "UpdateItem",
        "SESSION#",
        "ends the oldest sessions past the cap of 100",
    ),
    (
        "post-auth-microsoft-exchange",
        "BatchGetItem",
        "SESSION#",
        "reads the user's sessions past the cap of 100, to end the oldest",
    ),
    (
        "post-auth-microsoft-exchange",
        "UpdateItem",
        "SESSION#",
        "ends the oldest sessions past the cap of 100",
    ),
    (
        "post-user-deactivate",
        "GetItem",
        "USER#",
        "rereads the caller after losing a race to a concurrent change",
    ),
    (
        "post-sessions-revoke-all",
        "GetItem",
        "USER#",
        "rereads the caller after losing a race to a concurrent change",
    ),
    (
        "post-mfa-setup",
        "GetItem",
        "THROTTLE#",
        "rereads the code attempts after losing a race to count one",
    ),
    (
        "post-mfa-setup",
        "GetItem",
        "USER#",
        "reads the MFA record back when a write's answer was lost",
    ),
    (
        "post-mfa-verify-setup",
        "GetItem",
        "THROTTLE#",
        "rereads the code attempts after losing a race to count one",
    ),
    (
        "post-mfa-verify-setup",
        "GetItem",
        "USER#",
        "reads the MFA record back when the transaction's answer was lost",
    ),
    (
        "post-mfa-magic-link-send",
        "GetItem",
        "USER#",
        "reads the MFA record back when the transaction's answer was lost",
    ),
    (
        "post-mfa-magic-link-activate",
        "GetItem",
        "THROTTLE#",
        "rereads the code attempts after losing a race to count one",
    ),
    (
        "post-mfa-magic-link-activate",
        "GetItem",
        "USER#",
        "reads the MFA record back when the transaction's answer was lost",
    ),
    (
        "post-mfa-verify-login",
        "GetItem",
        "THROTTLE#",
        "rereads the code attempts after losing a race to count one",
    ),
    (
        "post-mfa-verify-login",
        "BatchGetItem",
        "SESSION#",
        "reads the user's sessions past the cap of 100, to end the oldest",
    ),
    (
        "post-mfa-verify-login",
        "UpdateItem",
        "SESSION#",
        "ends the oldest sessions past the cap of 100",
    ),
    (
        "post-mfa-disable",
        "GetItem",
        "THROTTLE#",
        "rereads the code attempts after losing a race to count one",
    ),
    (
        "post-mfa-disable",
        "GetItem",
        "USER#",
        "reads the MFA record back when a write's answer was lost",
    ),
    (
        "post-mfa-enable",
        "GetItem",
        "THROTTLE#",
        "rereads the code attempts after losing a race to count one",
    ),
    (
        "post-mfa-enable",
        "GetItem",
        "USER#",
        "reads the MFA record back when a write's answer was lost",
    ),
    (
        "post-mfa-primary",
        "GetItem",
        "THROTTLE#",
        "rereads the code attempts after losing a race to count one",
    ),
    (
        "post-mfa-primary",
        "GetItem",
        "USER#",
        "reads the MFA record back when a write's answer was lost",
    ),
    (
        "post-mfa-backup-codes",
        "GetItem",
        "THROTTLE#",
        "rereads the code attempts after losing a race to count one",
    ),
    (
        "post-mfa-backup-codes",
        "GetItem",
        "USER#",
        "reads the MFA record back when a write's answer was lost",
    ),
];
