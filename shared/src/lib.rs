//! The user account service's domain and glue, shared by every Lambda
//! function, the local server and the operator tool.
//!
//! Layers, outermost first: [`http`] (parse, validate, envelope) calls
//! [`service`] (plain Rust, no HTTP), which reads and writes through
//! [`store::Store`].

pub mod app;
pub mod auth;
pub mod aws;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod mail;
pub mod model;
pub mod outbound;
pub mod role;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use error::{Error, Result};
