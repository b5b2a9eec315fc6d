//! The state in Redis, shared by every replica. Each check is one Lua script, so it is
//! atomic on the server and costs one round trip; clocks are Redis's own (`TIME`), so
//! replicas with skewed clocks still agree. One multiplexed connection per process, made
//! lazily and remade on its own after a failure; commands time out after a second, so an
//! unreachable Redis fails a check quickly instead of holding calls.
//!
//! Keys (`<prefix>` is `[state] key_prefix`):
//! - `<prefix>:rate:<principal>`: the bucket's theoretical arrival time (GCRA), in µs
//! - `<prefix>:usage:<YYYY-MM-DD>:<principal>`: a hash of the day's counters, kept 2 days
//! - `<prefix>:task:<id>`: a hash with `record` and `terminal`, expiring as asked

use std::collections::HashMap;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, ConnectionAddr, RedisError, Script};

use super::usage::{Budget, Counts, DAY_TTL, Fields, Spent};
use super::{RateDecision, StateError, fields};

/// How long one command (or one connection attempt) may take before it counts as a failure.
const TIMEOUT: Duration = Duration::from_secs(1);

/// GCRA: a burst of `per_minute`, then one every 60/`per_minute` s, as the memory bucket.
/// Returns `{1, 0}` when admitted, `{0, wait_ms}` when not.
const RATE_SCRIPT: &str = r"
local per_minute = tonumber(ARGV[1])
local emission = 60000000 / per_minute
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local new_tat = tat + emission
local allow_at = new_tat - per_minute * emission
if allow_at - now > 1 then
  return {0, math.ceil((allow_at - now) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
";

/// Counts a request unless a budget is spent. `ARGV`: max requests, max tokens (-1 for
/// none), TTL in s. Returns `{0,0,0}` admitted, `{1,used,limit}` requests spent,
/// `{2,used,limit}` tokens spent.
const ADMIT_SCRIPT: &str = r"
local v = redis.call('HMGET', KEYS[1], 'requests', 'tokens')
local req = tonumber(v[1]) or 0
local tok = tonumber(v[2]) or 0
local maxr = tonumber(ARGV[1])
local maxt = tonumber(ARGV[2])
if maxr >= 0 and req >= maxr then return {1, req, maxr} end
if maxt >= 0 and tok >= maxt then return {2, tok, maxt} end
redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {0, 0, 0}
";

/// Writes a task record unless the stored one is terminal. Returns 1 if it wrote.
const TASK_SAVE_SCRIPT: &str = r"
if redis.call('HGET', KEYS[1], 'terminal') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'terminal', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

pub(super) struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    where_: String,
    rate: Script,
    admit: Script,
    task_save: Script,
}

fn unavailable(e: RedisError) -> StateError {
    StateError::Unavailable(e.to_string())
}

impl RedisStore {
    /// Parses the URL and prepares the connection without connecting.
    pub fn open(url: &str, prefix: &str) -> anyhow::Result<Self> {
        // The URL may carry a password: errors say what is wrong, never the URL itself.
        let client = Client::open(url).map_err(|e| {
            anyhow::anyhow!(
                "the state URL ([state] url or MISTRAL_MCP_STATE_URL) is not a usable Redis URL \
                 ({:?}); write it as redis://[:password@]host:port/db",
                e.kind()
            )
        })?;
        let info = client.get_connection_info();
        let where_ = match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                format!("redis://{host}:{port}/{}", info.redis_settings().db())
            }
            ConnectionAddr::TcpTls { host, port, .. } => {
                format!("rediss://{host}:{port}/{}", info.redis_settings().db())
            }
            _ => "redis (unix socket)".to_string(),
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            // One quick retry per attempt; a failed command starts the next attempt, so the
            // connection comes back on the first call after Redis does.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| anyhow::anyhow!("cannot prepare the Redis connection: {e}"))?;
        Ok(Self {
            conn,
            prefix: prefix.to_string(),
            where_,
            rate: Script::new(RATE_SCRIPT),
            admit: Script::new(ADMIT_SCRIPT),
            task_save: Script::new(TASK_SAVE_SCRIPT),
        })
    }

    pub fn describe(&self) -> String {
        self.where_.clone()
    }

    fn key(&self, kind: &str, rest: &str) -> String {
        format!("{}:{kind}:{rest}", self.prefix)
    }

    fn day_key(&self, day: &str, principal: &str) -> String {
        format!("{}:usage:{day}:{principal}", self.prefix)
    }

    pub async fn ping(&self) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        ::redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    pub async fn rate_check(
        &self,
        principal: &str,
        per_minute: u32,
    ) -> Result<RateDecision, StateError> {
        let mut conn = self.conn.clone();
        let (ok, wait_ms): (i64, i64) = self
            .rate
            .key(self.key("rate", principal))
            .arg(per_minute)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(if ok == 1 {
            Ok(())
        } else {
            Err(Duration::from_millis(wait_ms.max(1).unsigned_abs()))
        })
    }

    pub async fn admit(
        &self,
        principal: &str,
        day: &str,
        budget: &Budget,
    ) -> Result<Option<Spent>, StateError> {
        let limit = |v: Option<u64>| v.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut conn = self.conn.clone();
        let (what, used, max): (i64, i64, i64) = self
            .admit
            .key(self.day_key(day, principal))
            .arg(limit(budget.max_requests_per_day))
            .arg(limit(budget.max_tokens_per_day))
            .arg(DAY_TTL.as_secs())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let (used, limit) = (used.unsigned_abs(), max.unsigned_abs());
        match what {
            0 => Ok(None),
            1 => Ok(Some(Spent::Requests { used, limit })),
            2 => Ok(Some(Spent::Tokens { used, limit })),
            other => Err(StateError::Protocol(format!(
                "the budget script returned {other}"
            ))),
        }
    }

    pub async fn add_usage(
        &self,
        principal: &str,
        day: &str,
        model: &str,
        c: &Counts,
    ) -> Result<(), StateError> {
        let key = self.day_key(day, principal);
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .hincr(&key, fields::TOKENS, n(c.total))
            .hincr(&key, fields::model(model, "prompt"), n(c.prompt))
            .hincr(&key, fields::model(model, "completion"), n(c.completion))
            .hincr(&key, fields::model(model, "total"), n(c.total))
            .hincr(&key, fields::model(model, "requests"), 1)
            .expire(&key, i64::try_from(DAY_TTL.as_secs()).unwrap_or(i64::MAX))
            .ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await.map_err(unavailable)
    }

    pub async fn day_counters(&self, day: &str) -> Result<Vec<(String, Fields)>, StateError> {
        let prefix = self.day_key(day, "");
        let mut conn = self.conn.clone();
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = ::redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let mut out = Vec::new();
        for key in keys {
            let all: HashMap<String, String> = ::redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let f: Fields = all
                .into_iter()
                .filter_map(|(k, v)| v.parse::<u64>().ok().map(|n| (k, n)))
                .collect();
            let principal = key.strip_prefix(&prefix).unwrap_or(&key).to_string();
            out.push((principal, f));
        }
        Ok(out)
    }

    pub async fn task_save(
        &self,
        id: &str,
        record: &str,
        terminal: bool,
        ttl: Duration,
    ) -> Result<bool, StateError> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.conn.clone();
        let wrote: i64 = self
            .task_save
            .key(self.key("task", id))
            .arg(record)
            .arg(if terminal { "1" } else { "0" })
            .arg(ttl_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(wrote == 1)
    }

    pub async fn artifact_put(
        &self,
        id: &str,
        content: &str,
        ttl: Duration,
    ) -> Result<(), StateError> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.conn.clone();
        ::redis::cmd("SET")
            .arg(self.key("artifact", id))
            .arg(content)
            .arg("PX")
            .arg(ttl_ms)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    pub async fn artifact_get(&self, id: &str) -> Result<Option<String>, StateError> {
        let mut conn = self.conn.clone();
        ::redis::cmd("GET")
            .arg(self.key("artifact", id))
            .query_async::<Option<String>>(&mut conn)
            .await
            .map_err(unavailable)
    }

    pub async fn task_load(&self, id: &str) -> Result<Option<String>, StateError> {
        let mut conn = self.conn.clone();
        ::redis::cmd("HGET")
            .arg(self.key("task", id))
            .arg("record")
            .query_async::<Option<String>>(&mut conn)
            .await
            .map_err(unavailable)
    }
}
