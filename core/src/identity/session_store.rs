//! Where browser sessions live: in the tenant's schema (the default), or in Redis
//! when `REDIS_URL` is set, so many instances share them without a database write
//! per sign-in step and expired sessions disappear on their own.
//!
//! Both keep the same rules: a session is found by the SHA-256 of its id; it ends
//! at its absolute limit or after the idle limit; rotating it (each sign-in step,
//! each step-up) replaces its id atomically; a person's sessions can be listed and
//! ended together. Redis keys carry the installation id and the tenant id, so two
//! installations sharing a Redis, or two tenants, never meet.
//!
//! Redis writes happen at once, not at the database transaction's commit: a
//! rotation or an ending that outlives a failed transaction errs on the closed side
//! (the person signs in again), and a session created for a transaction that then
//! fails is never handed to a browser, so nobody holds its id.

use std::collections::HashMap;

use portico_tenants::TenantDb;
use portico_tenants::TenantTx;
use portico_tenants::accounts::{self, NewSession, SessionRecord, SessionState};
use portico_tenants::clock::now_ms;
use redis::AsyncCommands as _;

use crate::http::error::ApiError;

/// The session storage of one application.
#[derive(Clone)]
pub enum SessionStore {
    /// The `sessions` table of each tenant's schema.
    Database,
    /// Redis, with this installation's key prefix.
    Redis(redis::aio::ConnectionManager, String),
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionStore::Database => "SessionStore::Database",
            SessionStore::Redis(..) => "SessionStore::Redis",
        })
    }
}

fn redis_error(error: redis::RedisError) -> ApiError {
    ApiError::Internal(anyhow::Error::new(error).context("session storage (redis)"))
}

/// Moves a session to a new id and state; `0` when it no longer exists.
const ROTATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'csrf_token', ARGV[1], 'state', ARGV[2], 'last_seen_at', ARGV[3])
if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'step_up_at', ARGV[3]) end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SREM', KEYS[3], ARGV[6])
redis.call('SADD', KEYS[3], ARGV[7])
return 1
";

/// Ends one session if it belongs to the person.
const END_ONE: &str = r"
if redis.call('HGET', KEYS[1], 'user_id') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
";

/// Ends every session of a person; returns how many existed.
const END_ALL: &str = r"
local ended = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  ended = ended + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return ended
";

/// Uses up a step-up younger than ARGV[1] (Unix ms); `1` at most once.
const CONSUME_STEP_UP: &str = r"
local at = tonumber(redis.call('HGET', KEYS[1], 'step_up_at') or '')
if at ~= nil and at > tonumber(ARGV[1]) then
  redis.call('HDEL', KEYS[1], 'step_up_at')
  return 1
end
return 0
";

impl SessionStore {
    /// Redis when configured, the database otherwise.
    pub fn new(redis: Option<redis::aio::ConnectionManager>, installation: &str) -> Self {
        match redis {
            Some(redis) => SessionStore::Redis(redis, format!("portico:{installation}:session:")),
            None => SessionStore::Database,
        }
    }

    fn session_key(prefix: &str, db: &TenantDb, id_hash: &str) -> String {
        format!("{prefix}{}:{id_hash}", db.id())
    }

    fn session_prefix(prefix: &str, db: &TenantDb) -> String {
        format!("{prefix}{}:", db.id())
    }

    fn person_key(prefix: &str, db: &TenantDb, user_id: i64) -> String {
        format!("{prefix}{}:person:{user_id}", db.id())
    }

    /// Stores a new session (beside `tx` when in the database).
    pub async fn create(
        &self,
        db: &TenantDb,
        tx: &mut TenantTx,
        new: NewSession<'_>,
        idle_ms: i64,
    ) -> Result<(), ApiError> {
        let (mut redis, prefix) = match self {
            SessionStore::Database => return Ok(accounts::create_session(tx, new).await?),
            SessionStore::Redis(redis, prefix) => (redis.clone(), prefix),
        };
        let now = now_ms();
        let key = Self::session_key(prefix, db, new.id_hash);
        let person = Self::person_key(prefix, db, new.user_id);
        let ttl = idle_ms.min(new.expires_at - now).max(1);
        let fields = [
            ("user_id", new.user_id.to_string()),
            ("state", new.state.as_str().to_owned()),
            ("csrf_token", new.csrf_token.to_owned()),
            ("created_at", now.to_string()),
            ("last_seen_at", now.to_string()),
            ("expires_at", new.expires_at.to_string()),
            ("ip", new.ip.to_owned()),
            ("user_agent", new.user_agent.to_owned()),
        ];
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &fields)
            .ignore()
            .pexpire(&key, ttl)
            .ignore()
            .sadd(&person, new.id_hash)
            .ignore()
            .pexpire(&person, (new.expires_at - now).max(1))
            .ignore()
            .query_async::<()>(&mut redis)
            .await
            .map_err(redis_error)
    }

    /// A live session by the hash of its id (see `accounts::find_session`). The
    /// caller checks that its person is not disabled.
    pub async fn find(
        &self,
        db: &TenantDb,
        id_hash: &str,
        idle_ms: i64,
    ) -> Result<Option<SessionRecord>, ApiError> {
        let (mut redis, prefix) = match self {
            SessionStore::Database => {
                return Ok(accounts::find_session(db, id_hash, idle_ms).await?);
            }
            SessionStore::Redis(redis, prefix) => (redis.clone(), prefix),
        };
        let key = Self::session_key(prefix, db, id_hash);
        let fields: HashMap<String, String> = redis.hgetall(&key).await.map_err(redis_error)?;
        let Some(session) = record_from(id_hash, &fields) else {
            return Ok(None);
        };
        let now = now_ms();
        if session.expires_at <= now || session.last_seen_at <= now - idle_ms {
            return Ok(None);
        }
        if now - session.last_seen_at > 60_000 {
            redis::pipe()
                .hset(&key, "last_seen_at", now)
                .ignore()
                .pexpire(&key, idle_ms.min(session.expires_at - now).max(1))
                .ignore()
                .query_async::<()>(&mut redis)
                .await
                .map_err(redis_error)?;
        }
        Ok(Some(session))
    }

    /// Replaces a session's id and CSRF token and moves it to `state`; `false` when
    /// the session is gone.
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate(
        &self,
        db: &TenantDb,
        tx: &mut TenantTx,
        user_id: i64,
        old_id_hash: &str,
        new_id_hash: &str,
        new_csrf: &str,
        state: SessionState,
        step_up: bool,
        idle_ms: i64,
    ) -> Result<bool, ApiError> {
        let (mut redis, prefix) = match self {
            SessionStore::Database => {
                return Ok(accounts::rotate_session(
                    tx,
                    old_id_hash,
                    new_id_hash,
                    new_csrf,
                    state,
                    step_up,
                )
                .await?);
            }
            SessionStore::Redis(redis, prefix) => (redis.clone(), prefix),
        };
        let rotated: i64 = redis::Script::new(ROTATE)
            .key(Self::session_key(prefix, db, old_id_hash))
            .key(Self::session_key(prefix, db, new_id_hash))
            .key(Self::person_key(prefix, db, user_id))
            .arg(new_csrf)
            .arg(state.as_str())
            .arg(now_ms())
            .arg(if step_up { "1" } else { "0" })
            .arg(idle_ms.max(1))
            .arg(old_id_hash)
            .arg(new_id_hash)
            .invoke_async(&mut redis)
            .await
            .map_err(redis_error)?;
        Ok(rotated == 1)
    }

    /// Ends one session of a person (only their own).
    pub async fn end_one(
        &self,
        db: &TenantDb,
        user_id: i64,
        id_hash: &str,
    ) -> Result<bool, ApiError> {
        let (mut redis, prefix) = match self {
            SessionStore::Database => return Ok(accounts::end_session(db, user_id, id_hash).await?),
            SessionStore::Redis(redis, prefix) => (redis.clone(), prefix),
        };
        let ended: i64 = redis::Script::new(END_ONE)
            .key(Self::session_key(prefix, db, id_hash))
            .key(Self::person_key(prefix, db, user_id))
            .arg(user_id)
            .arg(id_hash)
            .invoke_async(&mut redis)
            .await
            .map_err(redis_error)?;
        Ok(ended == 1)
    }

    /// Ends every session of a person, in `tx` when in the database; returns how
    /// many ended.
    pub async fn end_all(
        &self,
        db: &TenantDb,
        tx: &mut TenantTx,
        user_id: i64,
    ) -> Result<u64, ApiError> {
        match self {
            SessionStore::Database => Ok(accounts::end_all_sessions(tx, user_id).await?),
            SessionStore::Redis(..) => self.end_all_in_redis(db, user_id).await,
        }
    }

    /// After an administrative change that ended a person's sessions in the
    /// database (disabling them, resetting their factor): ends those in Redis too.
    /// Returns how many ended there (none without Redis).
    pub async fn end_all_elsewhere(&self, db: &TenantDb, user_id: i64) -> Result<u64, ApiError> {
        match self {
            SessionStore::Database => Ok(0),
            SessionStore::Redis(..) => self.end_all_in_redis(db, user_id).await,
        }
    }

    async fn end_all_in_redis(&self, db: &TenantDb, user_id: i64) -> Result<u64, ApiError> {
        let SessionStore::Redis(redis, prefix) = self else {
            return Ok(0);
        };
        let mut redis = redis.clone();
        let ended: i64 = redis::Script::new(END_ALL)
            .key(Self::person_key(prefix, db, user_id))
            .arg(Self::session_prefix(prefix, db))
            .invoke_async(&mut redis)
            .await
            .map_err(redis_error)?;
        Ok(u64::try_from(ended).unwrap_or(0))
    }

    /// A person's live sessions, newest first.
    pub async fn list(&self, db: &TenantDb, user_id: i64) -> Result<Vec<SessionRecord>, ApiError> {
        let (mut redis, prefix) = match self {
            SessionStore::Database => return Ok(accounts::list_sessions(db, user_id).await?),
            SessionStore::Redis(redis, prefix) => (redis.clone(), prefix),
        };
        let person = Self::person_key(prefix, db, user_id);
        let ids: Vec<String> = redis.smembers(&person).await.map_err(redis_error)?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(Self::session_key(prefix, db, id));
        }
        let all: Vec<HashMap<String, String>> = if ids.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut redis).await.map_err(redis_error)?
        };
        let now = now_ms();
        let mut sessions = Vec::new();
        let mut gone = Vec::new();
        for (id, fields) in ids.iter().zip(all) {
            match record_from(id, &fields) {
                Some(session) if session.expires_at > now && session.user_id == user_id => {
                    sessions.push(session)
                }
                _ => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            let _: i64 = redis.srem(&person, gone).await.map_err(redis_error)?;
        }
        sessions.sort_by_key(|session| std::cmp::Reverse(session.created_at));
        Ok(sessions)
    }

    /// Uses up a session's step-up if it is younger than `max_age_ms`.
    pub async fn consume_step_up(
        &self,
        db: &TenantDb,
        id_hash: &str,
        max_age_ms: i64,
    ) -> Result<bool, ApiError> {
        let (mut redis, prefix) = match self {
            SessionStore::Database => {
                return Ok(accounts::consume_step_up(db, id_hash, max_age_ms).await?);
            }
            SessionStore::Redis(redis, prefix) => (redis.clone(), prefix),
        };
        let used: i64 = redis::Script::new(CONSUME_STEP_UP)
            .key(Self::session_key(prefix, db, id_hash))
            .arg(now_ms() - max_age_ms)
            .invoke_async(&mut redis)
            .await
            .map_err(redis_error)?;
        Ok(used == 1)
    }
}

fn record_from(id_hash: &str, fields: &HashMap<String, String>) -> Option<SessionRecord> {
    let number = |name: &str| fields.get(name)?.parse::<i64>().ok();
    let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
    Some(SessionRecord {
        id_hash: id_hash.to_owned(),
        user_id: number("user_id")?,
        state: SessionState::parse(fields.get("state")?),
        csrf_token: fields.get("csrf_token")?.clone(),
        created_at: number("created_at")?,
        last_seen_at: number("last_seen_at")?,
        expires_at: number("expires_at")?,
        step_up_at: number("step_up_at"),
        ip: text("ip"),
        user_agent: text("user_agent"),
    })
}
