//! JSON logs, one object per line, as CloudWatch and log tools expect.
//! Lines written while serving a request carry its `request_id` (in `span`).

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber, writing to stdout: `RUST_LOG` filters
/// (`info`, `warn,accounts=debug`: a level per target; default `info`).
/// Later calls do nothing.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// As [`init`], writing to `writer` (tests capture the log this way).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // `Targets` rather than `EnvFilter`: the same `RUST_LOG` syntax less its
    // span and field matches, without the regex engine that cost every
    // function binary ~0.5 MB (BENCHMARKS.md, Binary sizes).
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer)
        // Everything reaches `filter`, which alone decides.
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .finish()
        .with(filter)
        .try_init();
}
