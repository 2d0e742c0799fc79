//! Close notifications between replicas: the message format, the subscriber
//! task (one dedicated pub/sub connection per store, reconnected with backoff)
//! and the maintenance task (expiry sweep, idle-timer refreshes).

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Weak;
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::PubSub;
use ::redis::{Client, Msg, RedisError, Value};
use futures_core::Stream;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::engine::Shared;
use crate::session::id::SessionId;
use crate::session::principal::Principal;
use crate::session::store::CloseCause;

use crate::session::TARGET;

/// First and longest wait between subscription attempts.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an idle subscription is checked with PING (a half-open TCP
/// connection sends no FIN; a ping that does not come back ends it).
const HEALTH_INTERVAL: Duration = Duration::from_secs(3);

/// A close announced on the channel.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct CloseMessage {
    pub(super) cause: CloseCause,
    pub(super) created_at: SystemTime,
    pub(super) id: SessionId,
    pub(super) principal: Option<Principal>,
}

/// Parses `cause\ncreated_ms\nid\n+principal` (the principal part is empty for
/// anonymous sessions and may itself contain newlines).
pub(super) fn parse_close(payload: &[u8]) -> Option<CloseMessage> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.splitn(4, '\n');
    let cause = CloseCause::from_name(parts.next()?)?;
    let created_ms: u64 = parts.next()?.parse().ok()?;
    let id = SessionId::parse(parts.next()?.as_bytes()).ok()?;
    let principal = match parts.next()? {
        "" => None,
        p => Some(Principal::new(p.strip_prefix('+')?)),
    };
    Some(CloseMessage {
        cause,
        created_at: UNIX_EPOCH + Duration::from_millis(created_ms),
        id,
        principal,
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_messages_round_trip() {
        let id = SessionId::new_random();
        let payload = format!("deleted\n1700000000123\n{}\n+user:a\nb", id.as_str());
        let msg = parse_close(payload.as_bytes()).unwrap();
        assert_eq!(msg.cause, CloseCause::Deleted);
        assert_eq!(msg.id, id);
        assert_eq!(msg.principal, Some(Principal::new("user:a\nb")));
        assert_eq!(
            msg.created_at,
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
        );
        let anon = format!("idle_expired\n5\n{}\n", id.as_str());
        assert_eq!(parse_close(anon.as_bytes()).unwrap().principal, None);
        for bad in [
            "nope\n1\nabc\n",
            "deleted\nx\nabc\n",
            "deleted\n1\n\n",
            "deleted\n1\nabc",
            "deleted\n1\nabc\nuser",
        ] {
            assert_eq!(parse_close(bad.as_bytes()), None, "{bad:?}");
        }
        for cause in [
            CloseCause::Deleted,
            CloseCause::IdleExpired,
            CloseCause::LifetimeExpired,
            CloseCause::Evicted,
            CloseCause::Shutdown,
        ] {
            assert_eq!(CloseCause::from_name(cause.as_str()), Some(cause));
        }
    }
}
