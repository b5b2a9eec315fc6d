//! Usage and budgets on top of the store: the token counts read from a result, the UTC day
//! they are counted in, the check before a call and the report `mistral-mcp usage` prints.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use super::{StateError, StateStore, fields};

/// A principal's daily limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub max_tokens_per_day: Option<u64>,
    pub max_requests_per_day: Option<u64>,
}

/// Which budget a call would overrun, with the day's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Spent {
    Requests { used: u64, limit: u64 },
    Tokens { used: u64, limit: u64 },
}

/// One call's token counts, as Mistral reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
}

/// A principal's stored counters for one day, by field name (see [`fields`]).
pub(super) type Fields = BTreeMap<String, u64>;

/// Why a call was not let through to its operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A daily budget is spent; the message says which, the figures and the reset.
    OverBudget(String),
    /// The budget could not be checked: the store is unreachable (fail closed).
    Unavailable(String),
}

/// Seconds since the epoch, now.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Today's UTC date, `YYYY-MM-DD`.
pub fn today() -> String {
    day_string(now_secs() / 86_400)
}

/// The UTC date of a day number (days since 1970-01-01), `YYYY-MM-DD`.
pub fn day_string(day: u64) -> String {
    // Howard Hinnant's civil_from_days, for days on or after the epoch.
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// When the day's counters reset: next 00:00 UTC, as a date and as a wait from `now`.
fn reset_text(now: u64) -> String {
    let next = (now / 86_400 + 1) * 86_400;
    let left = next.saturating_sub(now);
    let (h, m) = (left / 3600, (left % 3600).div_ceil(60));
    let (h, m) = if m == 60 { (h + 1, 0) } else { (h, m) };
    format!("{} 00:00 UTC (in {h} h {m} min)", day_string(next / 86_400))
}

impl Spent {
    fn message(&self, principal: &str, now: u64) -> String {
        let (what, used, limit, key) = match self {
            Spent::Requests { used, limit } => ("requests", used, limit, "max_requests_per_day"),
            Spent::Tokens { used, limit } => ("tokens", used, limit, "max_tokens_per_day"),
        };
        format!(
            "The credential `{principal}` has used its daily budget of {limit} {what} \
             ({used} used today, {key} = {limit}). The budget resets at {}. \
             Wait until then, or ask the server operator to raise {key}.",
            reset_text(now)
        )
    }
}

/// The check before an operation runs: counts the request and refuses it when a daily
/// budget of `principal` is spent. Every call is counted, budget or not, so `usage` shows
/// requests; only a call with a budget fails when the store is unreachable.
pub async fn admit(
    store: &StateStore,
    principal: &str,
    budget: Option<&Budget>,
) -> Result<(), Refusal> {
    let budget = budget.copied().unwrap_or_default();
    let now = now_secs();
    let day = day_string(now / 86_400);
    match store.admit_request(principal, &day, &budget).await {
        Ok(None) => Ok(()),
        Ok(Some(spent)) => Err(Refusal::OverBudget(spent.message(principal, now))),
        Err(e) if budget == Budget::default() => {
            tracing::warn!(principal, error = %e, "could not count a request in the state store");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(principal, error = %e, "daily budget not checked: refusing the call");
            Err(Refusal::Unavailable(format!(
                "The daily budget of the credential `{principal}` could not be checked: {e}. \
                 The call was not run. Retry in a few seconds; the server reconnects on its own."
            )))
        }
    }
}

/// Token counts of a result: `usage` (chat, FIM, agents, conversations, embeddings,
/// audio) with `prompt_tokens`, `completion_tokens`, `total_tokens`, any of them missing;
/// the model from `model`. `None` when the result reports no tokens (OCR reports pages in
/// `usage_info`, listings nothing).
pub(super) fn counts_of(structured: &Value) -> Option<(String, Counts)> {
    let usage = structured.get("usage")?.as_object()?;
    let n = |k: &str| usage.get(k).and_then(Value::as_u64);
    let (prompt, completion) = (n("prompt_tokens"), n("completion_tokens"));
    let total = n("total_tokens").or_else(|| Some(prompt? + completion.unwrap_or(0)));
    if prompt.is_none() && completion.is_none() && total.is_none() {
        return None;
    }
    let model = structured
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("unknown");
    Some((
        model.to_string(),
        Counts {
            prompt: prompt.unwrap_or(0),
            completion: completion.unwrap_or(0),
            total: total.unwrap_or(0),
        },
    ))
}

/// Records the tokens a successful result reports for `principal` (metrics and store). A
/// store failure is logged and counted, never the call's failure.
pub async fn record(store: &StateStore, principal: &str, structured: &Value) {
    let Some((model, counts)) = counts_of(structured) else {
        return;
    };
    for (kind, n) in [
        ("prompt", counts.prompt),
        ("completion", counts.completion),
        ("total", counts.total),
    ] {
        crate::metrics::usage_tokens(principal, &model, kind, n);
    }
    if let Err(e) = store.add_usage(principal, &today(), &model, &counts).await {
        tracing::warn!(principal, model = %model, tokens = counts.total, error = %e, "token usage not recorded in the state store");
    }
}

/// One line of the usage report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UsageRow {
    pub day: String,
    pub principal: String,
    /// `*` for the principal's whole day (requests that reached an operation).
    pub model: String,
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// The stored usage of the last `days` UTC days (today first), one row per principal for
/// the whole day (`model` `*`) then one per model it used.
pub async fn usage_of(store: &StateStore, days: u64) -> Result<Vec<UsageRow>, StateError> {
    let today = now_secs() / 86_400;
    let mut rows = Vec::new();
    for back in 0..days.max(1) {
        let day = day_string(today.saturating_sub(back));
        let mut principals = store.day_counters(&day).await?;
        principals.sort_by(|a, b| a.0.cmp(&b.0));
        for (principal, f) in principals {
            let get = |k: &str| f.get(k).copied().unwrap_or(0);
            let mut models: BTreeMap<&str, UsageRow> = BTreeMap::new();
            for (field, &n) in &f {
                let Some((model, kind)) = fields::parse(field) else {
                    continue;
                };
                let row = models.entry(model).or_insert_with(|| UsageRow {
                    day: day.clone(),
                    principal: principal.clone(),
                    model: model.to_string(),
                    requests: 0,
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    total_tokens: 0,
                });
                match kind {
                    "prompt" => row.prompt_tokens = n,
                    "completion" => row.completion_tokens = n,
                    "total" => row.total_tokens = n,
                    "requests" => row.requests = n,
                    _ => {}
                }
            }
            let sum = |pick: fn(&UsageRow) -> u64| models.values().map(pick).sum::<u64>();
            rows.push(UsageRow {
                day: day.clone(),
                principal: principal.clone(),
                model: "*".to_string(),
                requests: get(fields::REQUESTS),
                prompt_tokens: sum(|r| r.prompt_tokens),
                completion_tokens: sum(|r| r.completion_tokens),
                total_tokens: get(fields::TOKENS),
            });
            rows.extend(models.into_values());
        }
    }
    Ok(rows)
}

/// How long a day's counters are kept: the day itself and the next, so "yesterday" can
/// still be read.
pub(super) const DAY_TTL: Duration = Duration::from_secs(2 * 86_400 + 3600);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn days_and_resets() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(19_723), "2024-01-01");
        assert_eq!(day_string(19_782), "2024-02-29");
        // 2026-11-04 22:30:00 UTC
        let now = 20_761 * 86_400 + 22 * 3600 + 30 * 60;
        assert_eq!(day_string(20_761), "2026-11-04");
        assert_eq!(reset_text(now), "2026-11-05 00:00 UTC (in 1 h 30 min)");
        assert_eq!(reset_text(now + 59), "2026-11-05 00:00 UTC (in 1 h 30 min)");
        assert_eq!(reset_text(now + 60), "2026-11-05 00:00 UTC (in 1 h 29 min)");
    }

    #[test]
    fn counts_are_read_leniently() {
        let chat = json!({"model": "mistral-small-latest", "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}});
        assert_eq!(
            counts_of(&chat),
            Some((
                "mistral-small-latest".into(),
                Counts {
                    prompt: 12,
                    completion: 7,
                    total: 19
                }
            ))
        );
        // Embeddings report no completion; a conversation may have no model.
        let emb = json!({"usage": {"prompt_tokens": 9}});
        assert_eq!(
            counts_of(&emb),
            Some((
                "unknown".into(),
                Counts {
                    prompt: 9,
                    completion: 0,
                    total: 9
                }
            ))
        );
        let ocr = json!({"model": "mistral-ocr-2512", "usage_info": {"pages_processed": 2}});
        assert_eq!(counts_of(&ocr), None);
        assert_eq!(counts_of(&json!({"usage": {}})), None);
        assert_eq!(counts_of(&json!({"usage": null})), None);
    }

    #[test]
    fn refusals_name_the_budget_figures_and_reset() {
        let now = 20_761 * 86_400 + 23 * 3600;
        let text = Spent::Tokens {
            used: 1200,
            limit: 1000,
        }
        .message("ci", now);
        assert!(text.contains("`ci`"), "{text}");
        assert!(text.contains("1000 tokens"), "{text}");
        assert!(text.contains("1200 used today"), "{text}");
        assert!(text.contains("max_tokens_per_day"), "{text}");
        assert!(
            text.contains("2026-11-05 00:00 UTC (in 1 h 0 min)"),
            "{text}"
        );
    }
}
