//! Every DynamoDB request a client sends, as its operation and JSON body:
//! an SDK interceptor to clone into a client's config and read after. The
//! IAM test checks each request against the policies; the scale test counts
//! the keys they write.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl RequestLog {
    /// The requests sent since the last call: (operation, body).
    pub fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request
            .headers()
            .get("x-amz-target")
            .expect("a DynamoDB request names its operation");
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let body: Value = serde_json::from_slice(request.body().bytes().unwrap_or(b"{}"))
            .expect("a DynamoDB request body is JSON");
        self.requests.lock().unwrap().push((operation, body));
        Ok(())
    }
}
