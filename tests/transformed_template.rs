//! template.yaml as AWS sees it: after SAM's transform (pinned
//! aws-sam-translator, offline; see `accounts_tests::sam`). cfn-lint and
//! `sam validate --lint` check the template as written; what SAM makes of
//! it (the API body with its CORS object and routes, the functions'
//! settings) is checked here.

use std::collections::BTreeMap;

use accounts::config::ProviderKind;
use accounts::http::Route;
use accounts_tests::sam::{TRANSFORM_PARAMETERS, transformed_template};
use serde_json::{Value, json};

/// The environment every function receives. Update it here when the
/// configuration changes; variables of some functions only go in
/// [`own_environment`].
fn common_environment() -> Value {
    json!({
        "TABLE_NAME": {"Ref": "Table"},
        // Secret names only; the key sets are read at cold start.
        "JWT_PUBLIC_KEYS_SECRET": {"Ref": "PublicKeysSecretName"},
        "JWT_KEYS_REFRESH_SECONDS": "300",
        "JWT_ALGORITHM": {"Ref": "JwtAlgorithm"},
        "JWT_ISSUER": {"Fn::If": ["HasIssuerUrl", {"Ref": "IssuerUrl"}, {"Ref": "AWS::NoValue"}]},
        "JWT_AUDIENCE": "flashback",
        "ACCESS_TOKEN_TTL_SECONDS": "3600",
        "REFRESH_TOKEN_TTL_SECONDS": "2592000",
        "SESSION_MAX_SECONDS": "7776000",
        "REFRESH_REUSE_GRACE_SECONDS": "10",
        "LOGIN_MAX_FAILURES": "5",
        "LOGIN_FAILURE_WINDOW_SECONDS": "900",
        "ARGON2_MEMORY_KIB": "19456",
        "ARGON2_ITERATIONS": "2",
        "ARGON2_PARALLELISM": "1",
        "MAX_BODY_BYTES": "16384",
        "REQUIRE_VERIFIED_EMAIL": {"Ref": "RequireVerifiedEmail"},
        "RUST_LOG": "info",
    })
}

/// Variables only some functions get: (binary, name, value).
fn own_environment() -> Vec<(&'static str, &'static str, Value)> {
    // The mailer renders links to the web app and sends from MAIL_FROM.
    let mailer = [
        ("mailer", "APP_URL", json!({"Ref": "AppUrl"})),
        ("mailer", "MAIL_FROM", json!({"Ref": "MailFrom"})),
    ];
    // Only the social functions name their provider; only the code flows
    // name its client secret (by name) and their redirect URI.
    let social = [
        ("post-auth-google", ProviderKind::Google, false),
        ("post-auth-google-link", ProviderKind::Google, false),
        ("post-auth-google-exchange", ProviderKind::Google, true),
        ("post-auth-microsoft", ProviderKind::Microsoft, false),
        ("post-auth-microsoft-link", ProviderKind::Microsoft, false),
        ("post-auth-microsoft-exchange", ProviderKind::Microsoft, true),
        ("post-auth-github", ProviderKind::Github, true),
        ("post-auth-github-link", ProviderKind::Github, true),
    ]
    .into_iter()
    .flat_map(|(binary, kind, code_flow)| {
        let names = kind.settings();
        let param = match kind {
            ProviderKind::Google => "Google",
            ProviderKind::Microsoft => "Microsoft",
            ProviderKind::Github => "Github",
        };
        let mut vars = vec![(binary, names.client_id, json!({"Ref": format!("{param}ClientId")}))];
        let redirect_default = match kind {
            ProviderKind::Github => {
                vars.push((binary, "GITHUB_URL", json!({"Ref": "GithubUrl"})));
                vars.push((binary, "GITHUB_API_URL", json!({"Ref": "GithubApiUrl"})));
                json!({"Ref": "AWS::NoValue"})
            }
            oidc => {
                vars.push((binary, names.issuer, json!({"Ref": format!("{param}Issuer")})));
                json!({"Fn::Sub": format!("${{AppUrl}}/auth/{}/callback", oidc.slug())})
            }
        };
        if code_flow {
            vars.push((
                binary,
                names.client_secret_name,
                json!({"Ref": format!("{param}ClientSecretName")}),
            ));
            vars.push((
                binary,
                names.redirect_uri,
                json!({"Fn::If": [format!("Has{param}RedirectUri"), {"Ref": format!("{param}RedirectUri")}, redirect_default]}),
            ));
        }
        vars
    });
    // Only the functions that sign tokens name the private key set.
    [
        "post-user-register",
        "post-user-login",
        "post-user-refresh",
        "post-user-verify-email",
        "post-auth-google",
        "post-auth-microsoft",
        "post-auth-github",
        "post-auth-google-exchange",
        "post-auth-microsoft-exchange",
        "post-mfa-verify-login",
        "post-mfa-verify-setup",
        "post-mfa-magic-link-activate",
    ]
    .into_iter()
    .map(|binary| {
        (
            binary,
            "JWT_PRIVATE_KEYS_SECRET",
            json!({"Ref": "PrivateKeysSecretName"}),
        )
    })
    .chain(mailer)
    .chain(social)
    // Only the functions that set or check MFA codes name the MFA key.
    .chain(
        Route::ALL
            .into_iter()
            .filter(|r| r.reads_mfa_key())
            .map(|r| {
                (
                    r.function_name(),
                    "MFA_KEY_SECRET_NAME",
                    json!({"Ref": "MfaKeySecretName"}),
                )
            }),
    )
    .collect()
}

/// What the function building `binary` must receive.
fn expected_environment(binary: &str) -> Value {
    let mut environment = common_environment();
    for (_, name, value) in own_environment()
        .into_iter()
        .filter(|(b, _, _)| *b == binary)
    {
        environment[name] = value;
    }
    environment
}

/// The CORS answer browsers get, as in template.yaml's CorsConfiguration.
fn expected_cors(origins: &[&str]) -> Value {
    json!({
        "allowOrigins": origins,
        "allowMethods": ["GET", "POST", "PUT", "DELETE"],
        "allowHeaders": ["authorization", "content-type"],
        "exposeHeaders": ["retry-after", "x-request-id"],
        "maxAge": 600,
        "allowCredentials": false,
    })
}

fn resources() -> &'static serde_json::Map<String, Value> {
    transformed_template()["Resources"]
        .as_object()
        .expect("the transformed template has Resources")
}

/// The resources of one CloudFormation type, by logical id.
fn of_type(kind: &str) -> BTreeMap<&'static str, &'static Value> {
    resources()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// The one API body SAM generated.
fn api_body() -> &'static Value {
    let apis = of_type("AWS::ApiGatewayV2::Api");
    assert_eq!(apis.len(), 1, "one HTTP API: {:?}", apis.keys());
    let body = &apis.values().next().unwrap()["Properties"]["Body"];
    assert!(body.is_object(), "the HTTP API has no inline Body");
    body
}

/// `Fn::Split` of a literal string, as CloudFormation evaluates it.
fn evaluate_split(value: &Value) -> Vec<String> {
    let args = value["Fn::Split"]
        .as_array()
        .unwrap_or_else(|| panic!("allowOrigins is not an Fn::Split: {value}"));
    let (Some(separator), Some(text)) = (args[0].as_str(), args[1].as_str()) else {
        panic!("allowOrigins: Fn::Split of something else than a string: {value}");
    };
    text.split(separator).map(str::to_owned).collect()
}

#[test]
fn cors_survives_the_transform_whole() {
    let cors = &api_body()["x-amazon-apigateway-cors"];
    println!(
        "x-amazon-apigateway-cors: {}",
        serde_json::to_string_pretty(cors).unwrap()
    );
    // Only with origins configured; otherwise no CORS object at all.
    let branches = cors["Fn::If"]
        .as_array()
        .unwrap_or_else(|| panic!("the CORS object is not conditional on origins: {cors}"));
    assert_eq!(branches.len(), 3, "{cors}");
    assert_eq!(branches[0], "HasCorsOrigins");
    assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}));
    assert_eq!(
        transformed_template()["Conditions"]["HasCorsOrigins"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "CorsAllowedOrigins"}, ""]}]})
    );

    let mut object = branches[1].clone();
    let origins = evaluate_split(&object["allowOrigins"]);
    object["allowOrigins"] = json!(origins);
    let given = TRANSFORM_PARAMETERS
        .iter()
        .find(|(key, _)| *key == "CorsAllowedOrigins")
        .map(|(_, value)| value.split(',').collect::<Vec<_>>())
        .expect("the transform is given CorsAllowedOrigins");
    assert_eq!(object, expected_cors(&given));
}

/// `${Logical.Arn}` in an integration's URI → the logical id.
fn integration_function(operation: &Value, context: &str) -> &'static str {
    let uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: no Lambda integration URI"));
    let start = uri
        .find("/functions/${")
        .unwrap_or_else(|| panic!("{context}: {uri}"))
        + "/functions/${".len();
    let end = uri[start..]
        .find(".Arn}")
        .unwrap_or_else(|| panic!("{context}: {uri}"));
    let id = &uri[start..start + end];
    resources()
        .get_key_value(id)
        .map(|(id, _)| id.as_str())
        .unwrap_or_else(|| panic!("{context}: integrates {id}, which is no resource"))
}

/// The binary a Lambda function resource runs.
fn binary(logical_id: &str) -> &'static str {
    resources()[logical_id]["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .unwrap_or_else(|| panic!("{logical_id}: no Metadata.BuildProperties.Binary"))
}

#[test]
fn every_route_of_the_code_and_default_reach_their_function() {
    let paths = api_body()["paths"]
        .as_object()
        .expect("the API body has paths");
    let mut deployed = BTreeMap::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item is an object") {
            let context = format!("{method} {path}");
            let function = integration_function(operation, &context);
            let method = match method.as_str() {
                "x-amazon-apigateway-any-method" => "ANY".to_string(),
                other => other.to_ascii_uppercase(),
            };
            assert_eq!(
                operation["x-amazon-apigateway-integration"]["payloadFormatVersion"], "2.0",
                "{context}: lambda_http reads payload 2.0"
            );
            if path == "$default" {
                println!(
                    "$default: {}",
                    serde_json::to_string_pretty(operation).unwrap()
                );
                assert_eq!(operation["isDefaultRoute"], true, "{context}");
            }
            deployed.insert((method, path.clone()), binary(function).to_string());
        }
    }
    let mut expected: BTreeMap<(String, String), String> = Route::ALL
        .iter()
        .map(|r| {
            (
                (r.method().to_string(), r.path().to_string()),
                r.function_name().to_string(),
            )
        })
        .collect();
    expected.insert(
        ("ANY".into(), "$default".into()),
        "default-route".to_string(),
    );
    assert_eq!(deployed, expected);

    // API Gateway may invoke each of them.
    let permitted: Vec<&str> = of_type("AWS::Lambda::Permission")
        .values()
        .filter(|p| p["Properties"]["Principal"] == "apigateway.amazonaws.com")
        .filter_map(|p| p["Properties"]["FunctionName"]["Ref"].as_str())
        .collect();
    for function in of_type("AWS::Lambda::Function")
        .keys()
        .filter(|f| **f != "MailerFunction")
    {
        assert!(
            permitted.contains(function),
            "{function}: API Gateway has no permission to invoke it"
        );
    }
}

#[test]
fn every_function_gets_its_environment() {
    let functions = of_type("AWS::Lambda::Function");
    // One per route's function (an older path shares its function), the
    // `$default` route's, and the mailer.
    let served: std::collections::BTreeSet<&str> =
        Route::ALL.iter().map(|r| r.function_name()).collect();
    assert_eq!(functions.len(), served.len() + 2, "{:?}", functions.keys());
    for (id, function) in functions {
        let actual = &function["Properties"]["Environment"]["Variables"];
        assert_eq!(
            actual,
            &expected_environment(binary(id)),
            "{id}: environment"
        );
    }
}

/// A parameter's default, as a number.
fn default_number(parameter: &str) -> f64 {
    let default = &transformed_template()["Parameters"][parameter]["Default"];
    default
        .as_f64()
        .or_else(|| default.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("parameter {parameter} has no numeric default"))
}

#[test]
fn public_hashing_routes_are_throttled_below_the_stage() {
    let stages = of_type("AWS::ApiGatewayV2::Stage");
    assert_eq!(stages.len(), 1);
    let stage = &stages.values().next().unwrap()["Properties"];
    let route_keys: Vec<String> = api_body()["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().unwrap().keys().map(move |method| {
                if path == "$default" {
                    path.clone()
                } else {
                    format!("{} {path}", method.to_ascii_uppercase())
                }
            })
        })
        .collect();
    let settings = stage["RouteSettings"]
        .as_object()
        .expect("the stage has RouteSettings");
    for key in settings.keys() {
        assert!(route_keys.contains(key), "RouteSettings {key} is no route");
    }
    let limit = |settings: &Value, field: &str| {
        let parameter = settings[field]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{field} is not a parameter: {settings}"));
        default_number(parameter)
    };
    let stage_rate = limit(&stage["DefaultRouteSettings"], "ThrottlingRateLimit");
    let stage_burst = limit(&stage["DefaultRouteSettings"], "ThrottlingBurstLimit");
    for route in [Route::Login, Route::Register] {
        let key = format!("{} {}", route.method(), route.path());
        let route_settings = settings
            .get(&key)
            .unwrap_or_else(|| panic!("{key}: no route throttle"));
        let (rate, burst) = (
            limit(route_settings, "ThrottlingRateLimit"),
            limit(route_settings, "ThrottlingBurstLimit"),
        );
        assert!(
            rate * 4.0 <= stage_rate && burst * 4.0 <= stage_burst,
            "{key}: {rate}/s burst {burst} is not far below the stage's {stage_rate}/s burst {stage_burst}"
        );
    }
    assert_eq!(
        stage["DefaultRouteSettings"]["DetailedMetricsEnabled"],
        true
    );
}

/// `{"Ref": "X"}` → X.
fn ref_of(value: &Value) -> Option<&str> {
    value["Ref"].as_str()
}

#[test]
fn every_function_has_error_throttle_and_duration_alarms_to_the_topic() {
    let alarms = of_type("AWS::CloudWatch::Alarm");
    for (id, alarm) in &alarms {
        let properties = &alarm["Properties"];
        for actions in ["AlarmActions", "OKActions"] {
            assert_eq!(
                properties[actions],
                json!([{"Ref": "AlarmTopic"}]),
                "{id}: {actions}"
            );
        }
    }
    for (function_id, function) in of_type("AWS::Lambda::Function") {
        let timeout_ms = function["Properties"]["Timeout"]
            .as_f64()
            .unwrap_or_else(|| panic!("{function_id}: no Timeout"))
            * 1000.0;
        let on_function = |metric: &str| {
            alarms
                .values()
                .map(|a| &a["Properties"])
                .find(|p| {
                    p["Namespace"] == "AWS/Lambda"
                        && p["MetricName"] == metric
                        && p["Dimensions"]
                            == json!([{"Name": "FunctionName", "Value": {"Ref": function_id}}])
                })
                .unwrap_or_else(|| panic!("{function_id}: no {metric} alarm"))
        };
        for metric in ["Errors", "Throttles"] {
            let alarm = on_function(metric);
            assert_eq!(alarm["Threshold"], 1, "{function_id}: {metric}");
            assert_eq!(alarm["Statistic"], "Sum", "{function_id}: {metric}");
        }
        let duration = on_function("Duration");
        assert_eq!(duration["Statistic"], "Maximum");
        assert_eq!(
            duration["Threshold"].as_f64(),
            Some(timeout_ms * 0.8),
            "{function_id}: the duration alarm is not at 80% of the timeout"
        );
    }
}

#[test]
fn audit_metric_filters_match_events_the_code_logs() {
    fn rust_sources(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("a source directory") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let services = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src/service");
    let mut sources = Vec::new();
    rust_sources(&services, &mut sources);
    let alarms = of_type("AWS::CloudWatch::Alarm");
    let filters = of_type("AWS::Logs::MetricFilter");
    assert!(filters.len() >= 3, "{:?}", filters.keys());
    for (id, filter) in filters {
        let properties = &filter["Properties"];
        let pattern = properties["FilterPattern"].as_str().unwrap();
        // `{ $.event = "login" && $.outcome = "failure" }`
        let field = |name: &str| {
            let start = pattern
                .find(&format!("$.{name} = \""))
                .unwrap_or_else(|| panic!("{id}: no {name} in {pattern}"))
                + name.len()
                + 6;
            &pattern[start..start + pattern[start..].find('"').unwrap()]
        };
        let (event, outcome) = (field("event"), field("outcome"));
        assert!(
            sources.iter().any(|s| {
                s.contains(&format!("event = \"{event}\""))
                    && s.contains(&format!("outcome = \"{outcome}\""))
            }),
            "{id}: no service logs event {event} with outcome {outcome}"
        );
        let log_group = ref_of(&properties["LogGroupName"]).expect("a log group of the stack");
        assert!(
            of_type("AWS::Lambda::Function")
                .values()
                .any(|f| ref_of(&f["Properties"]["LoggingConfig"]["LogGroup"]) == Some(log_group)),
            "{id}: {log_group} is no function's log group"
        );
        let metric = &properties["MetricTransformations"][0];
        let alarmed = alarms.values().any(|a| {
            a["Properties"]["MetricName"] == metric["MetricName"]
                && a["Properties"]["Namespace"] == metric["MetricNamespace"]
        });
        let is_login_or_refresh = matches!(event, "login" | "refresh");
        assert!(
            alarmed || !is_login_or_refresh,
            "{id}: no alarm on {}",
            metric["MetricName"]
        );
    }
}

#[test]
fn the_mailer_reads_new_outbox_records_with_bounded_retries_and_a_failure_queue() {
    let mappings = of_type("AWS::Lambda::EventSourceMapping");
    assert_eq!(mappings.len(), 1, "{:?}", mappings.keys());
    let mapping = &mappings.values().next().unwrap()["Properties"];
    assert_eq!(mapping["FunctionName"], json!({"Ref": "MailerFunction"}));
    assert_eq!(
        mapping["EventSourceArn"],
        json!({"Fn::GetAtt": ["Table", "StreamArn"]})
    );
    let pattern: Value = serde_json::from_str(
        mapping["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .expect("a filter pattern"),
    )
    .expect("the pattern is JSON");
    assert_eq!(
        pattern,
        json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}}})
    );
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(mapping["BisectBatchOnFunctionError"], json!(true));
    assert_eq!(mapping["MaximumRetryAttempts"], json!(5));
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["MailFailuresQueue", "Arn"]})
    );
    // The table streams keys only: no token leaves it that way.
    let table = &resources()["Table"]["Properties"];
    assert_eq!(
        table["StreamSpecification"],
        json!({"StreamViewType": "KEYS_ONLY"})
    );
    // Someone hears of mail given up on.
    let alarm = &resources()["MailFailuresAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], json!("AWS/SQS"));
    assert_eq!(alarm["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
}
