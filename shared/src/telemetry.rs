//! JSON logs, one object per line, as CloudWatch and log tools expect.
//! Lines written while serving a request carry its `request_id` (in `span`).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber, writing to stdout: `RUST_LOG` filters
/// (default `info`). Later calls do nothing.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// As [`init`], writing to `writer` (tests capture the log this way).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
}
