//! Close notifications between replicas: the message format, the subscriber
//! task (one dedicated pub/sub connection per store, reconnected with backoff)
//! and the maintenance task (expiry sweep, idle-timer refreshes).

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Weak;
use std::task::Poll;
use std::time::Duration;

use ::redis::aio::PubSub;
use ::redis::{Client, Msg, RedisError, Value};
use futures_core::Stream;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::session::store::redis::codec::parse_close;
use crate::session::store::redis::engine::Shared;

use crate::session::TARGET;

/// First and longest wait between subscription attempts.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an idle subscription is checked with PING (a half-open TCP
/// connection sends no FIN; a ping that does not come back ends it).
const HEALTH_INTERVAL: Duration = Duration::from_secs(3);

/// Keeps one subscription to the close channel alive until the store is
/// dropped. `ready` turns true after each successful subscription.
pub(super) async fn subscriber(
    store: Weak<Shared>,
    client: Client,
    channel: String,
    timeout: Duration,
    ready: watch::Sender<bool>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut failures: u32 = 0;
    let mut had_subscription = false;
    loop {
        let attempt = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, RedisError>(pubsub)
        };
        match tokio::time::timeout(timeout.max(Duration::from_secs(1)), attempt).await {
            Ok(Ok(pubsub)) => {
                let Some(shared) = store.upgrade() else {
                    return;
                };
                shared.on_subscribed().await;
                drop(shared);
                ready.send_replace(true);
                if had_subscription {
                    tracing::info!(target: TARGET, "redis close notifications: subscribed again");
                }
                had_subscription = true;
                failures = 0;
                backoff = MIN_BACKOFF;
                let reason = listen(&store, pubsub, timeout).await;
                let Some(shared) = store.upgrade() else {
                    return;
                };
                shared.on_unsubscribed();
                drop(shared);
                ready.send_replace(false);
                tracing::warn!(
                    target: TARGET,
                    reason,
                    "redis close notifications: subscription lost; reconnecting (near cache bypassed meanwhile)"
                );
            }
            Ok(Err(err)) => {
                failures += 1;
                log_failure(failures, &err.to_string());
            }
            Err(_) => {
                failures += 1;
                log_failure(failures, "timed out");
            }
        }
        if store.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn log_failure(failures: u32, reason: &str) {
    if failures == 1 {
        tracing::warn!(
            target: TARGET,
            reason,
            "redis close notifications: cannot subscribe; retrying with backoff"
        );
    } else {
        tracing::debug!(target: TARGET, reason, failures, "redis close notifications: subscribe failed");
    }
}

enum Event {
    Message(Option<Msg>),
    Health,
}

/// Reads close messages until the connection ends or the store is dropped.
/// Returns why it stopped.
async fn listen(store: &Weak<Shared>, pubsub: PubSub, timeout: Duration) -> &'static str {
    let (mut sink, stream) = pubsub.split();
    let mut stream = pin!(stream);
    let mut health = tokio::time::interval(HEALTH_INTERVAL);
    health.set_missed_tick_behavior(MissedTickBehavior::Delay);
    health.reset();
    loop {
        let event = poll_fn(|cx| {
            if let Poll::Ready(message) = stream.as_mut().poll_next(cx) {
                return Poll::Ready(Event::Message(message));
            }
            if health.poll_tick(cx).is_ready() {
                return Poll::Ready(Event::Health);
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Message(Some(message)) => {
                let Some(shared) = store.upgrade() else {
                    return "store dropped";
                };
                match parse_close(message.get_payload_bytes()) {
                    Some(close) => shared.on_close_message(close),
                    None => tracing::debug!(target: TARGET, "ignored a malformed close message"),
                }
            }
            Event::Message(None) => return "connection closed",
            Event::Health => {
                if store.strong_count() == 0 {
                    return "store dropped";
                }
                match tokio::time::timeout(timeout, sink.ping::<Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => return "ping failed",
                    Err(_) => return "ping timed out",
                }
            }
        }
    }
}

/// Runs the store's periodic work every `every` until the store is dropped
/// or shut down.
pub(super) async fn maintenance(store: Weak<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(shared) = store.upgrade() else {
            return;
        };
        if shared.is_shut_down() {
            return;
        }
        shared.maintain_once().await;
    }
}
