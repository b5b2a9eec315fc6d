//! The accept loop: owns every TCP connection from `accept` to close, so slow or greedy
//! clients cannot hold the server's sockets.
//!
//! A connection must deliver a request's headers within `header_read_timeout` (its first
//! request within as long after connecting, whatever the protocol), or it is closed.
//! Open connections are capped in total and per client IP. At the total cap the oldest
//! connection with no request in progress (a slow or idle one) is closed to make room,
//! so a crowd of half-open connections cannot lock legitimate clients out; only when
//! every connection is busy, or one address holds too many, is a newcomer refused with a
//! fast 503. On shutdown the loop stops accepting and drains connections gracefully.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::metrics;

/// How many connections may be open, and how long a client may take to send headers.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionPolicy {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
}

/// Serves `app` on `listener` until `stop` resolves, then drains open connections.
/// Returns once every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    policy: ConnectionPolicy,
    stop: impl std::future::Future<Output = ()>,
) {
    let tracker = Arc::new(Tracker::new(policy));
    let graceful = GracefulShutdown::new();
    // HTTP/1.1 only: MCP clients and the proxies in front of a deployment speak it, and
    // leaving HTTP/2 out keeps ~0.8 MB of h2 out of the binary.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(policy.header_read_timeout);
    let builder = Arc::new(builder);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let admission = match tracker.admit(peer.ip()) {
            Ok(admission) => admission,
            Err(refusal) => {
                metrics::http_rejected(refusal.reason());
                tokio::spawn(refuse(stream, refusal));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = serve_connection(
            builder.clone(),
            &graceful,
            stream,
            app.clone(),
            admission,
            policy.header_read_timeout,
        );
        tokio::spawn(connection);
    }
    drop(listener);
    graceful.shutdown().await;
}

fn serve_connection(
    builder: Arc<http1::Builder>,
    graceful: &GracefulShutdown,
    stream: TcpStream,
    app: axum::Router,
    admission: Admission,
    first_request_timeout: Duration,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let activity = admission.activity.clone();
    let tower = TowerToHyperService::new(app);
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let busy = BusyGuard::new(activity.clone());
        let response = tower.call(req);
        async move {
            let response = response.await?;
            Ok::<_, Infallible>(response.map(|body| Body::new(BusyBody { body, _busy: busy })))
        }
    });
    let activity = admission.activity.clone();
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let connection = graceful.watch(connection);
    async move {
        // Held for the connection's life: frees its slot when the connection ends.
        let _admission = admission;
        tokio::pin!(connection);
        let silent_too_long = async {
            tokio::time::sleep(first_request_timeout).await;
            if activity.first_request.is_cancelled() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = &mut connection => {
                if let Err(e) = served {
                    if e.is_timeout() {
                        metrics::http_rejected("header_timeout");
                    }
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            _ = activity.evicted.cancelled() => metrics::http_rejected("idle_connection_evicted"),
            _ = silent_too_long => metrics::http_rejected("header_timeout"),
        }
    }
}

/// Why a new connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This client address already holds its share of connections.
    PerPeer,
    /// Every connection is busy with a request.
    Full,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::PerPeer => "too_many_connections_per_peer",
            Refusal::Full => "too_many_connections",
        }
    }
}

/// A short 503 written without reading the request, then the socket is closed.
async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let message = match refusal {
        Refusal::PerPeer => {
            "too many open connections from your address; close idle ones or retry shortly"
        }
        Refusal::Full => "the server is at its connection limit; retry shortly",
    };
    let body = serde_json::json!({"error": "too_many_connections", "error_description": message})
        .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    };
    // A client that does not read cannot keep the socket.
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// What the accept loop knows about one open connection.
#[derive(Default)]
pub struct Activity {
    /// Requests in progress, response bodies included.
    busy: AtomicUsize,
    /// Cancelled when the connection's first request arrives.
    first_request: CancellationToken,
    /// Cancelled to close the connection to make room for a new one.
    evicted: CancellationToken,
}

struct OpenConnection {
    peer: IpAddr,
    activity: Arc<Activity>,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    /// By id, so iteration goes oldest first.
    connections: BTreeMap<u64, OpenConnection>,
    per_peer: HashMap<IpAddr, usize>,
}

impl Open {
    fn forget(&mut self, id: u64) -> Option<OpenConnection> {
        let connection = self.connections.remove(&id)?;
        if let Some(count) = self.per_peer.get_mut(&connection.peer) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_peer.remove(&connection.peer);
            }
        }
        Some(connection)
    }
}

/// Counts open connections and decides who gets in.
pub struct Tracker {
    policy: ConnectionPolicy,
    open: Mutex<Open>,
}

impl Tracker {
    pub fn new(policy: ConnectionPolicy) -> Self {
        Self {
            policy,
            open: Mutex::new(Open::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // The counts stay consistent under every early return; a panic elsewhere must not
        // stop the server from accepting.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits a connection from `peer`, closing the oldest idle one if the server is full.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admission, Refusal> {
        let peer = peer.to_canonical();
        let mut open = self.lock();
        if open.per_peer.get(&peer).copied().unwrap_or(0) >= self.policy.max_connections_per_peer {
            return Err(Refusal::PerPeer);
        }
        if open.connections.len() >= self.policy.max_connections {
            // Oldest first, and a connection that never completed a request (the slowloris
            // kind) before a client's idle keep-alive connection.
            let idle = |c: &OpenConnection| c.activity.busy.load(Ordering::SeqCst) == 0;
            let never_served = open
                .connections
                .iter()
                .find(|(_, c)| idle(c) && !c.activity.first_request.is_cancelled());
            let victim = never_served
                .or_else(|| open.connections.iter().find(|(_, c)| idle(c)))
                .map(|(id, _)| *id);
            let Some(evicted) = victim.and_then(|id| open.forget(id)) else {
                return Err(Refusal::Full);
            };
            evicted.activity.evicted.cancel();
        }
        let id = open.next_id;
        open.next_id += 1;
        let activity = Arc::new(Activity::default());
        open.connections.insert(
            id,
            OpenConnection {
                peer,
                activity: activity.clone(),
            },
        );
        *open.per_peer.entry(peer).or_insert(0) += 1;
        Ok(Admission {
            tracker: self.clone(),
            id,
            activity,
        })
    }

    /// Open connections now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.lock().connections.len()
    }
}

/// A connection's place in the [`Tracker`], given back when dropped.
pub struct Admission {
    tracker: Arc<Tracker>,
    id: u64,
    activity: Arc<Activity>,
}

#[cfg(test)]
impl Admission {
    /// Marks a request in progress until the guard (moved into its response body) drops.
    pub fn busy(&self) -> BusyGuard {
        BusyGuard::new(self.activity.clone())
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.tracker.lock().forget(self.id);
    }
}

pub struct BusyGuard(Arc<Activity>);

impl BusyGuard {
    fn new(activity: Arc<Activity>) -> Self {
        activity.first_request.cancel();
        activity.busy.fetch_add(1, Ordering::SeqCst);
        Self(activity)
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its connection marked busy until it is sent (or dropped),
/// so a long SSE stream is never taken for an idle connection.
struct BusyBody {
    body: Body,
    _busy: BusyGuard,
}

impl HttpBody for BusyBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(total: usize, per_peer: usize) -> Arc<Tracker> {
        Arc::new(Tracker::new(ConnectionPolicy {
            header_read_timeout: Duration::from_secs(1),
            max_connections: total,
            max_connections_per_peer: per_peer,
        }))
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn per_peer_cap_refuses_only_that_peer_and_frees_on_close() {
        let t = tracker(10, 2);
        let a = t.admit(ip(2)).unwrap();
        let _b = t.admit(ip(2)).unwrap();
        assert_eq!(t.admit(ip(2)).err(), Some(Refusal::PerPeer));
        let _other = t.admit(ip(1)).unwrap();
        drop(a);
        assert!(t.admit(ip(2)).is_ok());
    }

    #[test]
    fn connections_that_never_sent_a_request_go_before_idle_keep_alive_ones() {
        let t = tracker(2, 10);
        let keep_alive = t.admit(ip(1)).unwrap();
        drop(keep_alive.busy()); // served a request, idle now
        let silent = t.admit(ip(2)).unwrap();
        let _newcomer = t.admit(ip(3)).unwrap();
        assert!(silent.activity.evicted.is_cancelled());
        assert!(!keep_alive.activity.evicted.is_cancelled());
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let t = tracker(2, 10);
        let oldest = t.admit(ip(2)).unwrap();
        let busy_guard = oldest.busy();
        let idle = t.admit(ip(3)).unwrap();
        let newcomer = t.admit(ip(1)).unwrap();
        assert!(idle.activity.evicted.is_cancelled(), "the idle one goes");
        assert!(
            !oldest.activity.evicted.is_cancelled(),
            "the busy one stays"
        );
        assert_eq!(t.open(), 2);
        // Everyone busy: refuse.
        let _g = newcomer.busy();
        assert_eq!(t.admit(ip(4)).err(), Some(Refusal::Full));
        drop(busy_guard);
        let _fourth = t.admit(ip(4)).unwrap();
        assert!(
            oldest.activity.evicted.is_cancelled(),
            "idle again, so it goes"
        );
        drop(idle);
        drop(oldest);
        assert_eq!(
            t.open(),
            2,
            "dropping an evicted connection counts nothing twice"
        );
    }
}
