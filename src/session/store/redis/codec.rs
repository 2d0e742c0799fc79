//! How a session is written to Redis and read back: key names, script
//! arguments, the stored session hash, and readable Redis errors.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::{RedisError, Value};
use http::HeaderValue;

use crate::protocol::ProtocolVersion;
use crate::session::id::SessionId;
use crate::session::principal::Principal;
use crate::session::store::close::CloseCause;
use crate::session::store::redis::scripts::{as_bytes, as_string, as_u64};
use crate::session::{client_info::ClientInfo, context::SessionContext};

/// Redis key and channel names, all under one hash tag `{prefix}`.
#[derive(Debug)]
pub(super) struct Keys {
    pub(super) live: String,
    pub(super) pending: String,
    pub(super) idx: String,
    pub(super) pcount: String,
    /// `{prefix}:`, for the per-session keys the scripts build.
    pub(super) prefix: String,
    pub(super) channel: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        let base = format!("{{{prefix}}}:");
        Self {
            live: format!("{base}live"),
            pending: format!("{base}pending"),
            idx: format!("{base}idx"),
            pcount: format!("{base}pcount"),
            channel: format!("{base}closed"),
            prefix: base,
        }
    }
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

pub(super) fn principal_arg(principal: Option<&Principal>) -> String {
    principal.map_or_else(String::new, |p| format!("+{}", p.as_str()))
}

/// A readable Redis error, without arguments (ids never appear).
pub(super) fn describe(err: &RedisError) -> String {
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connection_refusal() {
        "connection refused".to_owned()
    } else if err.is_connection_dropped() {
        "connection dropped".to_owned()
    } else {
        err.to_string()
    }
}

/// A context from the stored session hash (a flat field/value array).
pub(super) fn restore(id: &SessionId, fields: &[Value]) -> SessionContext {
    let mut created = None;
    let mut seen = None;
    let mut principal = None;
    let mut version = None;
    let mut user_agent = None;
    let mut origin = None;
    let mut peer = None;
    let mut replica = None;
    for pair in fields.chunks_exact(2) {
        let (Some(name), value) = (as_bytes(&pair[0]), &pair[1]) else {
            continue;
        };
        match name {
            b"c" => created = as_u64(value),
            b"seen" => seen = as_u64(value),
            b"p" => principal = as_string(value).map(Principal::new),
            b"v" => version = as_bytes(value).and_then(ProtocolVersion::parse_bytes),
            b"ua" => user_agent = as_bytes(value).and_then(|b| HeaderValue::from_bytes(b).ok()),
            b"o" => origin = as_bytes(value).and_then(|b| HeaderValue::from_bytes(b).ok()),
            b"a" => peer = as_string(value).and_then(|a| a.parse().ok()),
            b"r" => replica = as_string(value),
            _ => {}
        }
    }
    let at = |ms: Option<u64>| {
        ms.map_or_else(SystemTime::now, |ms| UNIX_EPOCH + Duration::from_millis(ms))
    };
    let created = at(created);
    let session = SessionContext::restore(
        id.clone(),
        principal,
        ClientInfo::new(user_agent, origin, peer),
        version,
        created,
        seen.map_or(created, |ms| UNIX_EPOCH + Duration::from_millis(ms)),
    );
    if let Some(replica) = replica {
        session.set_replica(replica.into());
    }
    session
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_one_hash_tag() {
        let keys = Keys::new("app");
        assert_eq!(keys.live, "{app}:live");
        assert_eq!(keys.channel, "{app}:closed");
        assert_eq!(keys.prefix, "{app}:");
    }

    #[test]
    fn restores_a_context_from_stored_fields() {
        let id = SessionId::new_random();
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let fields = [
            b("c"),
            b("1700000000000"),
            b("seen"),
            b("1700000005000"),
            b("p"),
            b("user:a"),
            b("v"),
            b("2025-06-18"),
            b("ua"),
            b("curl/8"),
            b("a"),
            b("127.0.0.1:9"),
            b("zz"),
        ];
        let s = restore(&id, &fields);
        assert_eq!(s.id(), &id);
        assert_eq!(
            s.created_at(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_000)
        );
        assert_eq!(
            s.last_seen(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_005_000)
        );
        assert_eq!(s.principal(), Some(&Principal::new("user:a")));
        assert_eq!(s.protocol_version(), Some(ProtocolVersion::V2025_06_18));
        assert_eq!(s.client().user_agent(), Some("curl/8"));
        assert_eq!(s.client().origin(), None);
        assert_eq!(s.client().peer_addr(), Some("127.0.0.1:9".parse().unwrap()));
    }

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
        for cause in CloseCause::ALL {
            assert_eq!(CloseCause::from_name(cause.as_str()), Some(cause));
        }
    }
}
