//! CORS as API Gateway's HTTP API answers it for template.yaml's
//! `CorsConfiguration`: on AWS API Gateway does this and the functions never
//! see a preflight; locally this module stands in for it.
//!
//! The constants below are the one definition of the CORS settings:
//! `local/tests/template_cors.rs` holds template.yaml's `CorsConfiguration`
//! equal to them.

use std::fmt;
use std::str::FromStr;

use hyper::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use hyper::http::uri::{Scheme, Uri};
use hyper::http::{HeaderMap, HeaderValue, Method};

/// The methods a page may call cross-origin. Deliberately not derived from
/// the routes: a new route's method must be allowed here (and in the
/// template) on purpose; a unit test fails until it is.
pub const ALLOWED_METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
/// The request headers a page may set beyond the CORS-safelisted ones.
pub const ALLOWED_HEADERS: [&str; 2] = ["authorization", "content-type"];
/// The response headers a page's script may read beyond the safelisted ones:
/// how long to wait after a 429/503, and the id to quote in a bug report.
pub const EXPOSED_HEADERS: [&str; 2] = ["retry-after", "x-request-id"];
/// How long a browser may cache a preflight answer.
pub const MAX_AGE_SECONDS: u32 = 600;
/// Bearer tokens travel in a header, never in cookies: no credentialed
/// requests.
pub const ALLOW_CREDENTIALS: bool = false;
/// The origins of the usual front-end dev servers (Vite, then Next.js and
/// Create React App).
pub const DEFAULT_ALLOWED_ORIGINS: &str = "http://localhost:5173,http://localhost:3000";

/// The origins allowed to call the API from a browser: the meaning and
/// format of template.yaml's `CorsAllowedOrigins`, comma-separated
/// `scheme://host[:port]`. Empty: CORS off (no preflight answer, no CORS
/// header), as on an API without a CORS configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether `origin` (a request's `Origin` header) is one of them.
    /// Browsers serialize origins in lowercase with the default port left
    /// out, the form every allowed origin is kept in.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        origin
            .to_str()
            .is_ok_and(|origin| self.0.iter().any(|allowed| allowed == origin))
    }
}

impl fmt::Display for AllowedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

impl FromStr for AllowedOrigins {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for item in list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let origin = parse_origin(item)?;
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        Ok(AllowedOrigins(origins))
    }
}

/// One origin, as a browser would send it in `Origin`.
fn parse_origin(item: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("CORS origin `{item}`: {why}"));
    if item.contains('*') {
        // Allowing every origin is never what a local server needs, and a
        // wildcard answer would hide origin mistakes the deployed API makes.
        return bad("wildcards are not supported; list the origins");
    }
    let Ok(uri) = item.parse::<Uri>() else {
        return bad("not a URL");
    };
    let scheme = match uri.scheme() {
        Some(s) if *s == Scheme::HTTP || *s == Scheme::HTTPS => s.as_str(),
        _ => return bad("must start with http:// or https://"),
    };
    let Some(authority) = uri.authority() else {
        return bad("no host");
    };
    if authority.as_str().contains('@') {
        return bad("must not carry user information");
    }
    let after_scheme = item.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme != authority.as_str() {
        return bad("an origin has no path, not even a trailing `/`");
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    let host = authority.host().to_ascii_lowercase();
    Ok(match authority.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// The CORS answers of one server.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: AllowedOrigins,
    allow_methods: HeaderValue,
    allow_headers: HeaderValue,
    expose_headers: HeaderValue,
    max_age: HeaderValue,
}

fn header_list(items: &[&str]) -> HeaderValue {
    HeaderValue::from_str(&items.join(",")).expect("the CORS constants are valid header values")
}

impl Cors {
    pub fn new(origins: AllowedOrigins) -> Self {
        Cors {
            origins,
            allow_methods: header_list(&ALLOWED_METHODS),
            allow_headers: header_list(&ALLOWED_HEADERS),
            expose_headers: header_list(&EXPOSED_HEADERS),
            max_age: HeaderValue::from(MAX_AGE_SECONDS),
        }
    }

    pub fn origins(&self) -> &AllowedOrigins {
        &self.origins
    }

    /// A preflight is an `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`; anything else goes to the routes.
    /// With no origins configured there is no CORS and no preflight answer,
    /// as on an API without a CORS configuration.
    pub fn is_preflight(&self, method: &Method, headers: &HeaderMap) -> bool {
        !self.origins.is_empty()
            && method == Method::OPTIONS
            && headers.contains_key(ORIGIN)
            && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The headers of the answer to a preflight (204, no body). An allowed
    /// origin gets the configured lists whatever it asked for, as API
    /// Gateway answers; the browser compares. Another origin gets no CORS
    /// header at all, so the browser blocks the call.
    pub fn preflight_headers(&self, request: &HeaderMap) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allowed_origin(request) {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods.clone());
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers.clone());
            headers.insert(ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
            self.credentials(&mut headers);
        }
        headers
    }

    /// Adds the CORS headers to an actual response to a request whose
    /// `Origin` (if any) was `origin`. CORS headers the handler set are
    /// replaced, as API Gateway ignores an integration's.
    pub fn add_response_headers(&self, origin: Option<&HeaderValue>, response: &mut HeaderMap) {
        if self.origins.is_empty() {
            return;
        }
        // Whether the answer carries CORS headers depends on Origin, for
        // every request: caches must keep one answer per origin.
        response.append(VARY, HeaderValue::from_static("Origin"));
        for name in [
            ACCESS_CONTROL_ALLOW_ORIGIN,
            ACCESS_CONTROL_ALLOW_METHODS,
            ACCESS_CONTROL_ALLOW_HEADERS,
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            ACCESS_CONTROL_EXPOSE_HEADERS,
            ACCESS_CONTROL_MAX_AGE,
        ] {
            response.remove(name);
        }
        if let Some(origin) = origin.filter(|origin| self.origins.allows(origin)) {
            response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            response.insert(ACCESS_CONTROL_EXPOSE_HEADERS, self.expose_headers.clone());
            self.credentials(response);
        }
    }

    fn allowed_origin(&self, request: &HeaderMap) -> Option<HeaderValue> {
        request
            .get(ORIGIN)
            .filter(|origin| self.origins.allows(origin))
            .cloned()
    }

    fn credentials(&self, headers: &mut HeaderMap) {
        if ALLOW_CREDENTIALS {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accounts::http::Route;

    fn cors(origins: &str) -> Cors {
        Cors::new(origins.parse().unwrap())
    }

    fn request(origin: &str, method: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_str(method).unwrap(),
        );
        headers
    }

    #[test]
    fn every_routed_method_is_allowed_cross_origin() {
        for route in Route::ALL {
            assert!(
                ALLOWED_METHODS.contains(&route.method().as_str()),
                "{route:?} uses {}, which browsers may not call cross-origin: add it to \
                 cors::ALLOWED_METHODS and to template.yaml's CorsConfiguration.AllowMethods",
                route.method()
            );
        }
    }

    #[test]
    fn origins_parse_as_browsers_send_them() {
        let origins: AllowedOrigins =
            " HTTP://LocalHost:5173 ,https://app.example.com:443,,http://127.0.0.1:80,http://localhost:5173"
                .parse()
                .unwrap();
        assert_eq!(
            origins.as_slice(),
            [
                "http://localhost:5173",
                "https://app.example.com",
                "http://127.0.0.1"
            ]
        );
        let defaults: AllowedOrigins = DEFAULT_ALLOWED_ORIGINS.parse().unwrap();
        assert_eq!(defaults.to_string(), DEFAULT_ALLOWED_ORIGINS);
        assert!("".parse::<AllowedOrigins>().unwrap().is_empty());
    }

    #[test]
    fn origins_that_no_browser_sends_are_refused() {
        for bad in [
            "*",
            "https://*.example.com",
            "localhost:5173",
            "ftp://example.com",
            "http://localhost:5173/",
            "http://localhost:5173/app",
            "http://user@localhost:5173",
            "http://",
            "not an origin",
        ] {
            let error = bad.parse::<AllowedOrigins>().unwrap_err();
            assert!(error.contains(bad), "{bad}: {error}");
        }
    }

    #[test]
    fn an_allowed_preflight_gets_the_configured_lists() {
        let cors = cors("http://localhost:5173");
        let request = request("http://localhost:5173", "PUT");
        assert!(cors.is_preflight(&Method::OPTIONS, &request));
        let headers = cors.preflight_headers(&request);
        let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(
            get(ACCESS_CONTROL_ALLOW_ORIGIN),
            Some("http://localhost:5173")
        );
        assert_eq!(
            get(ACCESS_CONTROL_ALLOW_METHODS),
            Some("GET,POST,PUT,DELETE")
        );
        assert_eq!(
            get(ACCESS_CONTROL_ALLOW_HEADERS),
            Some("authorization,content-type")
        );
        assert_eq!(get(ACCESS_CONTROL_MAX_AGE), Some("600"));
        assert_eq!(get(VARY), Some("Origin"));
        assert_eq!(get(ACCESS_CONTROL_ALLOW_CREDENTIALS), None);
    }

    #[test]
    fn a_disallowed_preflight_gets_no_cors_header() {
        let cors = cors("http://localhost:5173");
        for origin in ["http://localhost:5174", "https://localhost:5173", "null"] {
            let headers = cors.preflight_headers(&request(origin, "POST"));
            let names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
            assert_eq!(names, ["vary"], "{origin}");
        }
    }

    #[test]
    fn only_options_with_origin_and_request_method_is_a_preflight() {
        let cors = cors("http://localhost:5173");
        let full = request("http://localhost:5173", "POST");
        assert!(!cors.is_preflight(&Method::POST, &full));
        let mut no_method = full.clone();
        no_method.remove(ACCESS_CONTROL_REQUEST_METHOD);
        assert!(!cors.is_preflight(&Method::OPTIONS, &no_method));
        let mut no_origin = full.clone();
        no_origin.remove(ORIGIN);
        assert!(!cors.is_preflight(&Method::OPTIONS, &no_origin));
        assert!(!self::cors("").is_preflight(&Method::OPTIONS, &full));
    }

    #[test]
    fn actual_responses_echo_an_allowed_origin_only() {
        let cors = cors("http://localhost:5173,http://localhost:3000");
        let allowed = HeaderValue::from_static("http://localhost:3000");
        let mut headers = HeaderMap::new();
        // A handler's own CORS header never survives.
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        cors.add_response_headers(Some(&allowed), &mut headers);
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], allowed);
        assert_eq!(
            headers[ACCESS_CONTROL_EXPOSE_HEADERS],
            "retry-after,x-request-id"
        );
        assert_eq!(headers[VARY], "Origin");
        assert!(!headers.contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));

        for origin in [Some(HeaderValue::from_static("http://evil.example")), None] {
            let mut headers = HeaderMap::new();
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            cors.add_response_headers(origin.as_ref(), &mut headers);
            let names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
            assert_eq!(names, ["vary"], "{origin:?}");
        }
    }

    #[test]
    fn no_origins_means_no_cors() {
        let cors = cors("");
        let mut headers = HeaderMap::new();
        cors.add_response_headers(
            Some(&HeaderValue::from_static("http://localhost:5173")),
            &mut headers,
        );
        assert!(headers.is_empty());
    }
}
