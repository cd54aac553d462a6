//! The deployment files agree with the code.
//!
//! - The routes of `openapi.yaml`, of `template.yaml`, of the
//!   `cargo lambda watch` router (root `Cargo.toml`) and of
//!   `accounts::http::Route::ALL` (what `accounts-local` serves) are one set
//!   of method + path, and each route goes to the same function everywhere.
//! - API Gateway's `$default` route (any method) goes to `default-route`,
//!   whose `main` serves unmatched requests only and builds no app (no
//!   store, no keys).
//! - Every crate under `functions/` has exactly one function resource in
//!   `template.yaml` (logical id `<PascalCase crate>Function`, built from
//!   that crate's binary), and every function resource is such a crate; each
//!   crate's `main` serves the route that names it.
//!
//! CloudFormation's short-form tags (`!Ref`, `!Sub`, `!GetAtt`, …) are kept
//! by the YAML parser as tagged values.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use accounts::http::Route;
use serde_norway::Value;

/// (METHOD, path) → the function (crate) that serves it.
type Routes = BTreeMap<(String, String), String>;

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn read(name: &str) -> String {
    let path = workspace_root().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml(name: &str) -> Value {
    serde_norway::from_str(&read(name)).unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"))
}

fn str_at<'a>(value: &'a Value, key: &str, context: &str) -> &'a str {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{context}: `{key}` is missing or not a string"))
}

/// `post-user-login` → `PostUserLogin`.
fn pascal_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect()
}

fn insert(routes: &mut Routes, source: &str, method: &str, path: &str, function: &str) {
    let key = (method.to_ascii_uppercase(), path.to_string());
    if let Some(previous) = routes.insert(key, function.to_string()) {
        panic!("{source}: {method} {path} is declared twice ({previous} and {function})");
    }
}

/// What the local server serves: the routes of the code.
fn code_routes() -> Routes {
    let mut routes = Routes::new();
    for route in Route::ALL {
        insert(
            &mut routes,
            "Route::ALL",
            route.method().as_str(),
            route.path(),
            route.function_name(),
        );
    }
    routes
}

fn openapi_routes() -> Routes {
    let doc = yaml("openapi.yaml");
    let paths = doc
        .get("paths")
        .and_then(Value::as_mapping)
        .expect("openapi.yaml: `paths` is missing");
    let mut routes = Routes::new();
    for (path, item) in paths {
        let path = path.as_str().expect("openapi.yaml: a path is not a string");
        let item = item
            .as_mapping()
            .unwrap_or_else(|| panic!("openapi.yaml: {path} is not a mapping"));
        for (method, operation) in item {
            let method = method.as_str().unwrap_or_default();
            if !HTTP_METHODS.contains(&method) {
                continue; // parameters, summary, …
            }
            let context = format!("openapi.yaml: {} {path}", method.to_uppercase());
            // An older path served by another operation's function names it.
            let function = match operation.get("x-function") {
                Some(_) => str_at(operation, "x-function", &context),
                None => str_at(operation, "operationId", &context),
            };
            insert(&mut routes, "openapi.yaml", method, path, function);
        }
    }
    routes
}

/// A function resource of template.yaml.
struct TemplateFunction {
    logical_id: String,
    binary: String,
}

/// API Gateway's route key for requests no other route takes.
const DEFAULT_ROUTE: &str = "$default";
/// The crate that serves it.
const DEFAULT_ROUTE_FUNCTION: &str = "default-route";
/// Functions triggered by the table's stream, not by a route.
const STREAM_FUNCTIONS: [&str; 1] = ["mailer"];

/// template.yaml's HttpApi events: the routes of the code, the functions,
/// and (method, function) of every `$default` route.
struct TemplateApi {
    routes: Routes,
    functions: Vec<TemplateFunction>,
    default_routes: Vec<(String, String)>,
}

/// The value of `!Ref X` or `{"Ref": "X"}`.
fn ref_target(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        Value::Mapping(map) if map.len() == 1 => map.get("Ref").and_then(Value::as_str),
        _ => None,
    }
}

fn template_api() -> TemplateApi {
    let doc = yaml("template.yaml");
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .expect("template.yaml: `Resources` is missing");
    let globals = doc.get("Globals").and_then(|g| g.get("Function"));
    let http_apis: BTreeSet<&str> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi"))
        .filter_map(|(id, _)| id.as_str())
        .collect();
    assert!(
        !http_apis.is_empty(),
        "template.yaml: no AWS::Serverless::HttpApi"
    );

    let mut routes = Routes::new();
    let mut functions = Vec::new();
    let mut default_routes = Vec::new();
    for (id, resource) in resources {
        let id = id
            .as_str()
            .expect("template.yaml: a logical id is not a string");
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let context = format!("template.yaml: {id}");
        let metadata = resource
            .get("Metadata")
            .unwrap_or_else(|| panic!("{context}: no Metadata"));
        assert_eq!(
            str_at(metadata, "BuildMethod", &context),
            "rust-cargolambda",
            "{context}: BuildMethod"
        );
        let binary = metadata
            .get("BuildProperties")
            .map(|p| str_at(p, "Binary", &context))
            .unwrap_or_else(|| panic!("{context}: no Metadata.BuildProperties.Binary"))
            .to_string();
        let properties = resource
            .get("Properties")
            .unwrap_or_else(|| panic!("{context}: no Properties"));
        // The function's own setting, else the Globals'.
        let effective = |key: &str| {
            properties
                .get(key)
                .or_else(|| globals.and_then(|g| g.get(key)))
                .unwrap_or_else(|| panic!("{context}: no {key} (nor in Globals)"))
        };
        assert_eq!(
            effective("Runtime").as_str(),
            Some("provided.al2023"),
            "{context}: Runtime"
        );
        assert_eq!(
            effective("Handler").as_str(),
            Some("bootstrap"),
            "{context}: Handler"
        );
        let architectures: Vec<&str> = effective("Architectures")
            .as_sequence()
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(architectures, ["arm64"], "{context}: Architectures");

        let events = properties
            .get("Events")
            .and_then(Value::as_mapping)
            .unwrap_or_else(|| panic!("{context}: no Events"));
        for (name, event) in events {
            if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let context = format!("{context}: event {}", name.as_str().unwrap_or("?"));
            let event_properties = event
                .get("Properties")
                .unwrap_or_else(|| panic!("{context}: no Properties"));
            let api = event_properties.get("ApiId").and_then(ref_target);
            assert!(
                api.is_some_and(|api| http_apis.contains(api)),
                "{context}: ApiId must be a !Ref to the template's HttpApi, not {api:?}"
            );
            let method = str_at(event_properties, "Method", &context);
            let path = str_at(event_properties, "Path", &context);
            if path == DEFAULT_ROUTE {
                default_routes.push((method.to_ascii_uppercase(), binary.clone()));
            } else {
                insert(&mut routes, "template.yaml", method, path, &binary);
            }
        }
        functions.push(TemplateFunction {
            logical_id: id.to_string(),
            binary,
        });
    }
    TemplateApi {
        routes,
        functions,
        default_routes,
    }
}

/// `[workspace.metadata.lambda.watch.router]` of the root Cargo.toml.
fn watch_routes() -> Routes {
    let manifest: toml::Value = toml::Value::Table(
        read("Cargo.toml")
            .parse()
            .expect("Cargo.toml is not valid TOML"),
    );
    let router = ["workspace", "metadata", "lambda", "watch", "router"]
        .iter()
        .try_fold(&manifest, |value, key| value.get(key))
        .and_then(toml::Value::as_table)
        .expect("Cargo.toml: no [workspace.metadata.lambda.watch.router]");
    let mut routes = Routes::new();
    for (path, target) in router {
        let entries = target.as_array().unwrap_or_else(|| {
            panic!(
                "Cargo.toml router: {path} must list {{ method, function }} entries \
                 (a bare function name would take every method)"
            )
        });
        for entry in entries {
            let field = |key: &str| {
                entry
                    .get(key)
                    .and_then(toml::Value::as_str)
                    .unwrap_or_else(|| panic!("Cargo.toml router: {path}: an entry has no {key}"))
            };
            insert(
                &mut routes,
                "Cargo.toml router",
                field("method"),
                path,
                field("function"),
            );
        }
    }
    routes
}

/// Every difference between two route tables, one line each.
fn differences(a_name: &str, a: &Routes, b_name: &str, b: &Routes) -> Vec<String> {
    let mut lines = Vec::new();
    for ((method, path), function) in a {
        match b.get(&(method.clone(), path.clone())) {
            None => lines.push(format!(
                "{method} {path} ({function}) is in {a_name} but not in {b_name}"
            )),
            Some(other) if other != function => lines.push(format!(
                "{method} {path} goes to {function} in {a_name} but to {other} in {b_name}"
            )),
            Some(_) => {}
        }
    }
    for ((method, path), function) in b {
        if !a.contains_key(&(method.clone(), path.clone())) {
            lines.push(format!(
                "{method} {path} ({function}) is in {b_name} but not in {a_name}"
            ));
        }
    }
    lines
}

fn assert_same(a_name: &str, a: &Routes, b_name: &str, b: &Routes) {
    let lines = differences(a_name, a, b_name, b);
    assert!(
        lines.is_empty(),
        "routes disagree:\n  {}",
        lines.join("\n  ")
    );
}

/// The crates under functions/: directory → package name.
fn function_crates() -> BTreeMap<String, String> {
    let dir = workspace_root().join("functions");
    let mut crates = BTreeMap::new();
    for entry in fs::read_dir(&dir).expect("cannot list functions/") {
        let path = entry.expect("cannot list functions/").path();
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let manifest: toml::Table = fs::read_to_string(&manifest)
            .expect("cannot read a function's Cargo.toml")
            .parse()
            .expect("a function's Cargo.toml is not valid TOML");
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .expect("a function's Cargo.toml has no package.name")
            .to_string();
        let dir_name = path.file_name().unwrap().to_string_lossy().into_owned();
        crates.insert(dir_name, name);
    }
    assert!(!crates.is_empty(), "no crates under functions/");
    crates
}

#[test]
fn openapi_template_and_code_declare_the_same_routes() {
    let code = code_routes();
    assert_eq!(code.len(), Route::ALL.len(), "Route::ALL repeats a route");
    let openapi = openapi_routes();
    let template = template_api().routes;
    assert_same("Route::ALL", &code, "openapi.yaml", &openapi);
    assert_same("Route::ALL", &code, "template.yaml", &template);
    assert_same("openapi.yaml", &openapi, "template.yaml", &template);
}

#[test]
fn cargo_lambda_watch_routes_like_api_gateway() {
    assert_same(
        "Route::ALL",
        &code_routes(),
        "Cargo.toml [workspace.metadata.lambda.watch.router]",
        &watch_routes(),
    );
}

#[test]
fn every_function_crate_has_exactly_one_function_resource() {
    let crates = function_crates();
    let functions = template_api().functions;
    let mut problems = Vec::new();

    for (dir, package) in &crates {
        if dir != package {
            problems.push(format!(
                "functions/{dir}: package name {package} differs from its directory"
            ));
        }
        let resources: Vec<&str> = functions
            .iter()
            .filter(|f| &f.binary == package)
            .map(|f| f.logical_id.as_str())
            .collect();
        match resources.as_slice() {
            [] => problems.push(format!("{package}: no function resource in template.yaml")),
            [id] => {
                let expected = format!("{}Function", pascal_case(package));
                if *id != expected {
                    problems.push(format!(
                        "{package}: resource {id} should be named {expected}"
                    ));
                }
            }
            many => problems.push(format!(
                "{package}: {} function resources in template.yaml: {}",
                many.len(),
                many.join(", ")
            )),
        }
    }
    let packages: BTreeSet<&String> = crates.values().collect();
    for function in &functions {
        if !packages.contains(&function.binary) {
            problems.push(format!(
                "{}: builds {}, which is no crate under functions/",
                function.logical_id, function.binary
            ));
        }
    }
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
}

#[test]
fn every_route_has_its_function_crate_serving_it() {
    let crates = function_crates();
    let packages: BTreeSet<&str> = crates.values().map(String::as_str).collect();
    let mut problems = Vec::new();
    for route in Route::ALL {
        let name = route.function_name();
        if !packages.contains(name) {
            problems.push(format!("{route:?}: no crate functions/{name}"));
            continue;
        }
        let main = workspace_root()
            .join("functions")
            .join(name)
            .join("src/main.rs");
        let source = fs::read_to_string(&main).unwrap_or_default();
        // `endpoints::X` (its handler linked alone; each type's route is
        // the Route variant of its name) or a `Route::X` value.
        if !source.contains(&format!("endpoints::{route:?}"))
            && !source.contains(&format!("Route::{route:?}"))
        {
            problems.push(format!(
                "{}: serves neither endpoints::{route:?} nor Route::{route:?}",
                main.display()
            ));
        }
    }
    let mut served: BTreeSet<&str> = Route::ALL.iter().map(|r| r.function_name()).collect();
    served.insert(DEFAULT_ROUTE_FUNCTION);
    served.extend(STREAM_FUNCTIONS);
    for package in packages.difference(&served) {
        problems.push(format!(
            "functions/{package}: serves no route of Route::ALL"
        ));
    }
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
}

#[test]
fn the_default_route_answers_unmatched_requests_without_an_app() {
    assert_eq!(
        template_api().default_routes,
        [("ANY".to_string(), DEFAULT_ROUTE_FUNCTION.to_string())],
        "template.yaml: exactly one {DEFAULT_ROUTE} route, any method, to {DEFAULT_ROUTE_FUNCTION}"
    );
    let main = workspace_root()
        .join("functions")
        .join(DEFAULT_ROUTE_FUNCTION)
        .join("src/main.rs");
    let source =
        fs::read_to_string(&main).unwrap_or_else(|e| panic!("cannot read {}: {e}", main.display()));
    assert!(
        source.contains("serve_unmatched"),
        "{}: does not serve unmatched requests",
        main.display()
    );
    // No configuration, store or keys: it must start without them.
    for forbidden in ["App::", "Config", "Store"] {
        assert!(
            !source.contains(forbidden),
            "{}: uses {forbidden}",
            main.display()
        );
    }
}

#[test]
fn openapi_error_codes_are_declared() {
    let doc = yaml("openapi.yaml");
    let declared: BTreeSet<&str> = doc
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(|s| s.get("ErrorCode"))
        .and_then(|e| e.get("enum"))
        .and_then(Value::as_sequence)
        .expect("openapi.yaml: no components.schemas.ErrorCode.enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();

    // Every `properties.error_code.enum` narrowing a response.
    fn narrowed<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Mapping(map) => {
                if let Some(codes) = map
                    .get("properties")
                    .and_then(|p| p.get("error_code"))
                    .and_then(|e| e.get("enum"))
                    .and_then(Value::as_sequence)
                {
                    found.extend(codes.iter().filter_map(Value::as_str));
                }
                map.values().for_each(|v| narrowed(v, found));
            }
            Value::Sequence(items) => items.iter().for_each(|v| narrowed(v, found)),
            Value::Tagged(tagged) => narrowed(&tagged.value, found),
            _ => {}
        }
    }
    let mut used = Vec::new();
    narrowed(&doc, &mut used);
    assert!(
        !used.is_empty(),
        "openapi.yaml: no response names its error codes"
    );
    let unknown: BTreeSet<&str> = used.into_iter().filter(|c| !declared.contains(c)).collect();
    assert!(
        unknown.is_empty(),
        "openapi.yaml: error codes not in ErrorCode: {unknown:?}"
    );
}

#[test]
fn the_index_projects_what_the_store_creates_it_with() {
    let doc = yaml("template.yaml");
    let indexes = doc["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("template.yaml: Table has no GlobalSecondaryIndexes");
    assert_eq!(indexes.len(), 1, "template.yaml: one index, gsi1");
    let projection = &indexes[0]["Projection"];
    assert_eq!(indexes[0]["IndexName"].as_str(), Some("gsi1"));
    assert_eq!(projection["ProjectionType"].as_str(), Some("INCLUDE"));
    let attributes: Vec<&str> = projection["NonKeyAttributes"]
        .as_sequence()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        attributes,
        accounts::store::dynamo::GSI1_PROJECTED,
        "template.yaml's gsi1 and create_table (dynamo.rs) project different attributes"
    );
}

#[test]
fn pascal_case_names_resources() {
    assert_eq!(pascal_case("post-user-login"), "PostUserLogin");
    assert_eq!(pascal_case("get-user"), "GetUser");
}

/// Every string in a YAML tree (tagged values included), for scanning.
fn strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(s) => found.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|v| strings(v, found)),
        Value::Mapping(map) => map.iter().for_each(|(k, v)| {
            strings(k, found);
            strings(v, found);
        }),
        Value::Tagged(tagged) => strings(&tagged.value, found),
        _ => {}
    }
}

/// The key sets reach functions by secret name, through IAM: no key
/// material and no dynamic reference to one in any environment; the
/// private set readable by exactly the functions whose route signs, the
/// public set by exactly those whose route verifies.
#[test]
fn only_signing_functions_may_read_the_private_keys_and_only_code_checkers_the_mfa_key() {
    let doc = yaml("template.yaml");
    let resources = doc.get("Resources").and_then(Value::as_mapping).unwrap();
    let globals_env = doc
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("Environment"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut problems = Vec::new();
    let mut env_strings = Vec::new();
    strings(&globals_env, &mut env_strings);
    for route in Route::ALL {
        let name = route.function_name();
        let id = format!("{}Function", pascal_case(name));
        let Some(properties) = resources.get(id.as_str()).and_then(|r| r.get("Properties")) else {
            problems.push(format!("{id}: no such resource"));
            continue;
        };
        let env = properties
            .get("Environment")
            .cloned()
            .unwrap_or(Value::Null);
        strings(&env, &mut env_strings);
        let mut policies = Vec::new();
        strings(
            properties.get("Policies").unwrap_or(&Value::Null),
            &mut policies,
        );
        let reads = |policy: &str| policies.iter().any(|p| p == policy);
        let names_private = env
            .get("Variables")
            .is_some_and(|v| v.get("JWT_PRIVATE_KEYS_SECRET").is_some());
        let need = route.key_use();
        if reads("PrivateKeysReadPolicy") != need.sign || names_private != need.sign {
            problems.push(format!(
                "{id}: signs = {}, but may read the private keys = {}, names them = {names_private}",
                need.sign,
                reads("PrivateKeysReadPolicy")
            ));
        }
        let names_mfa_key = env
            .get("Variables")
            .is_some_and(|v| v.get("MFA_KEY_SECRET_NAME").is_some());
        if reads("MfaKeyReadPolicy") != route.reads_mfa_key()
            || names_mfa_key != route.reads_mfa_key()
        {
            problems.push(format!(
                "{id}: sets or checks MFA codes = {}, but may read the MFA key = {}, names it = {names_mfa_key}",
                route.reads_mfa_key(),
                reads("MfaKeyReadPolicy")
            ));
        }
        if reads("PublicKeysReadPolicy") != need.verify {
            problems.push(format!(
                "{id}: verifies = {}, but may read the public keys = {}",
                need.verify,
                reads("PublicKeysReadPolicy")
            ));
        }
    }
    for value in &env_strings {
        let lower = value.to_lowercase();
        if lower.contains("{{resolve:") || lower.contains("private key") || value.len() > 200 {
            problems.push(format!(
                "an environment value looks like key material: {value:.40}"
            ));
        }
    }
    for legacy in ["JWT_SIGNING_KEY", "JWT_VERIFICATION_KEYS"] {
        if read("template.yaml").contains(legacy) {
            problems.push(format!("template.yaml still sets {legacy}"));
        }
    }
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
}

/// A provider's client secret reaches exactly the functions of its code
/// flow (`Route::client_secret`), by name, through a policy that reads
/// that one secret: no other function names or may read it, and no
/// environment holds a secret's value.
#[test]
fn only_the_code_flows_may_read_their_providers_client_secret() {
    let doc = yaml("template.yaml");
    let resources = doc.get("Resources").and_then(Value::as_mapping).unwrap();
    let mut problems = Vec::new();
    let providers = [
        (accounts::config::ProviderKind::Google, "Google"),
        (accounts::config::ProviderKind::Microsoft, "Microsoft"),
        (accounts::config::ProviderKind::Github, "Github"),
    ];
    for (kind, pascal) in providers {
        let policy_id = format!("{pascal}ClientSecretReadPolicy");
        let param = format!("{pascal}ClientSecretName");
        let Some(policy) = resources.get(policy_id.as_str()) else {
            problems.push(format!("{policy_id}: no such resource"));
            continue;
        };
        let mut granted = Vec::new();
        strings(&policy["Properties"]["PolicyDocument"], &mut granted);
        let wanted = format!(
            "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{{param}}}-??????"
        );
        let statements = policy["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .map_or(0, Vec::len);
        if statements != 1
            || !granted.contains(&wanted)
            || !granted.iter().any(|g| g == "secretsmanager:GetSecretValue")
        {
            problems.push(format!(
                "{policy_id}: not exactly GetSecretValue on {param}: {granted:?}"
            ));
        }
        for route in Route::ALL {
            let id = format!("{}Function", pascal_case(route.function_name()));
            let Some(properties) = resources.get(id.as_str()).and_then(|r| r.get("Properties"))
            else {
                continue;
            };
            let mut policies = Vec::new();
            strings(
                properties.get("Policies").unwrap_or(&Value::Null),
                &mut policies,
            );
            let variables = &properties["Environment"]["Variables"];
            let names = kind.settings();
            let named = variables.get(names.client_secret_name).and_then(ref_target);
            let needs = route.client_secret() == Some(kind);
            let reads = policies.contains(&policy_id);
            if needs != reads || needs != (named == Some(param.as_str())) {
                problems.push(format!(
                    "{id}: needs {} = {needs}, may read it = {reads}, names it = {named:?}",
                    names.client_secret_name
                ));
            }
            if variables.get(names.client_secret).is_some() {
                problems.push(format!(
                    "{id}: sets {} (a value) in its environment",
                    names.client_secret
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
}
