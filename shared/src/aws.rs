//! The one AWS configuration every client of the service is built from
//! (DynamoDB, Secrets Manager, SES): the standard credential and region
//! chain, with timeouts and retries sized for a Lambda that must answer a
//! 503 rather than hang.

/// How long one AWS call (DynamoDB, Secrets Manager, SES) may take. A Lambda here runs for at most 10 s,
/// and a store that is out of reach must cost the caller a 503 well before
/// that, not a gateway timeout:
///
/// - connect: 1 s. In-region (or loopback) a connection takes milliseconds;
///   a connect that hangs means a black hole, not a busy server.
/// - one attempt: 2 s. DynamoDB answers in milliseconds (a transaction in
///   tens of them); an attempt this slow is stuck, and another attempt on a
///   fresh connection has a better chance than waiting longer.
/// - the whole call, retries and backoff included: 4 s. The first call that
///   fails ends the request, so a request fails within about 4 s plus its
///   own work, under half the Lambda timeout.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// How DynamoDB calls are retried: the SDK's standard strategy (throttling,
/// 5xx, timeouts and broken connections; never a failed condition), 3
/// attempts in all, with exponential backoff and full jitter starting at
/// 200 ms (waits of up to 0.2 s, then up to 0.4 s). A throttled partition
/// gets two spread-out second chances before the caller sees a 503; a
/// refused connection fails in well under a second. The whole-call timeout
/// above bounds it all. Broken connections are not reused.
pub fn retries() -> aws_config::retry::RetryConfig {
    use std::time::Duration;
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(1))
}

/// The standard AWS configuration chain with the timeouts and retries
/// above: what every AWS client of the service is built from (DynamoDB, and
/// Secrets Manager for the keys, whose reads want the same bounds). Loading
/// it makes no network call but reads the root certificates: load it once
/// per process.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}

/// The DynamoDB client, from [`sdk_config`]. Building it makes no network call.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}
