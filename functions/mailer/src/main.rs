//! Lambda function `mailer`: delivers the outbox records that the table's
//! stream carries (new `OUTBOX#` items, keys only), through SES v2 from
//! `MAIL_FROM`, with links to `APP_URL`. Not an HTTP route: its trigger is
//! the stream (template.yaml, MailerFunction).

use std::sync::Arc;

use accounts::auth::key_ring::KeyUse;
use accounts::mail::deliver::Mailer;
use accounts::mail::render::Renderer;
use accounts::mail::ses::SesSender;
use accounts::mail::stream::deliver_batch;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    accounts::telemetry::init();
    // Built once per cold start: the store, the templates, the SES client.
    let app = accounts::App::from_env_or_exit(KeyUse::NONE, false).await;
    let renderer = match Renderer::new(&app.config.mail.app_url) {
        Ok(renderer) => renderer,
        Err(error) => {
            tracing_error(&error.to_string());
            std::process::exit(1);
        }
    };
    let aws = accounts::aws::sdk_config().await;
    let sender = SesSender::new(aws_sdk_sesv2::Client::new(&aws), &app.config.mail.from);
    let mailer = Mailer::new(
        Arc::clone(&app.store),
        Arc::new(sender),
        renderer,
        Arc::clone(&app.clock),
    );
    let mailer = &mailer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, lambda_runtime::Error>(deliver_batch(mailer, event.payload).await)
    }))
    .await
}

fn tracing_error(error: &str) {
    tracing::error!(%error, "refusing to start: mail templates");
}
