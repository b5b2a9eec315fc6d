//! The same checks on both backends. The Redis ones need `MISTRAL_MCP_TEST_REDIS_URL`
//! (scripts/test starts a throwaway redis-server and sets it); without it they say so and
//! pass, loudly.

use std::time::Duration;

use secrecy::SecretString;

use super::*;
use crate::config::{StateBackend, StateConfig};

/// Each test gets its own key prefix, so tests sharing one Redis never meet.
fn redis_store(test: &str) -> Option<StateStore> {
    let Ok(url) = std::env::var("MISTRAL_MCP_TEST_REDIS_URL") else {
        eprintln!(
            "*** SKIPPED {test} on Redis: MISTRAL_MCP_TEST_REDIS_URL is not set (scripts/test sets it) ***"
        );
        return None;
    };
    let nonce: u64 = rand::random();
    let cfg = StateConfig {
        backend: StateBackend::Redis,
        url: Some(SecretString::from(url)),
        key_prefix: format!("test-{test}-{nonce:x}"),
    };
    Some(StateStore::open(&cfg).unwrap())
}

fn stores(test: &str) -> Vec<StateStore> {
    let mut v = vec![StateStore::memory()];
    v.extend(redis_store(test));
    v
}

#[tokio::test]
async fn a_terminal_task_record_is_never_overwritten() {
    for s in stores("tasks") {
        let ttl = Duration::from_secs(60);
        assert_eq!(s.task_load("t1").await.unwrap(), None, "{}", s.kind());
        assert!(
            s.task_save("t1", r#"{"status":"working"}"#, false, ttl)
                .await
                .unwrap()
        );
        assert!(
            s.task_save("t1", r#"{"status":"working","n":2}"#, false, ttl)
                .await
                .unwrap()
        );
        assert_eq!(
            s.task_load("t1").await.unwrap().as_deref(),
            Some(r#"{"status":"working","n":2}"#)
        );
        assert!(
            s.task_save("t1", r#"{"status":"completed"}"#, true, ttl)
                .await
                .unwrap()
        );
        // Neither a late progress update nor a second terminal state replaces it.
        assert!(
            !s.task_save("t1", r#"{"status":"working"}"#, false, ttl)
                .await
                .unwrap()
        );
        assert!(
            !s.task_save("t1", r#"{"status":"failed"}"#, true, ttl)
                .await
                .unwrap()
        );
        assert_eq!(
            s.task_load("t1").await.unwrap().as_deref(),
            Some(r#"{"status":"completed"}"#),
            "{}",
            s.kind()
        );
        assert_eq!(s.task_load("other").await.unwrap(), None);
    }
}

#[tokio::test]
async fn task_records_expire() {
    for s in stores("task-ttl") {
        assert!(
            s.task_save("t", "{}", true, Duration::from_millis(50))
                .await
                .unwrap()
        );
        assert!(s.task_load("t").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(s.task_load("t").await.unwrap(), None, "{}", s.kind());
        assert!(
            s.task_save("t", "{}", false, Duration::from_secs(5))
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn artifacts_are_kept_until_they_expire() {
    for s in stores("artifacts") {
        s.artifact_put("a", "{\"data\":\"AAAA\"}", Duration::from_millis(80))
            .await
            .unwrap();
        assert_eq!(
            s.artifact_get("a").await.unwrap().as_deref(),
            Some("{\"data\":\"AAAA\"}"),
            "{}",
            s.kind()
        );
        assert_eq!(s.artifact_get("b").await.unwrap(), None);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(s.artifact_get("a").await.unwrap(), None, "{}", s.kind());
    }
}

#[tokio::test]
async fn concurrent_task_saves_keep_the_terminal_one() {
    for s in stores("task-race") {
        let ttl = Duration::from_secs(60);
        let mut handles = Vec::new();
        for i in 0..40 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                let terminal = i == 20;
                let record = format!("{{\"i\":{i}}}");
                s.task_save("race", &record, terminal, ttl).await.unwrap()
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        // Whatever the order, once the terminal write landed nothing replaced it.
        assert_eq!(
            s.task_load("race").await.unwrap().as_deref(),
            Some("{\"i\":20}"),
            "{}",
            s.kind()
        );
    }
}

#[tokio::test]
async fn rate_limit_is_a_burst_then_a_wait() {
    for s in stores("rate") {
        for _ in 0..3 {
            assert_eq!(s.rate_check("a", 3).await.unwrap(), Ok(()), "{}", s.kind());
        }
        let wait = s.rate_check("a", 3).await.unwrap().unwrap_err();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{}: {wait:?}",
            s.kind()
        );
        assert_eq!(s.rate_check("b", 3).await.unwrap(), Ok(()));
    }
}

#[tokio::test]
async fn one_rate_limit_across_two_handles_on_one_redis() {
    let Some(a) = redis_store("rate-shared") else {
        return;
    };
    // A second connection to the same keys, as a second replica would have.
    let b = StateStore {
        backend: a.backend.clone(),
    };
    let mut passed = 0;
    for i in 0..10 {
        let s = if i % 2 == 0 { &a } else { &b };
        if s.rate_check("shared", 3).await.unwrap().is_ok() {
            passed += 1;
        }
    }
    assert_eq!(passed, 3);
}

#[tokio::test]
async fn budgets_count_requests_and_tokens() {
    for s in stores("budget") {
        let budget = Budget {
            max_requests_per_day: Some(3),
            max_tokens_per_day: None,
        };
        for _ in 0..3 {
            admit(&s, "ci", Some(&budget)).await.unwrap();
        }
        let Err(Refusal::OverBudget(why)) = admit(&s, "ci", Some(&budget)).await else {
            panic!("the fourth request passed on {}", s.kind());
        };
        assert!(
            why.contains("3 requests") && why.contains("max_requests_per_day"),
            "{why}"
        );
        // Other principals are unaffected, and unlimited ones are still counted.
        admit(&s, "other", None).await.unwrap();

        let tokens = Budget {
            max_requests_per_day: None,
            max_tokens_per_day: Some(30),
        };
        let reply = serde_json::json!({"model": "mistral-small-latest", "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}});
        admit(&s, "tok", Some(&tokens)).await.unwrap();
        record(&s, "tok", &reply).await;
        // 19 < 30: one more call may run (and overshoot); then the budget is spent.
        admit(&s, "tok", Some(&tokens)).await.unwrap();
        record(&s, "tok", &reply).await;
        let Err(Refusal::OverBudget(why)) = admit(&s, "tok", Some(&tokens)).await else {
            panic!("the token budget did not hold on {}", s.kind());
        };
        assert!(why.contains("38 used today"), "{why}");

        let rows = usage_of(&s, 1).await.unwrap();
        let row = |p: &str, m: &str| {
            rows.iter()
                .find(|r| r.principal == p && r.model == m)
                .cloned()
                .unwrap_or_else(|| panic!("no row {p}/{m} in {rows:?}"))
        };
        assert_eq!(row("ci", "*").requests, 3);
        assert_eq!(row("other", "*").requests, 1);
        let all = row("tok", "*");
        assert_eq!((all.requests, all.total_tokens), (2, 38));
        let model = row("tok", "mistral-small-latest");
        assert_eq!(
            (
                model.requests,
                model.prompt_tokens,
                model.completion_tokens,
                model.total_tokens
            ),
            (2, 24, 14, 38)
        );
    }
}

#[tokio::test]
async fn an_unreachable_redis_fails_checks_closed_and_quickly() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = StateConfig {
        backend: StateBackend::Redis,
        url: Some(SecretString::from(format!(
            "redis://:hunter2-secret@127.0.0.1:{port}/0"
        ))),
        key_prefix: "down".into(),
    };
    let s = StateStore::open(&cfg).unwrap();
    assert_eq!(s.describe(), format!("redis://127.0.0.1:{port}/0"));
    let started = std::time::Instant::now();
    let err = s.rate_check("a", 3).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, StateError::Unavailable(_)), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let budget = Budget {
        max_requests_per_day: Some(10),
        max_tokens_per_day: None,
    };
    assert!(matches!(
        admit(&s, "a", Some(&budget)).await,
        Err(Refusal::Unavailable(_))
    ));
    // Without a budget the call goes on; recording only logs.
    admit(&s, "a", None).await.unwrap();
    record(&s, "a", &serde_json::json!({"usage": {"total_tokens": 5}})).await;
    assert!(s.task_load("t").await.is_err());
}

#[test]
fn a_bad_url_is_a_config_error_that_hides_the_password() {
    let cfg = StateConfig {
        backend: StateBackend::Redis,
        url: Some(SecretString::from("http://:pw-secret@host/0".to_string())),
        key_prefix: "x".into(),
    };
    let err = format!("{:#}", StateStore::open(&cfg).err().unwrap());
    assert!(err.contains("redis://"), "{err}");
    assert!(!err.contains("pw-secret"), "{err}");
}
