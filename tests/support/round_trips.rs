//! Counts the DynamoDB requests a piece of work makes, and how many of them
//! had to wait for another (the round trips a caller feels).
//!
//! A request is marked when the code issues it (the SDK's `before_execution`
//! hook runs in the first poll of the operation's future, so two requests
//! joined with `tokio::join!` are both marked before either can answer) and
//! when its operation completes, retries included. Marking at transmit
//! instead let a loaded machine, or an SDK retry, make joined requests look
//! sequential.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// Which call an operation is, kept in the operation's own config bag so
/// that its completion finds its own start.
#[derive(Debug, Clone)]
struct CallIndex(usize);

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug, Clone)]
struct Call {
    operation: String,
    started: Instant,
    ended: Option<Instant>,
}

/// An SDK interceptor; clone it into a client's config and read it after.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips {
    calls: Arc<Mutex<Vec<Call>>>,
}

/// What one piece of work cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Requests sent.
    pub requests: usize,
    /// The longest chain of requests each sent after the previous answered:
    /// requests sent together count once.
    pub sequential: usize,
    pub operations: Vec<String>,
}

impl RoundTrips {
    pub fn reset(&self) {
        self.calls.lock().unwrap().clear();
    }

    pub fn tally(&self) -> Tally {
        let mut calls = self.calls.lock().unwrap().clone();
        calls.sort_by_key(|c| c.started);
        let mut depth = vec![0usize; calls.len()];
        for i in 0..calls.len() {
            let before = (0..i)
                .filter(|&j| calls[j].ended.is_some_and(|end| end <= calls[i].started))
                .map(|j| depth[j])
                .max()
                .unwrap_or(0);
            depth[i] = before + 1;
        }
        Tally {
            requests: calls.len(),
            sequential: depth.into_iter().max().unwrap_or(0),
            operations: calls.into_iter().map(|c| c.operation).collect(),
        }
    }
}

/// The name of the DynamoDB operation a request belongs to.
fn operation_of(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map(|m| m.name().to_owned())
        .unwrap_or_default()
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut calls = self.calls.lock().unwrap();
        cfg.interceptor_state().store_put(CallIndex(calls.len()));
        calls.push(Call {
            // Named at transmit: the operation's metadata is not in the
            // bag yet this early.
            operation: String::new(),
            started: Instant::now(),
            ended: None,
        });
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallIndex(index)) = cfg.load::<CallIndex>().cloned()
            && let Some(call) = self.calls.lock().unwrap().get_mut(index)
        {
            call.operation = operation_of(cfg);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallIndex(index)) = cfg.load::<CallIndex>().cloned()
            && let Some(call) = self.calls.lock().unwrap().get_mut(index)
        {
            call.ended = Some(Instant::now());
        }
        Ok(())
    }
}
